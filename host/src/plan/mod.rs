//! Plan and approve: a run whose side effects are recorded instead of sent (a [`Plan`]), shown
//! to a person, and executed at most once on approval by running the script again, each side
//! effect compared with the next approved action ([`gate`]). Plans live in the tenant
//! policy's state store, which decides every change of state atomically
//! ([`crate::state::StateStore::change_plan`]), so two approvals racing on two machines run
//! a plan once.
//!
//! Everything here is decided on the requests the guest actually sent, in the host: an action
//! is the request's function, account, method, path and parameters (the `arguments` a person
//! reads are derived from them, never taken from the guest).

pub mod gate;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::{now_ms, rfc3339};
use crate::egress::rules::script_field;

/// How long a plan may be approved, unless the tenant's `plan_expiry_minutes` says otherwise.
pub const DEFAULT_PLAN_EXPIRY: Duration = Duration::from_secs(3600);

/// A plan's state. `pending` is the only state a plan can be approved or rejected from, and
/// only before it expires; every other state is final except `executing`, which becomes
/// `executed` or `stopped` when its run ends (a host that dies meanwhile leaves it
/// `executing`: it never runs again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// Waiting for a person (until `expires_at`).
    Pending,
    /// Approved; its run is under way.
    Executing,
    /// Its run sent exactly the approved actions.
    Executed,
    /// Its run stopped at an action that differed from the approved one (or ended early).
    Stopped,
    /// A person rejected it.
    Rejected,
    /// Pending past its `expires_at` (how a pending plan reads once it has expired; never
    /// stored).
    Expired,
}

impl PlanState {
    /// Every state.
    pub const ALL: [PlanState; 6] = [
        PlanState::Pending,
        PlanState::Executing,
        PlanState::Executed,
        PlanState::Stopped,
        PlanState::Rejected,
        PlanState::Expired,
    ];

    /// The name as in JSON and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Pending => "pending",
            PlanState::Executing => "executing",
            PlanState::Executed => "executed",
            PlanState::Stopped => "stopped",
            PlanState::Rejected => "rejected",
            PlanState::Expired => "expired",
        }
    }

    /// The state named `name` (as [`PlanState::as_str`] writes it).
    pub fn parse(name: &str) -> Option<PlanState> {
        PlanState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// The exact request of a side effect: what an execution's request must equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRequest {
    /// The HTTP method.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// The form parameters, sorted by name (then value).
    pub params: Vec<(String, String)>,
}

impl WireRequest {
    /// The request with `method` to `path` carrying `params` (in any order).
    pub fn new(method: &str, path: &str, params: &[(String, String)]) -> WireRequest {
        let mut params = params.to_vec();
        params.sort();
        WireRequest {
            method: method.to_string(),
            path: path.to_string(),
            params,
        }
    }
}

/// What Twilio answered to a side effect the planning run sent (one that needs no approval):
/// an execution answers the same call with it instead of sending it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body (already scrubbed of secrets).
    pub body: String,
}

/// One side effect of a plan, in the order the script made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAction {
    /// The function (`twilio_send_sms`, `twilio_send_whatsapp`, `twilio_make_call`, ...).
    pub function: String,
    /// The account the script named.
    pub account: String,
    /// The arguments as the Lua API names them (`to`, `from`, `body`, `recording_sid`, ...),
    /// read from the request.
    pub arguments: Map<String, Value>,
    /// The request itself.
    pub request: WireRequest,
    /// `true`: it needs approval (the execution sends it); `false`: the planning run sent it
    /// already (it needs no approval), and the execution answers it with `answer`.
    pub pending: bool,
    /// What Twilio answered when the planning run sent it (`None` for a pending action, or
    /// when the planning run got no answer: the execution then stops there rather than
    /// send it a second time).
    #[serde(default)]
    pub answer: Option<SentAnswer>,
}

impl PlanAction {
    /// The action a side effect of `function` through `account` is, from its request.
    pub fn new(function: &str, account: &str, request: WireRequest, pending: bool) -> PlanAction {
        PlanAction {
            function: function.to_string(),
            account: account.to_string(),
            arguments: arguments(function, &request),
            request,
            pending,
            answer: None,
        }
    }

    /// Whether `other` is the same call: function, account and request.
    pub fn same_call(&self, other: &PlanAction) -> bool {
        self.function == other.function
            && self.account == other.account
            && self.request == other.request
    }

    /// One line a person reads: what, to whom, from which number and account, and the rest
    /// of the arguments (long texts cut).
    pub fn line(&self) -> String {
        let text = |name: &str| self.arguments.get(name).and_then(Value::as_str);
        let mut line = self.function.clone();
        if let Some(to) = text("to") {
            line.push_str(&format!(" to {to}"));
        }
        if let Some(from) = text("from") {
            line.push_str(&format!(" from {from}"));
        }
        line.push_str(&format!(" (account {})", self.account));
        for (name, value) in &self.arguments {
            if name == "to" || name == "from" {
                continue;
            }
            let value = value.as_str().unwrap_or_default();
            line.push_str(&format!(" {name}={}", shortened(value)));
        }
        line
    }
}

/// `value` quoted, cut to 80 characters.
fn shortened(value: &str) -> String {
    const SHOWN: usize = 80;
    let cut: String = value.chars().take(SHOWN).collect();
    if cut.len() < value.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// The arguments a side effect's request carries, named as the Lua API names them: form
/// parameters in snake case (`MediaUrl` -> `media_url`), WhatsApp's `whatsapp:` prefixes
/// dropped, and the recording SID of a delete from its path.
fn arguments(function: &str, request: &WireRequest) -> Map<String, Value> {
    let mut arguments = Map::new();
    if function == "twilio_delete_recording" {
        let last = request.path.rsplit('/').next().unwrap_or_default();
        let sid = last.strip_suffix(".json").unwrap_or(last);
        arguments.insert("recording_sid".into(), sid.into());
    }
    for (name, value) in &request.params {
        let value = match function {
            "twilio_send_whatsapp" => value.strip_prefix("whatsapp:").unwrap_or(value),
            _ => value,
        };
        arguments.insert(script_field(name), value.into());
    }
    arguments
}

/// A plan: the side effects one run of a script would have, for a person to approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Unique and unguessable (a random UUID).
    pub id: String,
    /// The tenant whose run made it (only that tenant can approve it).
    pub tenant: String,
    /// The planning run ([`crate::RunReport::run_id`]).
    pub run_id: String,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// When it can no longer be approved, RFC 3339.
    pub expires_at: String,
    /// The same instant in milliseconds since the Unix epoch.
    pub expires_ms: u64,
    /// Its state when it was read.
    pub state: PlanState,
    /// The script (the approval runs it again).
    pub script: String,
    /// What the planning run printed.
    pub printed: String,
    /// The side effects, in order.
    pub actions: Vec<PlanAction>,
}

impl Plan {
    /// A new plan id: unique and unguessable (a random UUID).
    pub fn new_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// A new pending plan `id` (from [`Plan::new_id`]) of `tenant`'s run `run_id` of
    /// `script`, expiring after `expiry`.
    pub fn new(
        id: String,
        tenant: &str,
        run_id: &str,
        script: &str,
        printed: &str,
        actions: Vec<PlanAction>,
        expiry: Duration,
    ) -> Plan {
        let now = now_ms();
        let expires_ms = now.saturating_add(u64::try_from(expiry.as_millis()).unwrap_or(u64::MAX));
        Plan {
            id,
            tenant: tenant.to_string(),
            run_id: run_id.to_string(),
            created_at: rfc3339(now),
            expires_at: rfc3339(expires_ms),
            expires_ms,
            state: PlanState::Pending,
            script: script.to_string(),
            printed: printed.to_string(),
            actions,
        }
    }

    /// The plan in `state` as it reads at `now_ms`: a pending plan past its expiry is
    /// `expired`.
    pub fn in_state(mut self, state: PlanState, now_ms: u64) -> Plan {
        self.state = match state {
            PlanState::Pending if self.expires_ms <= now_ms => PlanState::Expired,
            state => state,
        };
        self
    }

    /// The actions that need approval.
    pub fn pending_actions(&self) -> usize {
        self.actions.iter().filter(|a| a.pending).count()
    }

    /// The plan as reports show it: id, tenant, state, times, what the planning run printed,
    /// each action's function, account, arguments and whether it is pending, and `lines`, the
    /// actions as a person reads them (not the script, nor the wire requests).
    pub fn summary(&self) -> Value {
        let actions: Vec<Value> = self
            .actions
            .iter()
            .map(|action| {
                serde_json::json!({
                    "function": action.function,
                    "account": action.account,
                    "arguments": action.arguments,
                    "pending": action.pending,
                })
            })
            .collect();
        serde_json::json!({
            "id": self.id,
            "tenant": self.tenant,
            "state": self.state,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "printed": self.printed,
            "actions": actions,
            "lines": self.to_string().lines().skip(1).map(str::trim).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Plan {
    /// What a person reads: a heading, then one numbered line per action.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan {} ({}, {} action(s) needing approval, expires {}):",
            self.id,
            self.state.as_str(),
            self.pending_actions(),
            self.expires_at
        )?;
        for (index, action) in self.actions.iter().enumerate() {
            let done = if action.pending {
                ""
            } else {
                " [sent while planning: needs no approval]"
            };
            writeln!(f, "  {}. {}{done}", index + 1, action.line())?;
        }
        Ok(())
    }
}

/// A change of a plan's state, which a store makes only when the plan is in `from` (and,
/// from `pending`, has not expired at `now_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanChange {
    /// The plan's tenant.
    pub tenant: String,
    /// The plan.
    pub id: String,
    /// The state it must be in.
    pub from: PlanState,
    /// The state it moves to.
    pub to: PlanState,
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: u64,
}

impl PlanChange {
    /// The change of `tenant`'s plan `id` from `from` to `to`, now.
    pub fn new(tenant: &str, id: &str, from: PlanState, to: PlanState) -> PlanChange {
        PlanChange {
            tenant: tenant.to_string(),
            id: id.to_string(),
            from,
            to,
            now_ms: now_ms(),
        }
    }
}

/// Why a plan's state did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotPending {
    /// No plan of that id for this tenant (or it is past the audit retention).
    Unknown,
    /// It is in this state (`expired` for a pending plan past its `expires_at`).
    In(PlanState),
}

impl fmt::Display for NotPending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotPending::Unknown => f.write_str("there is no such plan for this tenant"),
            NotPending::In(PlanState::Executing | PlanState::Executed | PlanState::Stopped) => {
                f.write_str("the plan was already executed")
            }
            NotPending::In(PlanState::Rejected) => f.write_str("the plan was rejected"),
            NotPending::In(PlanState::Pending) => f.write_str("the plan is pending"),
            NotPending::In(PlanState::Expired) => f.write_str("the plan has expired"),
        }
    }
}

impl NotPending {
    /// The name as in JSON: `unknown`, or the state.
    pub fn as_str(self) -> &'static str {
        match self {
            NotPending::Unknown => "unknown",
            NotPending::In(state) => state.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(to: &str, body: &str) -> PlanAction {
        let params = vec![
            ("To".to_string(), to.to_string()),
            ("From".to_string(), "+15559876543".to_string()),
            ("Body".to_string(), body.to_string()),
        ];
        PlanAction::new(
            "twilio_send_sms",
            "default",
            WireRequest::new("POST", "/2010-04-01/Accounts/AC1/Messages.json", &params),
            true,
        )
    }

    #[test]
    fn an_action_reads_as_the_lua_api_names_it() {
        let action = send("+15551234567", "Hi");
        assert_eq!(action.arguments["to"], "+15551234567");
        assert_eq!(action.arguments["body"], "Hi");
        assert_eq!(
            action.line(),
            "twilio_send_sms to +15551234567 from +15559876543 (account default) body=\"Hi\""
        );
        let delete = PlanAction::new(
            "twilio_delete_recording",
            "work",
            WireRequest::new(
                "DELETE",
                "/2010-04-01/Accounts/AC1/Recordings/RE0123.json",
                &[],
            ),
            true,
        );
        assert_eq!(delete.arguments["recording_sid"], "RE0123");
        assert_eq!(script_field("StatusCallback"), "status_callback");
    }

    #[test]
    fn the_same_call_is_the_same_request_in_any_parameter_order() {
        let a = send("+15551234567", "Hi");
        let mut reordered = a.request.params.clone();
        reordered.reverse();
        let b = PlanAction::new(
            "twilio_send_sms",
            "default",
            WireRequest::new("POST", &a.request.path, &reordered),
            true,
        );
        assert!(a.same_call(&b));
        assert!(!a.same_call(&send("+15551234567", "Hi!")));
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in PlanState::ALL {
            assert_eq!(PlanState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }
}
