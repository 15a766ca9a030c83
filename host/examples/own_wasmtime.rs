//! Running the plugin in a wasmtime setup of your own: your `Engine`, your `Linker`, your store
//! data, with every request going through twilio-host's egress policy.
//!
//! `cargo run -p twilio-host --example own_wasmtime` runs it against the built-in simulator.
//! The steps are numbered; a platform keeps steps 1-3 for its lifetime and does 4-6 per run.

use std::sync::Arc;

use twilio_host::bindings::Plugin;
use twilio_host::egress::{Egress, EgressClient, TenantPolicy};
use twilio_host::{PLUGIN_COMPONENT, PluginCtx, PluginView, add_to_linker_async, simulated};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Your store data: whatever your platform keeps per instance, plus the four parts the
/// plugin's imports need.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    plugin: PluginCtx,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            // The one line that matters: requests go through our egress policy, which adds the
            // account's credential on the host side.
            hooks: &mut self.plugin.egress,
        }
    }
}

impl PluginView for State {
    fn plugin(&mut self) -> &mut PluginCtx {
        &mut self.plugin
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // (The tenant: here one account on the built-in simulator; yours comes from your config.)
    let (config, simulator) = simulated::start(None).await?;
    let tenant = config
        .tenant("default")
        .expect("the simulated tenant")
        .clone();

    // 1. The engine: the component model, async calls, and wasm exceptions (Lua's errors).
    let mut engine_config = Config::new();
    engine_config.wasm_component_model(true);
    engine_config.wasm_exceptions(true);
    let engine = Engine::new(&engine_config)?;

    // 2. The linker: WASI, wasi:http and the plugin's own imports, in one call.
    let mut linker = Linker::<State>::new(&engine);
    add_to_linker_async(&mut linker)?;
    let component = Component::new(&engine, PLUGIN_COMPONENT)?;

    // 3. Per tenant, once: its egress policy; per host, once: the pooled HTTP client.
    let policy = Arc::new(TenantPolicy::new(&tenant));
    let client = EgressClient::new(tenant.limits.http_timeout);

    // 4. Per run: a store with an empty WASI context and the run's egress. (A platform also
    //    arms its own memory limiter, epoch deadline and wall-clock timeout here, as
    //    `twilio_host::Host::run` does.)
    let egress = Egress::new(Arc::clone(&policy), tenant.limits, client.clone());
    let state = State {
        wasi: WasiCtx::builder().build(),
        http: WasiHttpCtx::new(),
        table: ResourceTable::new(),
        plugin: PluginCtx::new(&tenant, egress),
    };
    let mut store = Store::new(&engine, state);

    // 5. Instantiate and run one script with the tenant's Lua limits and retry policy.
    let plugin = Plugin::instantiate_async(&mut store, &component, &linker).await?;
    let options = tenant.limits.run_options();
    let script = r#"
        local sent = app.integrations.twilio.twilio_send_sms({
            to = "+15551234567", from = "+15559876543", body = "Sent from my own wasmtime host",
        })
        print("sent " .. sent.sid)
        local ok, err = pcall(app.integrations.twilio.twilio_get_account,
            {sid = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})
        print("another account: " .. err.kind .. ": " .. err.message)
        return sent.status
    "#;
    let result = plugin
        .twilio_lua_runner()
        .call_run(&mut store, script, options)
        .await?;

    // 6. What it printed (kept host-side) and what it returned (JSON) or why it failed.
    print!("{}", store.data_mut().plugin.take_printed());
    match result {
        Ok(json) => println!("returned {json}"),
        Err(error) => println!("failed ({:?}): {}", error.kind, error.message),
    }
    println!("requests: {}", store.data().plugin.egress.requests_made());
    simulator.shutdown().await;
    Ok(())
}
