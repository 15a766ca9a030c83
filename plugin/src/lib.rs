//! The Twilio Lua plugin: a Lua 5.4 sandbox per run with the agent API
//! `app.integrations.twilio.*`, compiled for `wasm32-wasip2` into a WASI component.
//!
//! Everything but the component glue (`component`, wasm only) is target-independent, so the
//! logic is unit-tested natively. The component binds it to the WIT world `twilio:lua/plugin`
//! (`wit/twilio.wit`). The native API below is what benchmarks and fuzz targets use: run a
//! script ([`run_collecting_output`]) with the namespace built ([`prepare`], or on first
//! [`bind`]) and bound to accounts and a [`Transport`] of their own.

mod account;
mod json;
mod output;
mod reference;
mod runner;
mod sandbox;
mod transport;
mod twilio;

#[cfg(target_arch = "wasm32")]
mod component;

pub use account::Account;
pub use runner::{Failure, FailureKind, RunOutput, run_collecting_output};
pub use sandbox::Limits;
pub use transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
#[cfg(feature = "fuzzing")]
pub use twilio::fuzzing;
pub use twilio::retry::RetryPolicy;
pub use twilio::{bind, prepare, spec};
