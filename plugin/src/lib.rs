//! The Twilio Lua plugin: a Lua 5.4 sandbox per run with the agent API
//! `app.integrations.twilio.*`, compiled for `wasm32-wasip2` into a WASI component.
//!
//! Everything but [`component`] is target-independent, so the logic is unit-tested natively; the
//! component glue binds it to the WIT world `twilio:lua/plugin` (`wit/twilio.wit`).

pub mod account;
pub mod json;
pub mod output;
pub mod reference;
pub mod runner;
pub mod sandbox;
pub mod transport;
pub mod twilio;

#[cfg(target_arch = "wasm32")]
mod component;
