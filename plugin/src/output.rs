//! Where a script's `print` output goes. In the component every line goes straight to the host
//! (`twilio:lua/output`), so it survives a run the host stops; unit tests collect it in a
//! [`Buffer`].

use std::cell::RefCell;

/// A destination for printed text.
pub trait Output {
    /// Appends `text` (one `print` call's line, newline included).
    fn write(&self, text: &str);
}

/// Printed text kept in memory.
#[derive(Default)]
pub struct Buffer(RefCell<String>);

impl Buffer {
    /// Everything written so far, leaving the buffer empty.
    pub fn take(&self) -> String {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Output for Buffer {
    fn write(&self, text: &str) {
        self.0.borrow_mut().push_str(text);
    }
}
