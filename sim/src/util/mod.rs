//! Small self-contained helpers: SIDs, dates, phone numbers and url-encoding.

pub(crate) mod form;
pub(crate) mod phone;
pub(crate) mod sid;
pub(crate) mod time;
