//! The load and soak test: many runs over many tenants against the simulator, each calling one of
//! the 15 functions, a share of them hit by an injected fault (429s, 5xx, resets, stalls,
//! malformed bodies). Then the checks that matter under failure: every message a script reported
//! sent exists exactly once, none it reported failed exists, calls and usage triggers match what
//! was reported created, no tenant ever sees another's data, and host memory stops growing after
//! warm-up.
//!
//! Faults on POSTs are only of the kinds Twilio never processes (429, a 5xx before processing, a
//! reset before the request is read), so that "failed" means "does not exist"; faults that
//! process and then fail (stalls, truncation) hit only GETs and DELETEs.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::task::JoinSet;
use twilio_host::Limits;
use twilio_sim::{Fault, FaultKind, SeededIds, SimAccount};

use crate::{TenantSpec, TestHost, rss_kib};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Runs in all.
    pub runs: usize,
    /// Tenants, each with its own simulator account.
    pub tenants: usize,
    /// Runs in flight at once.
    pub concurrency: usize,
    /// Percentage of runs preceded by an injected fault.
    pub fault_percent: u64,
    /// Seed of the workload's choices.
    pub seed: u64,
}

impl LoadConfig {
    /// The soak test: 10,000 runs over 50 tenants.
    pub fn soak() -> LoadConfig {
        LoadConfig {
            runs: 10_000,
            tenants: 50,
            concurrency: 16,
            fault_percent: 25,
            seed: 7,
        }
    }
}

/// What happened, and the verdicts.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Runs made.
    pub runs: usize,
    /// Messages (SMS and WhatsApp) the scripts reported sent.
    pub sent: usize,
    /// Sends the scripts reported failed.
    pub send_failures: usize,
    /// Calls and usage triggers reported created.
    pub created: usize,
    /// Reported sends that exist more than once, plus calls or triggers beyond those reported.
    pub duplicates: usize,
    /// Reported sends (or created calls and triggers) the simulator does not have.
    pub lost: usize,
    /// Sends reported failed that exist anyway.
    pub phantoms: usize,
    /// Results that carried another tenant's account SID.
    pub foreign: usize,
    /// Runs by outcome: `ok`, or the error kind.
    pub outcomes: BTreeMap<String, usize>,
    /// Faults injected.
    pub faults: usize,
    /// RSS after start-up, in KiB.
    pub rss_start_kib: u64,
    /// RSS after the warm-up (the first half of the runs), in KiB.
    pub rss_warm_kib: u64,
    /// RSS after each tenth of the runs, in KiB.
    pub rss_samples: Vec<u64>,
    /// RSS at the end, in KiB.
    pub rss_end_kib: u64,
    /// What the instance pool's idle slots keep resident at the end, in KiB.
    pub pool_retained_kib: u64,
    /// The most they may keep after bursts of the load's concurrency, in KiB.
    pub pool_retained_bound_kib: u64,
    /// Wall time of the runs.
    pub elapsed: Duration,
}

/// RSS growth after warm-up that still counts as flat, in KiB.
pub const RSS_GROWTH_ALLOWED_KIB: u64 = 16 << 10;

impl LoadReport {
    /// No duplicate, loss, phantom or leak between tenants.
    pub fn consistent(&self) -> bool {
        self.duplicates == 0 && self.lost == 0 && self.phantoms == 0 && self.foreign == 0
    }

    /// RSS grew after warm-up by at most [`RSS_GROWTH_ALLOWED_KIB`], and the pool's idle slots
    /// keep no more than the bound the pool's settings give.
    pub fn memory_flat(&self) -> bool {
        self.rss_end_kib.saturating_sub(self.rss_warm_kib) <= RSS_GROWTH_ALLOWED_KIB
            && self.pool_retained_kib <= self.pool_retained_bound_kib
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "runs:          {}", self.runs)?;
        writeln!(f, "faults:        {}", self.faults)?;
        writeln!(f, "sent:          {}", self.sent)?;
        writeln!(f, "send failures: {}", self.send_failures)?;
        writeln!(
            f,
            "created:       {} (calls and usage triggers)",
            self.created
        )?;
        writeln!(f, "duplicates:    {}", self.duplicates)?;
        writeln!(f, "lost:          {}", self.lost)?;
        writeln!(f, "phantoms:      {}", self.phantoms)?;
        writeln!(f, "foreign data:  {}", self.foreign)?;
        writeln!(f, "outcomes:      {:?}", self.outcomes)?;
        writeln!(
            f,
            "RSS start/warm/end: {} / {} / {} KiB",
            self.rss_start_kib, self.rss_warm_kib, self.rss_end_kib
        )?;
        writeln!(f, "RSS each tenth: {:?} KiB", self.rss_samples)?;
        writeln!(
            f,
            "kept by idle pool slots: {} KiB (bound for this concurrency: {} KiB)",
            self.pool_retained_kib, self.pool_retained_bound_kib
        )?;
        write!(f, "elapsed:       {:.1} s", self.elapsed.as_secs_f64())
    }
}

/// A small deterministic generator (SplitMix64), one per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a run creates, for the final count.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Creates {
    Nothing,
    Message,
    Call,
    Trigger,
}

/// One of the 15 functions as the workload calls it.
struct Action {
    function: &'static str,
    method: &'static str,
    /// The resource part of the path, after `/Accounts/{sid}` (or the Lookup path).
    path: &'static str,
    creates: Creates,
    /// The Lua arguments, given the run's token and the account's seeded SIDs.
    args: fn(&str, &SeededIds, &mut Rng) -> String,
    /// Lua that turns the result `r` into what the run returns.
    returns: &'static str,
}

const RETURN_ACCOUNT: &str = "return {ok = true, accounts = {r.account_sid}}";
const RETURN_SENT: &str = "return {ok = true, sid = r.sid, accounts = {r.account_sid}}";
const RETURN_NOTHING: &str = "return {ok = true}";

/// `return` of a list result under `key`: the account SIDs of its items.
macro_rules! return_list {
    ($key:literal) => {
        concat!(
            "local a = {} for _, item in ipairs(r.",
            $key,
            ") do a[#a + 1] = item.account_sid or '' end return {ok = true, accounts = a}"
        )
    };
}

/// A message whose body is the run's token, to find it (and any copy) in the simulator.
fn message_args(token: &str, _: &SeededIds, _: &mut Rng) -> String {
    format!(r#"{{to = "+15551234567", from = "+15559876543", body = "{token}"}}"#)
}

const ACTIONS: &[Action] = &[
    Action {
        function: "twilio_send_sms",
        method: "POST",
        path: "/Messages.json",
        creates: Creates::Message,
        args: message_args,
        returns: RETURN_SENT,
    },
    Action {
        function: "twilio_send_whatsapp",
        method: "POST",
        path: "/Messages.json",
        creates: Creates::Message,
        args: message_args,
        returns: RETURN_SENT,
    },
    Action {
        function: "twilio_make_call",
        method: "POST",
        path: "/Calls.json",
        creates: Creates::Call,
        args: |token, _, _| {
            format!(
                r#"{{to = "+15551234567", from = "+15559876543", twiml = "<Response><Say>{token}</Say></Response>"}}"#
            )
        },
        returns: RETURN_ACCOUNT,
    },
    Action {
        function: "twilio_create_usage_trigger",
        method: "POST",
        path: "/Usage/Triggers.json",
        creates: Creates::Trigger,
        args: |_, _, _| {
            r#"{usage_category = "sms", trigger_value = "100", callback_url = "https://example.com/cb"}"#.into()
        },
        returns: RETURN_ACCOUNT,
    },
    Action {
        function: "twilio_get_message",
        method: "GET",
        path: "/Messages/",
        creates: Creates::Nothing,
        args: |_, seeded, rng| format!("{{message_sid = {:?}}}", rng.pick(&seeded.message_sids)),
        returns: RETURN_ACCOUNT,
    },
    Action {
        function: "twilio_list_messages",
        method: "GET",
        path: "/Messages.json",
        creates: Creates::Nothing,
        args: |_, _, _| "{limit = 30, page_size = 10}".into(),
        returns: return_list!("messages"),
    },
    Action {
        function: "twilio_get_call",
        method: "GET",
        path: "/Calls/",
        creates: Creates::Nothing,
        args: |_, seeded, rng| format!("{{call_sid = {:?}}}", rng.pick(&seeded.call_sids)),
        returns: RETURN_ACCOUNT,
    },
    Action {
        function: "twilio_list_calls",
        method: "GET",
        path: "/Calls.json",
        creates: Creates::Nothing,
        args: |_, _, _| r#"{status = "completed", limit = 10}"#.into(),
        returns: return_list!("calls"),
    },
    Action {
        function: "twilio_list_phone_numbers",
        method: "GET",
        path: "/IncomingPhoneNumbers.json",
        creates: Creates::Nothing,
        args: |_, _, _| "{}".into(),
        returns: return_list!("phone_numbers"),
    },
    Action {
        function: "twilio_get_phone_number",
        method: "GET",
        path: "/IncomingPhoneNumbers/",
        creates: Creates::Nothing,
        args: |_, seeded, rng| format!("{{phone_sid = {:?}}}", rng.pick(&seeded.phone_number_sids)),
        returns: RETURN_ACCOUNT,
    },
    Action {
        function: "twilio_lookup_phone",
        method: "GET",
        path: "/v2/PhoneNumbers/",
        creates: Creates::Nothing,
        args: |_, _, _| {
            r#"{phone_number = "+15551234567", fields = "line_type_intelligence"}"#.into()
        },
        returns: RETURN_NOTHING,
    },
    Action {
        function: "twilio_list_usage_records",
        method: "GET",
        path: "/Usage/Records.json",
        creates: Creates::Nothing,
        args: |_, _, _| {
            r#"{category = "sms", start_date = "2026-01-01", end_date = "2026-01-31", limit = 10}"#
                .into()
        },
        returns: return_list!("usage_records"),
    },
    Action {
        function: "twilio_get_account",
        method: "GET",
        path: ".json",
        creates: Creates::Nothing,
        args: |_, _, _| "{}".into(),
        returns: "return {ok = true, accounts = {r.sid}}",
    },
    Action {
        function: "twilio_list_recordings",
        method: "GET",
        path: "/Recordings.json",
        creates: Creates::Nothing,
        args: |_, _, _| "{limit = 5}".into(),
        returns: return_list!("recordings"),
    },
    Action {
        function: "twilio_delete_recording",
        method: "DELETE",
        path: "/Recordings/",
        creates: Creates::Nothing,
        args: |_, seeded, rng| {
            format!("{{recording_sid = {:?}}}", rng.pick(&seeded.recording_sids))
        },
        returns: RETURN_NOTHING,
    },
];

impl Action {
    fn script(&self, args: &str) -> String {
        format!(
            "local ok, r = pcall(app.integrations.twilio.{}, {args})\n\
             if not ok then return {{ok = false, kind = type(r) == 'table' and r.kind or tostring(r)}} end\n{}",
            self.function, self.returns
        )
    }
}

/// A fault for `action`, of a kind that never leaves a POST processed.
fn fault(action: &Action, account_sid: &str, rng: &mut Rng) -> Fault {
    let rate_limited = FaultKind::Status {
        status: 429,
        body: r#"{"code": 20429, "message": "Too Many Requests", "more_info": "", "status": 429}"#
            .into(),
        retry_after: None,
    };
    let unavailable = FaultKind::Status {
        status: 503,
        body:
            r#"{"code": 20503, "message": "Service Unavailable", "more_info": "", "status": 503}"#
                .into(),
        retry_after: None,
    };
    let unprocessed = [rate_limited, unavailable, FaultKind::ResetConnection];
    let any = [
        FaultKind::StallBeforeResponse(Duration::from_secs(1)),
        FaultKind::StallMidBody(Duration::from_secs(1)),
        FaultKind::MalformedJson,
        FaultKind::TruncatedBody,
        FaultKind::NonTwilioErrorBody { status: 502 },
    ];
    let kind = if action.method == "POST" || rng.below(2) == 0 {
        rng.pick(&unprocessed).clone()
    } else {
        rng.pick(&any).clone()
    };
    let path = if action.path.starts_with("/v2/") {
        action.path.to_owned()
    } else {
        format!("/Accounts/{account_sid}{}", action.path)
    };
    Fault::new(path, kind)
        .method(action.method)
        .times(1 + rng.below(2) as u32)
}

/// One tenant: its name, account and seeded SIDs.
struct Tenant {
    name: String,
    account_sid: String,
    seeded: SeededIds,
}

/// What one run reported, kept small so that the test's own bookkeeping does not show up as
/// memory growth.
struct RunRecord {
    tenant: usize,
    creates: Creates,
    ok: bool,
    /// `ok`, the error's kind, or `run failure` when the script itself failed.
    outcome: String,
    /// Account SIDs in the result that are not the tenant's.
    foreign: usize,
    /// The body of a sent message.
    token: Option<Box<str>>,
}

impl RunRecord {
    fn new(
        tenant: usize,
        action: &Action,
        account_sid: &str,
        token: String,
        result: &Json,
    ) -> Self {
        let ok = result["ok"] == true;
        let outcome = match result["kind"].as_str() {
            _ if ok => "ok",
            Some(kind) => kind,
            None => "run failure",
        };
        let foreign = result["accounts"].as_array().map_or(0, |a| {
            a.iter()
                .filter(|sid| sid.as_str() != Some(account_sid))
                .count()
        });
        RunRecord {
            tenant,
            creates: action.creates,
            ok,
            outcome: outcome.to_owned(),
            foreign,
            token: (action.creates == Creates::Message).then(|| token.into_boxed_str()),
        }
    }
}

/// Limits of every load tenant: quick retries and a short HTTP timeout, so stalls cost little.
fn load_limits() -> Limits {
    Limits {
        http_timeout: Duration::from_millis(300),
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(50),
        wall: Duration::from_secs(20),
        ..Limits::default()
    }
}

/// Runs the workload and checks the simulator against what the scripts reported.
pub async fn run(config: LoadConfig) -> LoadReport {
    let specs: Vec<TenantSpec> = (0..config.tenants)
        .map(|i| {
            TenantSpec::new(&format!("tenant-{i}"))
                .accounts(vec![("default", SimAccount::new(&format!("load-{i}")))])
                .limits(load_limits())
        })
        .collect();
    let host = Arc::new(TestHost::with_tenants(specs).await);
    let tenants: Arc<Vec<Tenant>> = Arc::new(
        (0..config.tenants)
            .map(|i| {
                let account_sid = SimAccount::new(&format!("load-{i}")).account_sid;
                Tenant {
                    name: format!("tenant-{i}"),
                    seeded: host.sim.state().seeded(&account_sid).expect("seeded"),
                    account_sid,
                }
            })
            .collect(),
    );
    let mut report = LoadReport {
        rss_start_kib: rss_kib(),
        ..LoadReport::default()
    };
    let started = Instant::now();
    let records = Arc::new(Mutex::new(Vec::with_capacity(config.runs)));
    let faults = Arc::new(Mutex::new(0usize));
    let tenth = (config.runs / 10).max(1);
    let mut in_flight = JoinSet::new();
    for run in 0..config.runs {
        if in_flight.len() >= config.concurrency {
            in_flight.join_next().await;
        }
        if run > 0 && run % tenth == 0 {
            while in_flight.join_next().await.is_some() {}
            host.sim.clear_requests();
            report.rss_samples.push(rss_kib());
            if run == 5 * tenth {
                report.rss_warm_kib = rss_kib();
            }
        }
        if run % 500 == 0 {
            // The simulator's request log is test scaffolding, not host memory.
            host.sim.clear_requests();
        }
        let (host, tenants, records, faults) = (
            Arc::clone(&host),
            Arc::clone(&tenants),
            Arc::clone(&records),
            Arc::clone(&faults),
        );
        in_flight.spawn(async move {
            let mut rng = Rng(config.seed ^ (run as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
            let index = rng.below(tenants.len());
            let tenant = &tenants[index];
            let action = rng.pick(ACTIONS);
            let token = format!("load-t{index}-r{run}");
            if rng.below(100) < config.fault_percent as usize {
                host.sim
                    .inject(fault(action, &tenant.account_sid, &mut rng));
                *faults.lock().unwrap() += 1;
            }
            let script = action.script(&(action.args)(&token, &tenant.seeded, &mut rng));
            let report = host.run_as(&tenant.name, &script).await;
            let result = report.outcome.unwrap_or(Json::Null);
            let record = RunRecord::new(index, action, &tenant.account_sid, token, &result);
            records.lock().unwrap().push(record);
        });
    }
    while in_flight.join_next().await.is_some() {}
    report.elapsed = started.elapsed();
    host.sim.clear_faults();
    host.sim.clear_requests();
    report.rss_end_kib = rss_kib();
    report.pool_retained_kib = host.host.pool_occupancy().retained_bytes >> 10;
    let peak = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
    report.pool_retained_bound_kib = host.host.pool_size().retained_bytes_after(peak) >> 10;
    report.faults = *faults.lock().unwrap();
    let records = std::mem::take(&mut *records.lock().unwrap());
    tally(&host, &tenants, &records, &mut report);
    report
}

/// Compares what the runs reported with what the simulator holds.
fn tally(host: &TestHost, tenants: &[Tenant], records: &[RunRecord], report: &mut LoadReport) {
    report.runs = records.len();
    let state = host.sim.state();
    for (index, tenant) in tenants.iter().enumerate() {
        let mine: Vec<&RunRecord> = records.iter().filter(|r| r.tenant == index).collect();
        let bodies: BTreeMap<String, usize> = state
            .messages(&tenant.account_sid)
            .iter()
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .fold(BTreeMap::new(), |mut counts, body| {
                *counts.entry(body).or_default() += 1;
                counts
            });
        for record in &mine {
            *report.outcomes.entry(record.outcome.clone()).or_default() += 1;
            report.foreign += record.foreign;
            let Some(token) = &record.token else {
                continue;
            };
            let copies = bodies.get(&**token).copied().unwrap_or(0);
            if record.ok {
                report.sent += 1;
                report.lost += usize::from(copies == 0);
                report.duplicates += copies.saturating_sub(1);
            } else {
                report.send_failures += 1;
                report.phantoms += copies;
            }
        }
        let seeded = &tenant.seeded;
        for (creates, held, before) in [
            (
                Creates::Call,
                state.calls(&tenant.account_sid).len(),
                seeded.call_sids.len(),
            ),
            (
                Creates::Trigger,
                state.usage_triggers(&tenant.account_sid).len(),
                0,
            ),
        ] {
            let reported = mine.iter().filter(|r| r.creates == creates && r.ok).count();
            report.created += reported;
            let new = held.saturating_sub(before);
            report.duplicates += new.saturating_sub(reported);
            report.lost += reported.saturating_sub(new);
        }
    }
}
