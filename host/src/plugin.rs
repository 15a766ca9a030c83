//! The plugin component, built by `build.rs` and embedded in the host binary, so the host
//! never needs a path to it.

/// The bytes of the `twilio-plugin` WASI component (release build for `wasm32-wasip2`).
pub const PLUGIN_COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/twilio_plugin.wasm"));
