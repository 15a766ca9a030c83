//! The egress path: every request the guest makes passes [`Egress::send_request`], which allows
//! only the tenant's Twilio endpoints, authenticates the request as the account the guest named
//! (the secret is added here, on the host side), clamps timeouts, caps the response, removes
//! secrets from what comes back, counts the request against the run's budget, and writes one
//! audit event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderName, PROXY_AUTHORIZATION};
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

use crate::config::{AccountConfig, TenantConfig, is_sid};
use crate::scrub::scrub_response;

/// The request header in which the guest names the account; never forwarded.
pub const ACCOUNT_HEADER: &str = "x-twilio-account";

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

/// The egress policy of one run.
pub struct Egress {
    tenant: Arc<TenantConfig>,
    requests_made: u32,
    /// The host's client, shared by all its runs so connections are reused across runs.
    client: EgressClient,
}

/// What the policy decided for one request.
struct Authorized {
    account: String,
    request: Request<WasiBody>,
    options: RequestOptions,
    max_response_bytes: u64,
}

impl Egress {
    /// The policy for one run of `tenant`, sending through `client`.
    pub fn new(tenant: Arc<TenantConfig>, client: EgressClient) -> Egress {
        Egress {
            tenant,
            requests_made: 0,
            client,
        }
    }

    /// How many requests this run has sent (or tried to).
    pub fn requests_made(&self) -> u32 {
        self.requests_made
    }

    /// Applies the policy; `Err` is what the guest gets instead of a response.
    fn authorize(
        &mut self,
        mut request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Authorized, Denial> {
        let limits = self.tenant.limits;
        if self.requests_made >= limits.max_requests {
            return Err(Denial::Budget(limits.max_requests));
        }
        self.requests_made += 1;
        let account_name = take_account_header(&mut request)?;
        let account = self
            .tenant
            .accounts
            .iter()
            .find(|a| a.name == account_name)
            .ok_or_else(|| {
                Denial::Policy(format!(
                    "account {account_name:?} is not configured for tenant {:?}",
                    self.tenant.name
                ))
            })?;
        check_destination(account, request.uri())?;
        let headers = request.headers_mut();
        headers.remove(AUTHORIZATION);
        headers.remove(PROXY_AUTHORIZATION);
        headers.insert(
            AUTHORIZATION,
            account.credential.authorization(&account.account_sid),
        );
        let clamp = |guest: Option<Duration>| {
            Some(guest.map_or(limits.http_timeout, |g| g.min(limits.http_timeout)))
        };
        let options = options.unwrap_or_default();
        Ok(Authorized {
            account: account.name.clone(),
            request,
            options: RequestOptions {
                connect_timeout: clamp(options.connect_timeout),
                first_byte_timeout: clamp(options.first_byte_timeout),
                between_bytes_timeout: clamp(options.between_bytes_timeout),
            },
            max_response_bytes: limits.max_response_bytes,
        })
    }
}

/// Why a request was refused.
enum Denial {
    /// Not allowed by the policy: nothing was sent.
    Policy(String),
    /// The run's request budget is used up.
    Budget(u32),
}

fn take_account_header(request: &mut Request<WasiBody>) -> Result<String, Denial> {
    let headers = request.headers_mut();
    let values: Vec<_> = headers.get_all(ACCOUNT_HEADER).iter().cloned().collect();
    headers.remove(ACCOUNT_HEADER);
    match values.as_slice() {
        [value] => value
            .to_str()
            .map(str::to_string)
            .map_err(|_| Denial::Policy("the account name is not text".into())),
        [] => Err(Denial::Policy(format!(
            "the request names no account (header {ACCOUNT_HEADER})"
        ))),
        _ => Err(Denial::Policy(
            "the request names more than one account".into(),
        )),
    }
}

/// The request must go to one of the account's two endpoints (scheme, host and port), to a
/// path of that API, and a core-API path must be about the account or one of its subaccounts.
fn check_destination(account: &AccountConfig, uri: &Uri) -> Result<(), Denial> {
    let origin = |base: &str| {
        base.parse::<Uri>()
            .ok()
            .map(|b| (b.scheme().cloned(), b.authority().cloned()))
    };
    let target = Some((uri.scheme().cloned(), uri.authority().cloned()));
    let path = uri.path();
    if has_traversal(uri) {
        return Err(Denial::Policy(format!(
            "path {path:?} is not a plain Twilio path"
        )));
    }
    if target == origin(&account.api_base_url) {
        let sid = path
            .strip_prefix("/2010-04-01/Accounts/")
            .map(|rest| rest.split(['/', '.']).next().unwrap_or_default())
            .ok_or_else(|| {
                Denial::Policy(format!("path {path:?} is not under /2010-04-01/Accounts/"))
            })?;
        let allowed = sid == account.account_sid || account.subaccounts.iter().any(|s| s == sid);
        return if allowed && is_sid(sid, "AC") {
            Ok(())
        } else {
            Err(Denial::Policy(format!(
                "account {:?} may not act on {sid:?}",
                account.name
            )))
        };
    }
    if target == origin(&account.lookups_base_url) {
        return if path.starts_with("/v2/PhoneNumbers/") {
            Ok(())
        } else {
            Err(Denial::Policy(format!(
                "path {path:?} is not a Lookup v2 phone number"
            )))
        };
    }
    Err(Denial::Policy(format!(
        "{}://{} is not one of the tenant's Twilio endpoints",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map_or("?", |a| a.as_str())
    )))
}

/// Dot segments, empty segments, backslashes and encoded separators are refused outright.
fn has_traversal(uri: &Uri) -> bool {
    let path = uri.path();
    let lowered = path.to_ascii_lowercase();
    path.contains("//")
        || path.contains('\\')
        || path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        || ["%2f", "%2e", "%5c", "%00"]
            .iter()
            .any(|bad| lowered.contains(bad))
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
        let tenant = self.tenant.name.clone();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let secrets_of = Arc::clone(&self.tenant);
        let decision = self.authorize(request, options);
        let client = self.client.clone();
        Box::new(async move {
            let started = Instant::now();
            let authorized = match decision {
                Ok(authorized) => authorized,
                Err(denial) => {
                    let (reason, error) = match denial {
                        Denial::Policy(reason) => (reason, HttpError::HttpRequestDenied),
                        Denial::Budget(max) => (
                            format!("request budget of {max} per run used up"),
                            HttpError::ConnectionLimitReached,
                        ),
                    };
                    tracing::warn!(target: "twilio_host::audit", %tenant, %method, host = uri.host().unwrap_or(""), path = uri.path(), %reason, "request refused");
                    return Err(error);
                }
            };
            let account = authorized.account.clone();
            // Borrowed from the tenant's `Secret`s for the scrub: never copied.
            let secrets: Vec<&[u8]> = secrets_of
                .accounts
                .iter()
                .map(|a| a.credential.secret().expose().as_bytes())
                .collect();
            let result = exchange(&client, authorized, &secrets).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok((response, _)) => {
                    tracing::info!(target: "twilio_host::audit", %tenant, %account, %method, host = uri.host().unwrap_or(""), path = uri.path(), status = response.status().as_u16(), elapsed_ms, "twilio request")
                }
                Err(error) => {
                    tracing::warn!(target: "twilio_host::audit", %tenant, %account, %method, host = uri.host().unwrap_or(""), path = uri.path(), %error, elapsed_ms, "twilio request failed")
                }
            }
            result
        })
    }
}

/// Headers the guest may never set: the defaults plus every credential header.
fn is_forbidden(name: &HeaderName) -> bool {
    DEFAULT_FORBIDDEN_HEADERS.contains(name)
        || *name == AUTHORIZATION
        || *name == PROXY_AUTHORIZATION
        || name.as_str() == "cookie"
}

/// Sends the request through the shared client, reads the whole (capped) body, and hands the
/// guest a scrubbed copy.
async fn exchange(
    client: &EgressClient,
    authorized: Authorized,
    secrets: &[&[u8]],
) -> Result<
    (
        Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
> {
    let max = authorized.max_response_bytes;
    let path = authorized.request.uri().path().to_string();
    let between_bytes = authorized
        .options
        .between_bytes_timeout
        .unwrap_or(MAX_TIMEOUT);
    let response = client.send(authorized.request, &authorized.options).await?;
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max) {
        // Dropping the unread response closes its connection: it never goes back to the pool.
        return Err(HttpError::HttpResponseBodySize(Some(max)));
    }
    let (parts, body) = response.into_parts();
    let bytes = read_body(body, max, between_bytes).await?;
    let bytes = scrub_response(&path, bytes, secrets);
    let mut parts = parts;
    parts.headers.remove(CONTENT_LENGTH);
    let body = Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync();
    let done: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
    Ok((Response::from_parts(parts, body), done))
}

/// The HTTP(S) client every run of a [`crate::Host`] shares: HTTP/1.1 with a keep-alive
/// connection pool (connections are keyed by scheme, host and port; credentials travel per
/// request, so a pooled connection carries nothing of the run that opened it), rustls with the
/// webpki roots for HTTPS, no redirects (the client never follows one), and the connect timeout
/// of the request that opens a connection.
#[derive(Clone)]
pub struct EgressClient {
    client: Client<TimedConnector, WasiBody>,
}

impl EgressClient {
    /// A client with an empty pool.
    pub fn new() -> EgressClient {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(TimedConnector { inner: https });
        EgressClient { client }
    }

    /// Sends `request` (absolute URI) and waits for the response head, within the clamped
    /// timeouts: connecting (TCP and TLS) within `connect_timeout`, and the head within
    /// `first_byte_timeout` of that.
    async fn send(
        &self,
        request: Request<WasiBody>,
        options: &RequestOptions,
    ) -> Result<Response<Incoming>, HttpError> {
        let connect = options.connect_timeout.unwrap_or(MAX_TIMEOUT);
        let first_byte = options.first_byte_timeout.unwrap_or(MAX_TIMEOUT);
        let response = CONNECT_TIMEOUT.scope(connect, self.client.request(request));
        match tokio::time::timeout(connect.saturating_add(first_byte), response).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(client_error(&error)),
            Err(_elapsed) => Err(HttpError::ConnectionReadTimeout),
        }
    }
}

impl Default for EgressClient {
    fn default() -> EgressClient {
        EgressClient::new()
    }
}

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeout used when none is given (wasmtime-wasi-http's default).
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

tokio::task_local! {
    /// The connect timeout of the request being sent, for the connector.
    static CONNECT_TIMEOUT: Duration;
}

/// Raised by [`TimedConnector`] when connecting took too long.
#[derive(Debug, thiserror::Error)]
#[error("connecting timed out")]
struct ConnectTimedOut;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type HttpsStream = hyper_rustls::MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// The HTTPS connector, with the connect timeout of the request that asked for the connection.
#[derive(Clone)]
struct TimedConnector {
    inner: hyper_rustls::HttpsConnector<HttpConnector>,
}

impl tower_service::Service<Uri> for TimedConnector {
    type Response = HttpsStream;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<HttpsStream, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // Read here, not in the future: `call` runs inside the request's scope.
        let timeout = CONNECT_TIMEOUT.try_with(|t| *t).unwrap_or(MAX_TIMEOUT);
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_elapsed) => Err(Box::new(ConnectTimedOut) as BoxError),
            }
        })
    }
}

/// The error wasmtime-wasi-http's own client reports for the same failure, so the guest sees
/// the same codes: a connect timeout, a TLS failure, a refused or unresolvable destination, or
/// a protocol error (reset, malformed response).
fn client_error(error: &hyper_util::client::legacy::Error) -> HttpError {
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        if current.is::<ConnectTimedOut>() {
            return HttpError::ConnectionTimeout;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            let copy = std::io::Error::new(io.kind(), io.to_string());
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return HttpError::Tls(copy);
            }
            if error.is_connect() {
                return HttpError::Connect(copy);
            }
        }
        if current.is::<hyper::Error>() {
            return HttpError::HttpProtocolError;
        }
        cause = current.source();
    }
    if error.is_connect() {
        HttpError::Connect(std::io::Error::other(error.to_string()))
    } else {
        HttpError::HttpProtocolError
    }
}

/// Reads the whole body, at most `max` bytes, waiting at most `between_bytes` for each frame.
async fn read_body(
    mut body: Incoming,
    max: u64,
    between_bytes: Duration,
) -> Result<Bytes, HttpError> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut collected = bytes::BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(between_bytes, body.frame()).await {
            Err(_elapsed) => return Err(HttpError::ConnectionReadTimeout),
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                return Err(if error.is_timeout() {
                    HttpError::HttpResponseTimeout
                } else {
                    HttpError::Hyper(error)
                });
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if collected.len().saturating_add(data.len()) > max {
                return Err(HttpError::HttpResponseBodySize(Some(max as u64)));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use http_body_util::Empty;

    use super::*;
    use crate::credential::Credential;
    use crate::limits::Limits;
    use crate::secret::Secret;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const OTHER_SID: &str = "ACffffffffffffffffffffffffffffffff";

    fn tenant(api: &str) -> Arc<TenantConfig> {
        Arc::new(TenantConfig {
            name: "acme".into(),
            accounts: vec![AccountConfig {
                name: "default".into(),
                account_sid: SID.into(),
                subaccounts: Vec::new(),
                credential: Credential::AuthToken(Secret::new("token".into())),
                api_base_url: api.into(),
                lookups_base_url: "https://lookups.twilio.com".into(),
            }],
            limits: Limits {
                max_requests: 2,
                ..Limits::default()
            },
            api_token_sha256: None,
        })
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

    fn verdict(egress: &mut Egress, url: &str, account: Option<&str>) -> Result<(), String> {
        egress
            .authorize(request(url, account), None)
            .map(|_| ())
            .map_err(|denial| match denial {
                Denial::Policy(reason) => reason,
                Denial::Budget(max) => format!("budget {max}"),
            })
    }

    #[test]
    fn only_the_accounts_own_paths_on_its_own_endpoints_pass() {
        let api = "https://api.twilio.com";
        let cases = [
            (
                format!("{api}/2010-04-01/Accounts/{SID}/Messages.json"),
                Some("default"),
                true,
            ),
            (
                format!("{api}/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                true,
            ),
            (
                "https://lookups.twilio.com/v2/PhoneNumbers/+15551234567".to_string(),
                Some("default"),
                true,
            ),
            (
                format!("{api}/2010-04-01/Accounts/{OTHER_SID}/Messages.json"),
                Some("default"),
                false,
            ),
            (
                format!("{api}/2010-04-01/Accounts/{SID}/../{OTHER_SID}/Messages.json"),
                Some("default"),
                false,
            ),
            (
                format!("{api}/2010-04-01/Accounts/{SID}%2F..%2F/x.json"),
                Some("default"),
                false,
            ),
            (
                format!("{api}/v2/PhoneNumbers/+1555"),
                Some("default"),
                false,
            ),
            (
                format!("http://api.twilio.com/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("https://api.twilio.com:8443/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("https://evil.example/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
                false,
            ),
            (
                format!("{api}/2010-04-01/Accounts/{SID}.json"),
                Some("work"),
                false,
            ),
            (format!("{api}/2010-04-01/Accounts/{SID}.json"), None, false),
        ];
        for (url, account, allowed) in cases {
            let mut egress = Egress::new(tenant(api), EgressClient::new());
            let result = verdict(&mut egress, &url, account);
            assert_eq!(result.is_ok(), allowed, "{url} as {account:?}: {result:?}");
        }
    }

    #[test]
    fn the_request_budget_counts_every_attempt() {
        let api = "https://api.twilio.com";
        let url = format!("{api}/2010-04-01/Accounts/{SID}.json");
        let mut egress = Egress::new(tenant(api), EgressClient::new());
        assert!(verdict(&mut egress, &url, Some("default")).is_ok());
        assert!(verdict(&mut egress, "https://evil.example/", Some("default")).is_err());
        assert_eq!(
            verdict(&mut egress, &url, Some("default")),
            Err("budget 2".into())
        );
        assert_eq!(egress.requests_made(), 2);
    }

    #[test]
    fn the_secret_goes_in_on_the_host_side_and_the_guest_cannot_set_it() {
        let api = "https://api.twilio.com";
        let mut egress = Egress::new(tenant(api), EgressClient::new());
        let mut guest = request(
            &format!("{api}/2010-04-01/Accounts/{SID}.json"),
            Some("default"),
        );
        guest
            .headers_mut()
            .insert(AUTHORIZATION, "Basic Z3Vlc3Q6Z3Vlc3Q=".parse().unwrap());
        let Ok(authorized) = egress.authorize(guest, None) else {
            panic!("allowed")
        };
        let headers = authorized.request.headers();
        assert!(headers.get(ACCOUNT_HEADER).is_none());
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
        assert_eq!(
            headers[AUTHORIZATION],
            Credential::AuthToken(Secret::new("token".into())).authorization(SID)
        );
        assert!(is_forbidden(&AUTHORIZATION));
        assert!(!is_forbidden(&HeaderName::from_static(ACCOUNT_HEADER)));
    }

    #[test]
    fn guest_timeouts_are_clamped_to_the_tenants() {
        let api = "https://api.twilio.com";
        let mut egress = Egress::new(tenant(api), EgressClient::new());
        let long = Some(Duration::from_secs(600));
        let options = RequestOptions {
            connect_timeout: long,
            first_byte_timeout: None,
            between_bytes_timeout: Some(Duration::from_millis(5)),
        };
        let Ok(authorized) = egress.authorize(
            request(
                &format!("{api}/2010-04-01/Accounts/{SID}.json"),
                Some("default"),
            ),
            Some(options),
        ) else {
            panic!("allowed")
        };
        let limit = Limits::default().http_timeout;
        assert_eq!(authorized.options.connect_timeout, Some(limit));
        assert_eq!(authorized.options.first_byte_timeout, Some(limit));
        assert_eq!(
            authorized.options.between_bytes_timeout,
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
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
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
        let shared = EgressClient::new();
        for _ in 0..3 {
            // A new run: a new policy, the host's client.
            let mut egress = Egress::new(tenant(&api), shared.clone());
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
        let mut egress = Egress::new(tenant("https://api.twilio.com"), EgressClient::new());
        let guest = request(
            &format!("http://127.0.0.1:{port}/2010-04-01/Accounts/{SID}.json"),
            Some("default"),
        );
        let response =
            Box::into_pin(egress.send_request(guest, None, Box::new(async { Ok(()) }))).await;
        assert!(matches!(response, Err(HttpError::HttpRequestDenied)));
        assert_eq!(
            listener.accept().map_err(|e| e.kind()).err(),
            Some(std::io::ErrorKind::WouldBlock),
            "no connection was made"
        );
    }
}
