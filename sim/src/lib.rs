//! A Twilio REST API simulator: a real HTTP server on 127.0.0.1 that answers like Twilio.
//!
//! Two listeners: the core API (`/2010-04-01/...`, [`Simulator::api_url`]) and Lookup v2
//! (`/v2/PhoneNumbers/...`, [`Simulator::lookups_url`]). Every request needs HTTP Basic auth
//! with an account's SID and Auth Token or one of its API keys. Each account is seeded with
//! deterministic data (see [`SeededIds`], [`MAIN_NUMBER`]); tests can read and seed more through
//! [`Simulator::state`], see every request through [`Simulator::requests`], and inject
//! transport or HTTP faults with [`Simulator::inject`]. The unauthenticated admin endpoints under
//! `/__sim/` (fault injection and the request log over HTTP) are described in the crate README
//! (`sim/README.md`).

#![warn(missing_docs)]

mod admin;
mod auth;
mod config;
mod errors;
mod faults;
mod filters;
mod pagination;
mod persist;
mod reply;
mod request;
mod resources;
mod routes;
mod seed;
mod server;
mod state;
mod util;

pub use config::{ApiKey, SimAccount, SimConfig};
pub use faults::{Fault, FaultKind};
pub use request::RecordedRequest;
pub use seed::{EXAMPLE_TO, MAGIC_SENDER, MAIN_NUMBER};
pub use server::Simulator;
pub use state::{SeededIds, SimState};
pub use util::sid::is_sid;
