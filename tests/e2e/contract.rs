//! The platform contract: a host written from `wit/twilio.wit` and `docs/hosting.md` alone.
//!
//! It uses wasmtime, wasmtime-wasi and wasmtime-wasi-http and its own `bindgen!` of the world
//! (the same as `host/src/bindings.rs` on purpose: a platform writes this one itself), not the
//! `twilio-host` crate (only the component's bytes come from there), and implements the
//! egress duties of the hosting chapter itself for one account on the simulator: it links
//! exactly the imports the world declares, lets out only the account's own API paths, swaps
//! `x-twilio-account` for `Authorization`, counts requests, scrubs `auth_token`, and says why it
//! refused through `egress.last-denial`. Every scenario of the chapter runs through it, and the
//! failures are told apart by the typed `kind`s alone, never by parsing `value-json`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use twilio_sim::{SimAccount, SimConfig, Simulator};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as ErrorCode, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "twilio:lua/plugin",
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:cli": wasmtime_wasi::p2::bindings::cli,
            "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
        },
    });
}

use bindings::exports::twilio::lua::runner::{
    ApiErrorKind, ErrorKind, RetryPolicy, RunError, RunOptions,
};
use bindings::twilio::lua::{accounts, egress, output};

/// The header the plugin names the account in (hosting chapter, egress duty 2).
const ACCOUNT_HEADER: &str = "x-twilio-account";

/// Guest linear memory a run may grow to (the Lua heap cap is half of it).
const GUEST_MEMORY: usize = 64 << 20;

/// The one account this host serves, as the guest may know it, and its credential.
#[derive(Clone)]
struct Account {
    name: String,
    sid: String,
    api: String,
    lookups: String,
    authorization: String,
}

/// Why the last refused request was refused.
type LastDenial = Arc<Mutex<Option<egress::Denial>>>;

/// The egress: the account's paths only, a request budget, credentials added here.
struct ContractEgress {
    account: Account,
    requests: usize,
    max_requests: usize,
    last_denial: LastDenial,
}

impl ContractEgress {
    /// The refusal for a request outside the account's own API, or `None` to let it out.
    fn refusal(&self, request: &http::Request<WasiBody>) -> Option<String> {
        let named = request
            .headers()
            .get(ACCOUNT_HEADER)
            .and_then(|value| value.to_str().ok());
        if named != Some(self.account.name.as_str()) {
            return Some(format!("no account named {named:?} here"));
        }
        let origin = format!(
            "{}://{}",
            request.uri().scheme_str().unwrap_or_default(),
            request
                .uri()
                .authority()
                .map(|a| a.as_str())
                .unwrap_or_default()
        );
        let path = request.uri().path();
        let account_path = format!("/2010-04-01/Accounts/{}", self.account.sid);
        let allowed = (origin == self.account.api
            && (path == format!("{account_path}.json")
                || path.starts_with(&format!("{account_path}/"))))
            || (origin == self.account.lookups && path.starts_with("/v2/PhoneNumbers/"));
        (!allowed).then(|| format!("{origin}{path} is not this account's Twilio API"))
    }
}

impl WasiHttpHooks for ContractEgress {
    /// The guest may not bring credentials of its own.
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(|name| {
            DEFAULT_FORBIDDEN_HEADERS.contains(name)
                || name == http::header::AUTHORIZATION
                || name == http::header::PROXY_AUTHORIZATION
        })
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), ErrorCode>> + Send>,
                    ),
                    ErrorCode,
                >,
            > + Send,
    > {
        self.requests += 1;
        let over_budget = self.requests > self.max_requests;
        let refusal = self.refusal(&request);
        let last_denial = Arc::clone(&self.last_denial);
        let authorization = self.account.authorization.clone();
        Box::new(async move {
            if over_budget {
                return Err(ErrorCode::ConnectionLimitReached);
            }
            if let Some(message) = refusal {
                *last_denial.lock().unwrap() = Some(egress::Denial {
                    rule: None,
                    field: None,
                    message,
                });
                return Err(ErrorCode::HttpRequestDenied);
            }
            let headers = request.headers_mut();
            headers.remove(ACCOUNT_HEADER);
            headers.insert(
                http::header::AUTHORIZATION,
                authorization.parse().expect("a header value"),
            );
            let (response, _io) =
                wasmtime_wasi_http::default_send_request(request, options).await?;
            let (parts, body) = response.into_parts();
            // The whole body, so that a secret split across chunks is found.
            let body = body.collect().await?.to_bytes();
            let body = without_auth_token(body);
            let body: WasiBody = Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync();
            let done: Box<dyn Future<Output = Result<(), ErrorCode>> + Send> =
                Box::new(async { Ok(()) });
            Ok((http::Response::from_parts(parts, body), done))
        })
    }
}

/// A JSON body without its `auth_token` field (an Account resource carries it).
fn without_auth_token(body: Bytes) -> Bytes {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut fields)) if fields.contains_key("auth_token") => {
            fields.remove("auth_token");
            Bytes::from(serde_json::to_vec(&fields).expect("JSON"))
        }
        _ => body,
    }
}

/// The store data: WASI with an empty context, HTTP through the egress, the plugin's imports.
struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    egress: ContractEgress,
    printed: String,
    limits: StoreLimits,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.egress,
        }
    }
}

impl accounts::Host for State {
    fn list_accounts(&mut self) -> Vec<accounts::Account> {
        let account = &self.egress.account;
        vec![accounts::Account {
            name: account.name.clone(),
            account_sid: account.sid.clone(),
            api_base_url: account.api.clone(),
            lookups_base_url: account.lookups.clone(),
        }]
    }
}

impl egress::Host for State {
    fn last_denial(&mut self) -> Option<egress::Denial> {
        self.egress.last_denial.lock().unwrap().clone()
    }
}

impl output::Host for State {
    fn write(&mut self, text: String) {
        self.printed.push_str(&text);
    }
}

/// The engine, the linker and the compiled component, shared by the runs.
struct ContractHost {
    engine: Engine,
    linker: Linker<State>,
    component: Component,
    account: Account,
    sim: Simulator,
}

/// What one run gave.
struct Outcome {
    printed: String,
    result: Result<String, Box<RunError>>,
    requests: usize,
}

impl ContractHost {
    async fn start() -> ContractHost {
        let sim = Simulator::start(SimConfig::default()).await.unwrap();
        let credentials = SimAccount::test_default();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials.account_sid, credentials.auth_token
        ));
        let account = Account {
            name: "default".into(),
            sid: credentials.account_sid,
            api: sim.api_url(),
            lookups: sim.lookups_url(),
            authorization: format!("Basic {basic}"),
        };
        // Engine requirements: the component model, async, wasm exceptions (Lua's errors), and
        // epoch interruption for the host's CPU limit.
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.wasm_exceptions(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
        accounts::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state).unwrap();
        egress::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state).unwrap();
        output::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state).unwrap();
        let component = Component::new(&engine, twilio_e2e::twilio_host::PLUGIN_COMPONENT).unwrap();
        ContractHost {
            engine,
            linker,
            component,
            account,
            sim,
        }
    }

    /// A store for one instance: an empty WASI context, the egress with a budget of
    /// `max_requests`, and `guest_memory` bytes of guest memory at most.
    fn store(&self, guest_memory: usize, max_requests: usize) -> Store<State> {
        let state = State {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            egress: ContractEgress {
                account: self.account.clone(),
                requests: 0,
                max_requests,
                last_denial: LastDenial::default(),
            },
            printed: String::new(),
            limits: StoreLimitsBuilder::new().memory_size(guest_memory).build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store
    }

    /// Runs `script` in a fresh instance with `options` and a budget of `max_requests`.
    async fn run_with(&self, script: &str, options: RunOptions, max_requests: usize) -> Outcome {
        self.run_in(GUEST_MEMORY, script, options, max_requests)
            .await
            .expect("the component instantiates")
    }

    /// [`ContractHost::run_with`] with `guest_memory` bytes of guest memory; `Err` when the
    /// component cannot even be instantiated in that.
    async fn run_in(
        &self,
        guest_memory: usize,
        script: &str,
        options: RunOptions,
        max_requests: usize,
    ) -> wasmtime::Result<Outcome> {
        let mut store = self.store(guest_memory, max_requests);
        // The host's CPU limit: 300 epoch ticks of 10 ms.
        store.set_epoch_deadline(300);
        let ticker = {
            let engine = self.engine.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    engine.increment_epoch();
                }
            })
        };
        let plugin =
            match bindings::Plugin::instantiate_async(&mut store, &self.component, &self.linker)
                .await
            {
                Ok(plugin) => plugin,
                Err(error) => {
                    ticker.abort();
                    return Err(error);
                }
            };
        let called = plugin
            .twilio_lua_runner()
            .call_run(&mut store, script, options)
            .await;
        ticker.abort();
        // A trap (the CPU limit) is the host's to describe; here, as an internal error.
        let result = match called {
            Ok(result) => result.map_err(Box::new),
            Err(trap) => Err(Box::new(RunError {
                kind: ErrorKind::Internal,
                message: format!("trap: {trap:?}"),
                traceback: None,
                api_error: None,
                value_json: None,
            })),
        };
        let data = store.into_data();
        Ok(Outcome {
            printed: data.printed,
            result,
            requests: data.egress.requests,
        })
    }

    async fn run(&self, script: &str) -> Outcome {
        self.run_with(script, recommended(), 20).await
    }
}

/// The run options the hosting chapter recommends.
fn recommended() -> RunOptions {
    RunOptions {
        memory_bytes: (GUEST_MEMORY / 2) as u64,
        instructions: 100_000_000,
        retry: RetryPolicy {
            max_retries: 3,
            base_delay_ms: 100,
            max_delay_ms: 3000,
        },
        wall_ms: 30_000,
    }
}

/// The JSON a successful run returned.
fn returned(result: &Result<String, Box<RunError>>) -> &str {
    match result {
        Ok(json) => json,
        Err(error) => panic!("the run failed: {:?}: {}", error.kind, error.message),
    }
}

fn failure(outcome: &Outcome) -> &RunError {
    outcome.result.as_ref().expect_err("the run fails")
}

fn api_kind(outcome: &Outcome) -> ApiErrorKind {
    failure(outcome)
        .api_error
        .as_ref()
        .expect("a Twilio function's error")
        .kind
}

#[tokio::test(flavor = "multi_thread")]
async fn print_return_send_list_and_help() {
    let host = ContractHost::start().await;
    let run = host.run("print('hello') return 1, 'two'").await;
    assert_eq!(run.printed, "hello\n");
    assert_eq!(returned(&run.result), r#"[1,"two"]"#);

    let run = host
        .run(
            r#"local t = app.integrations.twilio
               local sent = t.twilio_send_sms({to = "+15551234567", from = "+15559876543", body = "contract"})
               local listed = t.twilio_list_messages({limit = 1}).messages[1]
               local account = t.twilio_get_account()
               return {sid = sent.sid, listed = listed.sid, token = account.auth_token or "none"}"#,
        )
        .await;
    let value: serde_json::Value = serde_json::from_str(run.result.as_ref().unwrap()).unwrap();
    assert_eq!(value["sid"], value["listed"]);
    assert_eq!(
        value["token"], "none",
        "the auth token never reaches the script"
    );
    assert_eq!(run.requests, 3);
    let stored = host.sim.state().messages(&host.account.sid);
    assert!(stored.iter().any(|m| m["body"] == "contract"));

    let run = host
        .run("return app.integrations.twilio.help('twilio_send_sms')")
        .await;
    assert!(run.result.unwrap().starts_with("\"## twilio_send_sms"));
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_told_apart_by_their_typed_kinds() {
    let host = ContractHost::start().await;
    let syntax = host.run("return (").await;
    assert_eq!(failure(&syntax).kind, ErrorKind::Syntax);

    let runtime = host.run("error('plain')").await;
    assert_eq!(failure(&runtime).kind, ErrorKind::Runtime);
    assert!(
        failure(&runtime).api_error.is_none(),
        "not a Twilio function's error"
    );

    let validation = host
        .run("app.integrations.twilio.twilio_send_sms({to = 'x', from = '+15559876543', body = 'b'})")
        .await;
    assert_eq!(api_kind(&validation), ApiErrorKind::Validation);
    assert_eq!(
        failure(&validation)
            .api_error
            .as_ref()
            .unwrap()
            .field
            .as_deref(),
        Some("to")
    );
    assert_eq!(validation.requests, 0);

    let not_found = host
        .run("app.integrations.twilio.twilio_get_call({call_sid = 'CA00000000000000000000000000000000'})")
        .await;
    let twilio = failure(&not_found).api_error.as_ref().unwrap();
    assert_eq!(twilio.kind, ApiErrorKind::Twilio);
    assert_eq!((twilio.code, twilio.status), (Some(20404), Some(404)));

    let denied = host
        .run("app.integrations.twilio.twilio_get_account({sid = 'ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'})")
        .await;
    assert_eq!(api_kind(&denied), ApiErrorKind::Denied);
    assert!(
        failure(&denied)
            .message
            .contains("is not this account's Twilio API"),
        "the host's reason reaches the script: {}",
        failure(&denied).message
    );

    let budget = host
        .run_with("app.integrations.twilio.twilio_list_calls({limit = 1}) app.integrations.twilio.twilio_list_calls({limit = 1})", recommended(), 1)
        .await;
    assert_eq!(api_kind(&budget), ApiErrorKind::Limit);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_limit_ends_the_run_as_the_chapter_says() {
    let host = ContractHost::start().await;
    let spin = "while true do end";
    let instructions = host
        .run_with(
            spin,
            RunOptions {
                instructions: 1_000_000,
                ..recommended()
            },
            20,
        )
        .await;
    assert_eq!(failure(&instructions).kind, ErrorKind::InstructionLimit);

    let memory = host
        .run("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end")
        .await;
    assert_eq!(failure(&memory).kind, ErrorKind::MemoryLimit);
    // A Lua cap smaller than the sandbox itself is a memory limit too, and says so.
    let tiny_cap = host
        .run_with(
            "return 1",
            RunOptions {
                memory_bytes: 10_000,
                ..recommended()
            },
            20,
        )
        .await;
    assert_eq!(failure(&tiny_cap).kind, ErrorKind::MemoryLimit);
    assert!(
        failure(&tiny_cap)
            .message
            .contains("leaves no room to set up the run"),
        "{}",
        failure(&tiny_cap).message
    );

    // The CPU limit is the host's: the epoch deadline traps the instance.
    let cpu = host
        .run_with(
            spin,
            RunOptions {
                instructions: u64::MAX,
                ..recommended()
            },
            20,
        )
        .await;
    let trapped = failure(&cpu);
    assert_eq!(trapped.kind, ErrorKind::Internal, "{}", trapped.message);
    assert!(trapped.message.contains("trap"), "{}", trapped.message);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_may_serve_several_runs_each_in_a_fresh_lua_state() {
    let host = ContractHost::start().await;
    let mut store = host.store(GUEST_MEMORY, 20);
    store.set_epoch_deadline(1_000_000);
    let plugin = bindings::Plugin::instantiate_async(&mut store, &host.component, &host.linker)
        .await
        .unwrap();
    let runner = plugin.twilio_lua_runner();
    let first = runner
        .call_run(&mut store, "leftover = 42 return leftover", recommended())
        .await
        .unwrap()
        .map_err(Box::new);
    let second = runner
        .call_run(&mut store, "return leftover", recommended())
        .await
        .unwrap()
        .map_err(Box::new);
    assert_eq!(returned(&first), "42");
    assert_eq!(
        returned(&second),
        "null",
        "the second run starts from a fresh state"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_granularity_and_minimum_memory_hold() {
    let host = ContractHost::start().await;
    let budget = |instructions| RunOptions {
        instructions,
        ..recommended()
    };
    // Checked every 1,000 instructions: a short script finishes even with a budget of 0.
    let short = host.run_with("return 1", budget(0), 20).await;
    assert_eq!(returned(&short.result), "1");
    let long = host
        .run_with(
            "local n = 0 for i = 1, 5000 do n = n + i end return n",
            budget(0),
            20,
        )
        .await;
    assert_eq!(failure(&long).kind, ErrorKind::InstructionLimit);
    let enough = host
        .run_with(
            "local n = 0 for i = 1, 100 do n = n + i end return n",
            budget(10_000),
            20,
        )
        .await;
    assert_eq!(returned(&enough.result), "5050");

    // The memory starts at 18 pages, the smallest script needs 19; the chapter asks for 16 MiB.
    let page = 64 << 10;
    let tiny = host.run_in(17 * page, "return 1", recommended(), 20).await;
    assert!(tiny.is_err(), "17 pages are too few to instantiate");
    let smallest = host
        .run_in(
            19 * page,
            "return 1",
            RunOptions {
                memory_bytes: 0,
                ..recommended()
            },
            20,
        )
        .await
        .expect("19 pages instantiate");
    assert_eq!(returned(&smallest.result), "1");
    let small = host
        .run_in(
            16 << 20,
            "return 1",
            RunOptions {
                memory_bytes: 8 << 20,
                ..recommended()
            },
            20,
        )
        .await
        .expect("16 MiB is enough");
    assert_eq!(returned(&small.result), "1");
}
