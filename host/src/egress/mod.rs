//! The egress path of a run: every request the guest makes passes [`Egress`], the run's
//! `WasiHttpHooks`. It counts the request against the run's budget, asks the tenant's
//! [`policy`] (a pure decision on destination, account and operation), reads a POST's form
//! and applies the account's [`rules`] to the parameters, takes the request's share of the
//! tenant's [`quota`]s, authenticates it as the account the guest named (the secret is added
//! here, on the host side), clamps the guest's timeouts, sends it through the host's shared
//! [`client`], removes secrets from what comes back ([`scrub`]) and writes one [`audit`]
//! event. Every refusal happens before a connection is made.

pub mod client;
pub mod operations;
pub mod policy;
pub mod quota;
pub mod rules;
mod scrub;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, PROXY_AUTHORIZATION};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

use crate::audit::{AuditRecord, AuditSettings, AuditTrail, Outcome};
use crate::config::Rules;
use crate::limits::Limits;
use crate::plan::gate::{PLANNED_STATUS, PlanGate, Verdict};
use crate::plan::{PlanAction, SentAnswer, WireRequest};
use crate::state::StateStore;
pub use client::EgressClient;
use operations::{Class, Operation};
pub use policy::{ACCOUNT_HEADER, Denial, MAX_FORM_BYTES, TenantPolicy};
use quota::RunCounts;
pub use rules::PolicyRefusal;
use scrub::{scrub_body, scrub_headers};

/// The future `send_request` returns.
type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

/// The egress of one run: the tenant's policy and limits, the run's request count and
/// quota counts, the store of the tenant's shared counts, and the host's shared client.
pub struct Egress {
    policy: Arc<TenantPolicy>,
    limits: Limits,
    client: EgressClient,
    store: Option<Arc<dyn StateStore>>,
    requests_made: u32,
    run_counts: Arc<RunCounts>,
    /// Written by the request futures, where every refusal is reported (a POST's form is
    /// checked there, once its body is read); read by the guest through `last-denial`.
    last_denial: Arc<Mutex<Option<Denial>>>,
    /// The fingerprint of the run's latest request when it failed (429, 5xx, no answer), to
    /// tell a retry.
    last_failure: Arc<Mutex<Option<u64>>>,
    /// Where the run's requests are audited.
    trail: Arc<AuditTrail>,
    /// What happens to the run's side effects: sent, planned, or checked against a plan.
    gate: Arc<PlanGate>,
}

/// A request the policy allowed so far, ready to send once its parameters pass the rules
/// and its quotas have room.
struct Admitted {
    account: String,
    operation: &'static Operation,
    rules: Arc<Rules>,
    query: Vec<(String, String)>,
    request: Request<WasiBody>,
    options: RequestOptions,
}

/// Why a request was not sent.
enum Refusal {
    /// The policy refused it.
    Denied(Denial),
    /// The run's request budget is used up.
    Budget(u32),
}

impl Egress {
    /// The egress of one run under `policy` and `limits`, sending through `client`. A tenant
    /// with quotas per hour or day needs [`Egress::counting_in`] too; without a store its
    /// sends and calls are refused.
    pub fn new(policy: Arc<TenantPolicy>, limits: Limits, client: EgressClient) -> Egress {
        let policy_tenant = policy.tenant().to_string();
        Egress {
            policy,
            limits,
            client,
            store: None,
            requests_made: 0,
            run_counts: Arc::default(),
            last_denial: Arc::default(),
            last_failure: Arc::default(),
            trail: Arc::new(AuditTrail::new(
                String::new(),
                policy_tenant,
                AuditSettings::default(),
            )),
            gate: Arc::default(),
        }
    }

    /// Decides the run's side effects through `gate` (a planning run, or an approved plan's);
    /// without one they are sent.
    pub fn gated_by(mut self, gate: Arc<PlanGate>) -> Egress {
        self.gate = gate;
        self
    }

    /// Audits the run's requests in `trail` (without one they are only logged).
    pub fn audited_by(mut self, trail: AuditTrail) -> Egress {
        self.trail = Arc::new(trail);
        self
    }

    /// Counts the tenant's quotas in `store` (shared with every other run, process and
    /// machine that uses the same store).
    pub fn counting_in(mut self, store: Arc<dyn StateStore>) -> Egress {
        self.store = Some(store);
        self
    }

    /// Where the run's requests are audited (to [`AuditTrail::flush`] it when the run ends).
    pub fn trail(&self) -> Arc<AuditTrail> {
        Arc::clone(&self.trail)
    }

    /// How many requests this run has sent (or tried to).
    pub fn requests_made(&self) -> u32 {
        self.requests_made
    }

    /// Why the policy refused this run's latest refused request.
    pub fn last_denial(&self) -> Option<Denial> {
        lock(&self.last_denial).clone()
    }

    /// Counts the request, applies the policy, and swaps the account header for the account's
    /// credential; the guest's own credential headers never leave.
    fn admit(
        &mut self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Admitted, Refusal> {
        let limits = self.limits;
        if self.requests_made >= limits.max_requests {
            return Err(Refusal::Budget(limits.max_requests));
        }
        self.requests_made += 1;
        let grant = match self
            .policy
            .decide(request.method(), request.uri(), request.headers())
        {
            Ok(grant) => grant,
            Err(denial) => return Err(Refusal::Denied(denial)),
        };
        let account = grant.account.to_string();
        let operation = grant.operation;
        let rules = Arc::clone(grant.rules);
        let query = grant.query;
        let authorization = grant.authorization.clone();
        let headers = request.headers_mut();
        headers.remove(ACCOUNT_HEADER);
        headers.remove(PROXY_AUTHORIZATION);
        headers.insert(AUTHORIZATION, authorization);
        let clamp = |guest: Option<Duration>| {
            Some(guest.map_or(limits.http_timeout, |g| g.min(limits.http_timeout)))
        };
        let options = options.unwrap_or_default();
        Ok(Admitted {
            account,
            operation,
            rules,
            query,
            request,
            options: RequestOptions {
                connect_timeout: clamp(options.connect_timeout),
                first_byte_timeout: clamp(options.first_byte_timeout),
                between_bytes_timeout: clamp(options.between_bytes_timeout),
            },
        })
    }
}

impl WasiHttpHooks for Egress {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(is_forbidden)
    }

    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let record = self.trail.record(request.method(), request.uri());
        let decision = self.admit(request, options);
        let exchange = Exchange {
            policy: Arc::clone(&self.policy),
            client: self.client.clone(),
            store: self.store.clone(),
            run_counts: Arc::clone(&self.run_counts),
            max_body: self.limits.max_response_bytes,
            total: self.limits.http_timeout,
            last_denial: Arc::clone(&self.last_denial),
            last_failure: Arc::clone(&self.last_failure),
            trail: Arc::clone(&self.trail),
            gate: Arc::clone(&self.gate),
        };
        Box::new(async move {
            let response = exchange.send(decision, record).await?;
            let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// What a request's future needs of its run's egress.
struct Exchange {
    policy: Arc<TenantPolicy>,
    client: EgressClient,
    store: Option<Arc<dyn StateStore>>,
    run_counts: Arc<RunCounts>,
    max_body: u64,
    total: Duration,
    last_denial: Arc<Mutex<Option<Denial>>>,
    last_failure: Arc<Mutex<Option<u64>>>,
    trail: Arc<AuditTrail>,
    gate: Arc<PlanGate>,
}

impl Exchange {
    /// Sends an admitted request (reading a POST's form, applying the rules and quotas, and
    /// writing a side effect's audit record first), or refuses it; audits either way.
    async fn send(
        self,
        decision: Result<Admitted, Refusal>,
        mut record: AuditRecord,
    ) -> Result<Response<WasiBody>, HttpError> {
        let mut admitted = match decision {
            Ok(admitted) => admitted,
            Err(Refusal::Denied(denial)) => return Err(self.refuse(record, denial)),
            Err(Refusal::Budget(max)) => {
                let reason = format!("request budget of {max} per run used up");
                self.trail.refused(record, "max_requests", &reason);
                return Err(HttpError::ConnectionLimitReached);
            }
        };
        if let Some(reason) = self.gate.halted() {
            return Err(self.refuse(record, Denial::Plan(reason)));
        }
        record.account = Some(admitted.account.clone());
        record.function = Some(admitted.operation.function.to_string());
        let params = if admitted.request.method() == Method::POST {
            match read_form(admitted.request, admitted.operation).await {
                Ok((request, form)) => {
                    admitted.request = request;
                    form
                }
                Err(FormProblem::Denied(denial)) => return Err(self.refuse(record, denial)),
                Err(FormProblem::Unreadable(error)) => return Err(error),
            }
        } else {
            std::mem::take(&mut admitted.query)
        };
        if matches!(admitted.operation.class, Class::Send | Class::Call) {
            let to = params.iter().find(|(key, _)| key == "To");
            record.to = to.map(|(_, to)| self.trail.destination(to));
        }
        let action = match rules::check(&admitted.rules, admitted.operation, &params) {
            Ok(action) => action,
            Err(refusal) => {
                if admitted.operation.class != Class::Read {
                    self.gate.refused(&refusal.message);
                }
                return Err(self.refuse(record, Denial::Policy(refusal)));
            }
        };
        Exchange::describe(&mut record, &action, &params);
        let fingerprint = fingerprint(&admitted.request, &params);
        record.retry = *lock(&self.last_failure) == Some(fingerprint);
        let side_effect = action.class != Class::Read;
        let mut slot = None;
        if side_effect && !self.gate.is_live() {
            let request = &admitted.request;
            let wire = WireRequest::new(request.method().as_str(), request.uri().path(), &params);
            let call = PlanAction::new(action.function, &admitted.account, wire, false);
            match self.gate.decide(call, record.retry) {
                Verdict::Send(planning_slot) => slot = planning_slot,
                Verdict::Planned(_, answer) => {
                    self.trail.planned(record);
                    return Ok(json_response(PLANNED_STATUS, answer));
                }
                Verdict::Replay(SentAnswer { status, body }) => {
                    return Ok(json_response(status, Bytes::from(body)));
                }
                Verdict::Stop(reason) => {
                    return Err(self.refuse(record, Denial::Plan(reason)));
                }
            }
        }
        let taken = match quota::take(
            self.policy.quotas(),
            self.policy.tenant(),
            &action,
            &self.run_counts,
            self.store.as_ref(),
        )
        .await
        {
            Ok(taken) => taken,
            Err(denial) => {
                if side_effect {
                    self.gate.not_sent(slot, &denial.to_string());
                }
                return Err(self.refuse(record, denial));
            }
        };
        if side_effect && self.trail.begin(&record).await.is_err() {
            // The trail logs the store's error; the script learns only that it cannot record.
            taken.give_back().await;
            let unavailable = "the audit trail cannot be written right now".to_string();
            let denial = Denial::Unaudited(unavailable);
            self.gate.not_sent(slot, &denial.to_string());
            return Err(self.refuse(record, denial));
        }
        let started = Instant::now();
        let result = self
            .client
            .exchange(
                admitted.request,
                &admitted.options,
                self.max_body,
                self.total,
            )
            .await;
        record.elapsed_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        let failed = match &result {
            Ok(response) => response.status().is_server_error() || response.status() == 429,
            Err(_) => true,
        };
        *lock(&self.last_failure) = failed.then_some(fingerprint);
        match result {
            Ok(response) => {
                let status = response.status();
                if status.is_client_error() {
                    // Twilio refused it: nothing was sent, so it takes no quota.
                    taken.give_back().await;
                }
                let (mut parts, body) = response.into_parts();
                scrub_headers(&mut parts.headers);
                let body = scrub_body(body, &mut parts.headers, self.policy.secrets());
                record.status = Some(status.as_u16());
                record.outcome = match status.as_u16() {
                    200..=299 => Outcome::Ok,
                    500..=599 if side_effect => Outcome::Unknown,
                    _ => Outcome::Error,
                };
                let answer = Answer::of(
                    &body,
                    status.is_success() && side_effect,
                    !status.is_success(),
                );
                record.error_code = answer.code;
                record.sid = answer.sid.or_else(|| {
                    (action.class == Class::Delete && status.is_success())
                        .then(|| deleted_sid(record.path.as_str()))
                        .flatten()
                });
                self.trail.finish(record);
                if let Some(slot) = slot {
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let status = status.as_u16();
                    self.gate.answered(slot, SentAnswer { status, body });
                }
                Ok(Response::from_parts(parts, whole_body(body)))
            }
            Err(error) => {
                record.error = Some(error.to_string());
                // A side effect that may have reached Twilio (anything but a connection
                // never made) is unknown until reconciled.
                let never_connected = matches!(error, HttpError::Connect(_));
                record.outcome = if side_effect && !never_connected {
                    Outcome::Unknown
                } else {
                    Outcome::Failed
                };
                if slot.is_some() && never_connected {
                    // The planning run never sent it: the approved run will (an execution's
                    // own attempt may be retried, as the same action).
                    self.gate.not_sent(slot, &error.to_string());
                }
                self.trail.finish(record);
                Err(error)
            }
        }
    }

    /// Audits `denial`, keeps it for the guest's `last-denial`, and gives the error the
    /// guest sees.
    fn refuse(&self, record: AuditRecord, denial: Denial) -> HttpError {
        self.trail.refused(record, denial.audit_rule(), &denial);
        *lock(&self.last_denial) = Some(denial);
        HttpError::HttpRequestDenied
    }

    /// Fills in what the rules found the request to be: its function (the form tells WhatsApp
    /// from SMS), and a message body's length and segments.
    fn describe(record: &mut AuditRecord, action: &rules::Action, params: &[(String, String)]) {
        record.function = Some(action.function.to_string());
        if let Some((_, body)) = params.iter().find(|(key, _)| key == "Body") {
            record.body_length = Some(u32::try_from(body.chars().count()).unwrap_or(u32::MAX));
            record.segments = (action.segments > 0).then_some(action.segments);
        }
    }
}

/// What the audit keeps of an answer: the SID of what a side effect created, Twilio's error
/// code.
#[derive(Default, serde::Deserialize)]
struct Answer {
    sid: Option<String>,
    code: Option<i64>,
}

impl Answer {
    /// Reads `body` when it holds either: a side effect's result (`created`), or an error
    /// answer (`error`: small); a read's result is not parsed.
    fn of(body: &Bytes, created: bool, error: bool) -> Answer {
        if !created && !error {
            return Answer::default();
        }
        let answer: Answer = serde_json::from_slice(body).unwrap_or_default();
        Answer {
            sid: answer.sid.filter(|_| created),
            code: answer.code.filter(|_| error),
        }
    }
}

/// The SID a DELETE's path ends with (`.../Recordings/RE....json`).
fn deleted_sid(path: &str) -> Option<String> {
    let last = path.rsplit('/').next()?;
    Some(last.strip_suffix(".json").unwrap_or(last).to_string())
}

/// What tells a repeated request from another: method, URL and parameters.
fn fingerprint(request: &Request<WasiBody>, params: &[(String, String)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    request.method().as_str().hash(&mut hasher);
    request.uri().path().hash(&mut hasher);
    params.hash(&mut hasher);
    hasher.finish()
}

/// Why a POST's form did not pass.
enum FormProblem {
    /// The policy refused it.
    Denied(Denial),
    /// The guest's body stream failed.
    Unreadable(HttpError),
}

/// Reads a POST's body (at most [`MAX_FORM_BYTES`]), checks its form parameters' names
/// against `operation`, and gives back the request with the body as read, and the form.
async fn read_form(
    request: Request<WasiBody>,
    operation: &Operation,
) -> Result<(Request<WasiBody>, Vec<(String, String)>), FormProblem> {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(FormProblem::Denied(Denial::BodyTooLarge));
        }
        Err(error) => match error.downcast::<HttpError>() {
            Ok(error) => return Err(FormProblem::Unreadable(*error)),
            Err(other) => {
                return Err(FormProblem::Unreadable(HttpError::InternalError(Some(
                    other.to_string(),
                ))));
            }
        },
    };
    let form = policy::check_parameters(operation, &bytes).map_err(FormProblem::Denied)?;
    Ok((Request::from_parts(parts, whole_body(bytes)), form))
}

/// `bytes` as a body of the guest's requests and responses.
fn whole_body(bytes: Bytes) -> WasiBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An answer made by the host itself (a planned side effect's, or one the planning run got):
/// `status` with the JSON `body`.
fn json_response(status: u16, body: Bytes) -> Response<WasiBody> {
    let mut response = Response::new(whole_body(body));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The shared slot, even if a thread panicked while holding it (it holds only a denial or a
/// fingerprint).
fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Headers the guest may never set: the defaults plus every credential header.
fn is_forbidden(name: &HeaderName) -> bool {
    DEFAULT_FORBIDDEN_HEADERS.contains(name)
        || *name == AUTHORIZATION
        || *name == PROXY_AUTHORIZATION
        || name.as_str() == "cookie"
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use http_body_util::Empty;

    use super::*;
    use crate::config::{AccountConfig, AccountSid, BaseUrl, Quotas, TenantConfig};
    use crate::credential::Credential;
    use crate::secret::Secret;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn limits() -> Limits {
        Limits {
            max_requests: 2,
            ..Limits::default()
        }
    }

    fn egress(api: &str, client: EgressClient) -> Egress {
        let tenant = TenantConfig {
            name: "acme".into(),
            accounts: vec![AccountConfig {
                name: "default".into(),
                account_sid: AccountSid::parse(SID).unwrap(),
                subaccounts: Vec::new(),
                credential: Credential::AuthToken(Secret::new("token".into())),
                api_base_url: BaseUrl::parse(api).unwrap(),
                lookups_base_url: BaseUrl::parse("https://lookups.twilio.com").unwrap(),
                rules: Rules::default(),
            }],
            limits: limits(),
            api_token_sha256: None,
            quotas: Quotas::default(),
            approval: Default::default(),
        };
        Egress::new(Arc::new(TenantPolicy::new(&tenant)), limits(), client)
    }

    /// Sends `request` through `egress` and checks it is refused.
    async fn assert_denied(egress: &mut Egress, request: Request<WasiBody>) {
        let sent = egress.send_request(request, None, Box::new(async { Ok(()) }));
        assert!(matches!(
            Box::into_pin(sent).await,
            Err(HttpError::HttpRequestDenied)
        ));
    }

    /// Checks that nobody connected to `listener` (a non-blocking one).
    fn assert_never_connected(listener: &TcpListener) {
        assert_eq!(
            listener.accept().map_err(|e| e.kind()).err(),
            Some(std::io::ErrorKind::WouldBlock),
            "no connection was made"
        );
    }

    fn client() -> EgressClient {
        EgressClient::new(Limits::default().http_timeout)
    }

    fn request(url: &str, account: Option<&str>) -> Request<WasiBody> {
        let mut builder = Request::get(url);
        if let Some(account) = account {
            builder = builder.header(ACCOUNT_HEADER, account);
        }
        builder
            .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
            .unwrap()
    }

    fn verdict(egress: &mut Egress, url: &str) -> Result<(), String> {
        egress
            .admit(request(url, Some("default")), None)
            .map(|_| ())
            .map_err(|refusal| match refusal {
                Refusal::Denied(denial) => denial.to_string(),
                Refusal::Budget(max) => format!("budget {max}"),
            })
    }

    #[test]
    fn the_request_budget_counts_every_attempt() {
        let api = "https://api.twilio.com";
        let url = format!("{api}/2010-04-01/Accounts/{SID}.json");
        let mut egress = egress(api, client());
        assert!(verdict(&mut egress, &url).is_ok());
        assert!(verdict(&mut egress, "https://evil.example/").is_err());
        assert_eq!(verdict(&mut egress, &url), Err("budget 2".into()));
        assert_eq!(egress.requests_made(), 2);
    }

    #[tokio::test]
    async fn the_latest_denial_is_kept_for_the_script() {
        let api = "https://api.twilio.com";
        let mut egress = egress(api, client());
        assert_eq!(egress.last_denial(), None);
        let other = "ACffffffffffffffffffffffffffffffff";
        let url = format!("{api}/2010-04-01/Accounts/{other}.json");
        let sent = egress.send_request(
            request(&url, Some("default")),
            None,
            Box::new(async { Ok(()) }),
        );
        assert!(matches!(
            Box::into_pin(sent).await,
            Err(HttpError::HttpRequestDenied)
        ));
        assert_eq!(
            egress.last_denial().map(|d| d.to_string()),
            Some(format!("account \"default\" may not act on \"{other}\""))
        );
    }

    #[test]
    fn the_secret_goes_in_on_the_host_side_and_the_guest_cannot_set_it() {
        let api = "https://api.twilio.com";
        let mut egress = egress(api, client());
        let mut guest = request(
            &format!("{api}/2010-04-01/Accounts/{SID}.json"),
            Some("default"),
        );
        guest
            .headers_mut()
            .insert(AUTHORIZATION, "Basic Z3Vlc3Q6Z3Vlc3Q=".parse().unwrap());
        let Ok(admitted) = egress.admit(guest, None) else {
            panic!("allowed")
        };
        let headers = admitted.request.headers();
        assert!(headers.get(ACCOUNT_HEADER).is_none());
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
        assert_eq!(
            headers[AUTHORIZATION],
            Credential::AuthToken(Secret::new("token".into()))
                .authorization(&AccountSid::parse(SID).unwrap())
        );
        assert!(is_forbidden(&AUTHORIZATION));
        assert!(!is_forbidden(&HeaderName::from_static(ACCOUNT_HEADER)));
    }

    #[test]
    fn guest_timeouts_are_clamped_to_the_tenants() {
        let api = "https://api.twilio.com";
        let mut egress = egress(api, client());
        let long = Some(Duration::from_secs(600));
        let options = RequestOptions {
            connect_timeout: long,
            first_byte_timeout: None,
            between_bytes_timeout: Some(Duration::from_millis(5)),
        };
        let Ok(admitted) = egress.admit(
            request(
                &format!("{api}/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
            ),
            Some(options),
        ) else {
            panic!("allowed")
        };
        let limit = Limits::default().http_timeout;
        assert_eq!(admitted.options.connect_timeout, Some(limit));
        assert_eq!(admitted.options.first_byte_timeout, Some(limit));
        assert_eq!(
            admitted.options.between_bytes_timeout,
            Some(Duration::from_millis(5))
        );
    }

    #[tokio::test]
    async fn runs_of_one_host_reuse_its_connections() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buffer = [0u8; 4096];
                    loop {
                        let Ok(read) = socket.read(&mut buffer).await else {
                            return;
                        };
                        if read == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buffer[..read]);
                        // One answer per complete request head (GET: no body).
                        while let Some(end) = memchr::memmem::find(&seen, b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let api = format!("http://127.0.0.1:{port}");
        let url = format!("{api}/2010-04-01/Accounts/{SID}.json");
        let shared = client();
        for _ in 0..3 {
            // A new run: a new egress, the host's client.
            let mut egress = egress(&api, shared.clone());
            let sent = egress.send_request(
                request(&url, Some("default")),
                None,
                Box::new(async { Ok(()) }),
            );
            let Ok((response, _)) = Box::into_pin(sent).await else {
                panic!("the request succeeds")
            };
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"{}");
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one connection for three runs"
        );
    }

    #[tokio::test]
    async fn a_denied_destination_is_never_connected_to() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut egress = egress("https://api.twilio.com", client());
        let guest = request(
            &format!("http://127.0.0.1:{port}/2010-04-01/Accounts/{SID}.json"),
            Some("default"),
        );
        let response =
            Box::into_pin(egress.send_request(guest, None, Box::new(async { Ok(()) }))).await;
        assert!(matches!(response, Err(HttpError::HttpRequestDenied)));
        assert_never_connected(&listener);
    }

    /// A POST to `url` with `form` as its body, as the guest would send it.
    fn post(url: &str, form: Vec<u8>) -> Request<WasiBody> {
        Request::post(url)
            .header(ACCOUNT_HEADER, "default")
            .body(whole_body(Bytes::from(form)))
            .unwrap()
    }

    #[tokio::test]
    async fn requests_outside_the_fifteen_operations_never_connect() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let base = format!("{api}/2010-04-01/Accounts/{SID}");
        let oversized = format!("To=%2B15551234567&Body={}", "x".repeat(MAX_FORM_BYTES));
        let cases = [
            (
                post(&format!("{base}/Keys.json"), Vec::new()),
                "is not a request",
            ),
            (
                post(&format!("{base}.json"), b"Status=closed".to_vec()),
                "is not a request",
            ),
            (
                post(
                    &format!("{base}/IncomingPhoneNumbers.json"),
                    b"PhoneNumber=%2B1".to_vec(),
                ),
                "is not a request",
            ),
            (
                post(
                    &format!("{base}/Messages.json"),
                    b"To=%2B15551234567&SmsUrl=x".to_vec(),
                ),
                "parameter \"SmsUrl\" is not one that twilio_send_sms sends",
            ),
            (
                post(&format!("{base}/Messages.json"), oversized.into_bytes()),
                "larger than",
            ),
        ];
        for (request, says) in cases {
            let target = format!("{} {}", request.method(), request.uri());
            let mut egress = egress(&api, client());
            let sent = egress.send_request(request, None, Box::new(async { Ok(()) }));
            let result = Box::into_pin(sent).await;
            assert!(
                matches!(result, Err(HttpError::HttpRequestDenied)),
                "{target}"
            );
            let reason = egress
                .last_denial()
                .map(|d| d.to_string())
                .unwrap_or_default();
            assert!(reason.contains(says), "{target}: {reason}");
        }
        assert_never_connected(&listener);
    }

    #[tokio::test]
    async fn a_raw_send_the_audit_cannot_record_never_connects() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let closed = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let store = crate::state::open(&crate::config::StateUrl::Redis(format!(
            "redis://127.0.0.1:{closed}/0"
        )))
        .unwrap();
        let trail = AuditTrail::new("run".into(), "acme".into(), AuditSettings::default())
            .storing_in(store);
        let mut egress = egress(&api, client()).audited_by(trail);
        // The form a compromised guest writes itself, no plugin validation in between.
        let form = b"To=%2B15551234567&From=%2B15559876543&Body=unaudited".to_vec();
        let raw = post(
            &format!("{api}/2010-04-01/Accounts/{SID}/Messages.json"),
            form,
        );
        assert_denied(&mut egress, raw).await;
        let denial = egress.last_denial().expect("a denial for the guest");
        assert_eq!(denial.audit_rule(), "audit");
        assert!(
            denial.to_string().contains("audit trail cannot be written"),
            "{denial}"
        );
        assert_never_connected(&listener);
    }

    #[tokio::test]
    async fn a_raw_send_other_than_the_approved_action_never_connects() {
        use crate::plan::gate::Mode;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let path = format!("/2010-04-01/Accounts/{SID}/Messages.json");
        let approved = [
            ("To", "+15551234567"),
            ("From", "+15559876543"),
            ("Body", "Hi"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let wire = WireRequest::new("POST", &path, &approved);
        let action = PlanAction::new("twilio_send_sms", "default", wire, true);
        let gate = Arc::new(PlanGate::new(Mode::Executing {
            plan_id: "p".into(),
            actions: vec![action],
        }));
        let mut egress = egress(&api, client()).gated_by(Arc::clone(&gate));
        // The approved message to another number, as a compromised guest would write it.
        let form = b"To=%2B15550000000&From=%2B15559876543&Body=Hi".to_vec();
        let raw = post(&format!("{api}{path}"), form);
        assert_denied(&mut egress, raw).await;
        let denial = egress.last_denial().expect("a denial for the guest");
        assert_eq!(denial.audit_rule(), "plan");
        assert!(denial.to_string().contains("action 1 differs"), "{denial}");
        // Then not even the approved one goes out: the run has stopped.
        let form = b"To=%2B15551234567&From=%2B15559876543&Body=Hi".to_vec();
        assert_denied(&mut egress, post(&format!("{api}{path}"), form)).await;
        assert_never_connected(&listener);
        assert_eq!(gate.execution().map(|e| e.actions_sent), Some(0));
    }

    #[tokio::test]
    async fn a_raw_send_in_a_planning_run_is_answered_planned_and_never_connects() {
        use crate::plan::gate::Mode;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let api = format!("http://{}", listener.local_addr().unwrap());
        let gate = Arc::new(PlanGate::new(Mode::Planning {
            plan_id: "p".into(),
            needs_approval: crate::config::policy::side_effects(),
        }));
        let mut egress = egress(&api, client()).gated_by(Arc::clone(&gate));
        // The form a compromised guest writes itself, no plugin in between.
        let form = b"To=%2B15551234567&From=%2B15559876543&Body=raw".to_vec();
        let raw = post(
            &format!("{api}/2010-04-01/Accounts/{SID}/Messages.json"),
            form,
        );
        let sent = egress.send_request(raw, None, Box::new(async { Ok(()) }));
        let Ok((response, _)) = Box::into_pin(sent).await else {
            panic!("a planned answer")
        };
        assert_eq!(response.status(), PLANNED_STATUS);
        let recorded = gate.recorded();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].arguments["body"], "raw");
        assert_never_connected(&listener);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connect_error() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let options = RequestOptions {
            connect_timeout: Some(Duration::from_millis(500)),
            first_byte_timeout: Some(Duration::from_millis(500)),
            between_bytes_timeout: Some(Duration::from_millis(500)),
        };
        let request = request(&format!("http://127.0.0.1:{port}/"), None);
        let result = client()
            .exchange(request, &options, 1024, Duration::from_secs(5))
            .await;
        assert!(
            matches!(result, Err(HttpError::Connect(_))),
            "a closed port: {result:?}"
        );
    }
}
