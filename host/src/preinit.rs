//! Pre-initialising the component with wasmtime-wizer: instantiate it once, let it build its
//! Lua sandbox (standard library, hardening, `print`, the Twilio namespace) through its
//! `runner.prepare` export, and snapshot the instance, so that every fresh instance starts with
//! that state mapped copy-on-write instead of building it. What differs per run (limits, the
//! random seed, the clock, the tenant's accounts) is set by each run.
//!
//! Wizer's own `run_component` needs its `wasmtime` feature, which turns on wasmtime features
//! the host does not use (the on-disk cache with zstd, threads, WAVE); the few steps it takes
//! are done here instead, with the typed bindings.

use wasmtime::component::{Component, Instance, Lift, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use crate::bindings::Plugin;

/// Instruments `bytes`, instantiates it in `store` through `linker`, calls `runner.prepare` and
/// returns the snapshot. `Host::new` may be called from inside an async runtime, so the
/// asynchronous work runs on a thread and a runtime of its own.
pub fn pre_initialise<T: Send + 'static>(
    engine: &Engine,
    linker: &Linker<T>,
    store: Store<T>,
    bytes: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime.block_on(snapshot(engine, linker, store, bytes))
            })
            .join()
            .unwrap_or_else(|_| Err(wasmtime::format_err!("pre-initialisation panicked")))
    })
}

async fn snapshot<T: Send + 'static>(
    engine: &Engine,
    linker: &Linker<T>,
    mut store: Store<T>,
    bytes: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    let mut wizer = Wizer::new();
    wizer.keep_init_func(true);
    let (context, instrumented) = wizer.instrument_component(bytes)?;
    let component = Component::new(engine, &instrumented)?;
    let instance = linker.instantiate_async(&mut store, &component).await?;
    Plugin::new(&mut store, &instance)?
        .twilio_lua_runner()
        .call_prepare(&mut store)
        .await?;
    let mut state = Snapshotted {
        store: &mut store,
        instance,
    };
    wizer.snapshot_component(&context, &mut state).await
}

/// The prepared instance, read by wizer through the accessor functions it instrumented into
/// the component (each takes nothing and returns one value).
struct Snapshotted<'a, T: 'static> {
    store: &'a mut Store<T>,
    instance: Instance,
}

impl<T: Send> Snapshotted<'_, T> {
    /// Calls `func` of the exported `interface`. The accessors are wizer's own instrumentation,
    /// so a missing or failing one is a bug in wizer: it panics, and [`pre_initialise`] turns
    /// the panic into an error (the host then runs without the snapshot).
    async fn call<R: Lift + Send + Sync + 'static>(&mut self, interface: &str, func: &str) -> R {
        let store = &mut *self.store;
        let (_, exported) = self
            .instance
            .get_export(&mut *store, None, interface)
            .expect("wizer exports its accessor interface");
        let (_, index) = self
            .instance
            .get_export(&mut *store, Some(&exported), func)
            .expect("wizer exports each accessor");
        let typed = self
            .instance
            .get_typed_func::<(), (R,)>(&mut *store, index)
            .expect("wizer's accessors take nothing and return one value");
        typed
            .call_async(&mut *store, ())
            .await
            .expect("wizer's accessors do not trap")
            .0
    }
}

impl<T: Send> ComponentInstanceState for Snapshotted<'_, T> {
    async fn call_func_ret_list_u8(
        &mut self,
        interface: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        let list: WasmList<u8> = self.call(interface, func).await;
        contents(list.as_le_slice(&*self.store));
    }

    async fn call_func_ret_s32(&mut self, interface: &str, func: &str) -> i32 {
        self.call(interface, func).await
    }

    async fn call_func_ret_s64(&mut self, interface: &str, func: &str) -> i64 {
        self.call(interface, func).await
    }

    async fn call_func_ret_f32(&mut self, interface: &str, func: &str) -> u32 {
        self.call::<f32>(interface, func).await.to_bits()
    }

    async fn call_func_ret_f64(&mut self, interface: &str, func: &str) -> u64 {
        self.call::<f64>(interface, func).await.to_bits()
    }
}
