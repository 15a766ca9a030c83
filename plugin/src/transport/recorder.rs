//! The one fake [`Transport`] of the native tests and fuzz targets: it records every request and
//! answers with a closure, and like the host it refuses requests past a per-run budget, so a
//! response that pages forever ends as it does in the host.

use std::cell::RefCell;
use std::rc::Rc;

use super::{HttpRequest, HttpResponse, Transport, TransportError};

/// Requests a [`Recorder`] answers before it answers like the host's spent budget.
pub const REQUEST_BUDGET: usize = 100;

/// How a [`Recorder`] answers a request.
pub type Respond = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, TransportError>>;

/// A transport that records every request and answers with `respond`, up to
/// [`REQUEST_BUDGET`] requests.
pub struct Recorder {
    requests: RefCell<Vec<HttpRequest>>,
    respond: Respond,
}

impl Recorder {
    /// A recorder answering with `respond`.
    pub fn new(
        respond: impl Fn(&HttpRequest) -> Result<HttpResponse, TransportError> + 'static,
    ) -> Rc<Recorder> {
        Rc::new(Recorder {
            requests: RefCell::new(Vec::new()),
            respond: Box::new(respond),
        })
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.borrow().clone()
    }

    /// The one request sent; panics (failing the test) when there were more or none.
    #[cfg(test)]
    pub fn only_request(&self) -> HttpRequest {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        requests[0].clone()
    }
}

impl Transport for Recorder {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.borrow_mut().push(request.clone());
        if self.requests.borrow().len() > REQUEST_BUDGET {
            return Err(TransportError::Limit("request budget used up".into()));
        }
        (self.respond)(request)
    }
}
