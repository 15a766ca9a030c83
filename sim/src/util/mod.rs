//! Small self-contained helpers: SIDs, dates, phone numbers, url-encoding and the interned texts
//! of a saved state.

pub(crate) mod form;
pub(crate) mod interned;
pub(crate) mod phone;
pub(crate) mod sid;
pub(crate) mod time;
