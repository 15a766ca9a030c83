//! Host-side bindings of the WIT world `twilio:lua/plugin` (`wit/twilio.wit`). The `wasi:*`
//! interfaces map to wasmtime-wasi's and wasmtime-wasi-http's own implementations.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "twilio:lua/plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});
