//! What the plugin's own imports need from a store, for any host that runs the component:
//! [`PluginCtx`] (the tenant's accounts, the run's egress, what the script printed), the
//! [`PluginView`] a store's data implements to hand it out, and [`add_to_linker_async`], which
//! links everything the component imports.
//!
//! A platform with its own wasmtime setup keeps a `PluginCtx` in its store data next to its
//! `WasiCtx`, `WasiHttpCtx` and `ResourceTable`, returns the context's [`Egress`] as the
//! `hooks` of its `WasiHttpView` (so every request goes through our egress policy), and calls
//! [`add_to_linker_async`] once. `host/examples/own_wasmtime.rs` does exactly that.

use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::WasiView;
use wasmtime_wasi_http::WasiHttpView;

use crate::bindings::twilio::lua::accounts::{self, Account};
use crate::bindings::twilio::lua::{egress, output};
use crate::config::TenantConfig;
use crate::egress::Egress;

/// The most printed output a run keeps; the plugin caps it too, this guards the host.
const MAX_PRINTED_BYTES: usize = (1 << 20) + 4096;

/// The plugin's side of one run's store data.
pub struct PluginCtx {
    /// The run's egress: the `hooks` of the store's `WasiHttpView`.
    pub egress: Egress,
    accounts: Vec<Account>,
    printed: String,
}

impl PluginCtx {
    /// The context of one run of `tenant` whose requests go through `egress`: the guest learns
    /// the tenant's account names, SIDs and base URLs (never a secret).
    pub fn new(tenant: &TenantConfig, egress: Egress) -> PluginCtx {
        let accounts = tenant
            .accounts
            .iter()
            .map(|a| Account {
                name: a.name.clone(),
                account_sid: a.account_sid.to_string(),
                api_base_url: a.api_base_url.to_string(),
                lookups_base_url: a.lookups_base_url.to_string(),
            })
            .collect();
        PluginCtx {
            egress,
            accounts,
            printed: String::new(),
        }
    }

    /// Everything the script printed so far, leaving the record empty. It is kept host-side,
    /// so it survives any ending of the run (a trap, a limit, a timeout).
    pub fn take_printed(&mut self) -> String {
        std::mem::take(&mut self.printed)
    }
}

/// Store data that can hand out the plugin's context, as well as the WASI and WASI HTTP views
/// the component's other imports need.
pub trait PluginView: WasiView + WasiHttpView + Send {
    /// The run's plugin context.
    fn plugin(&mut self) -> &mut PluginCtx;
}

/// Adds every import of the plugin component to `linker`: WASI 0.2 (the component's standard
/// library imports all of it; give it an empty `WasiCtx`), `wasi:http/outgoing-handler`
/// (through the store's `WasiHttpView`, whose hooks should be the context's [`Egress`]), and
/// `twilio:lua/accounts`, `egress` and `output` from the [`PluginCtx`].
pub fn add_to_linker_async<T: PluginView + 'static>(
    linker: &mut Linker<T>,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    accounts::add_to_linker::<T, HasSelf<PluginCtx>>(linker, T::plugin)?;
    egress::add_to_linker::<T, HasSelf<PluginCtx>>(linker, T::plugin)?;
    output::add_to_linker::<T, HasSelf<PluginCtx>>(linker, T::plugin)?;
    Ok(())
}

impl accounts::Host for PluginCtx {
    fn list_accounts(&mut self) -> Vec<Account> {
        self.accounts.clone()
    }
}

impl egress::Host for PluginCtx {
    fn last_denial(&mut self) -> Option<egress::Denial> {
        self.egress.last_denial().map(|denial| egress::Denial {
            rule: denial.rule().map(String::from),
            field: denial.field().map(String::from),
            message: denial.to_string(),
        })
    }
}

impl output::Host for PluginCtx {
    fn write(&mut self, text: String) {
        let room = MAX_PRINTED_BYTES.saturating_sub(self.printed.len());
        let mut cut = text.len().min(room);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        self.printed.push_str(&text[..cut]);
    }
}
