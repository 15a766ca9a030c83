//! The HTTP(S) transport behind the egress policy: HTTP/1.1 with a keep-alive connection pool
//! (connections are keyed by scheme, host and port; credentials travel per request, so a pooled
//! connection carries nothing of the run that opened it), rustls with the webpki roots, no
//! redirects (the client never follows one), and a capped, timed read of each response.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The timeout used when none is given (wasmtime-wasi-http's default).
const MAX_TIMEOUT: Duration = Duration::from_secs(600);

type HttpsConnector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A pooled client whose connector gives up connecting (TCP and TLS) after one fixed timeout.
/// Clones share the pool; a host keeps one per distinct tenant `http_timeout`.
#[derive(Clone)]
pub struct EgressClient {
    client: Client<HttpsConnector, WasiBody>,
}

impl EgressClient {
    /// A client with an empty pool that connects within `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> EgressClient {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        // ring, named here rather than left to rustls' process default, which is ambiguous
        // when another crate in the build turns on a second provider.
        let ring = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(ring)
            .with_safe_default_protocol_versions()
            .expect("ring supports rustls' default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(https);
        EgressClient { client }
    }

    /// Sends `request` (absolute URI) and reads the whole response within `total` (a body that
    /// trickles in cannot hold a run longer: [`HttpError::HttpResponseTimeout`]), and within
    /// `options`: the head within the connect and first-byte timeouts together, each body frame
    /// within the between-bytes timeout, and at most `max_body` bytes (a larger
    /// `Content-Length` is refused before reading; its connection is closed, never pooled).
    pub async fn exchange(
        &self,
        request: Request<WasiBody>,
        options: &RequestOptions,
        max_body: u64,
        total: Duration,
    ) -> Result<Response<Bytes>, HttpError> {
        tokio::time::timeout(total, self.exchange_untimed(request, options, max_body))
            .await
            .unwrap_or(Err(HttpError::HttpResponseTimeout))
    }

    /// [`EgressClient::exchange`] without its total deadline.
    async fn exchange_untimed(
        &self,
        request: Request<WasiBody>,
        options: &RequestOptions,
        max_body: u64,
    ) -> Result<Response<Bytes>, HttpError> {
        let head_timeout = options
            .connect_timeout
            .unwrap_or(MAX_TIMEOUT)
            .saturating_add(options.first_byte_timeout.unwrap_or(MAX_TIMEOUT));
        let response = match tokio::time::timeout(head_timeout, self.client.request(request)).await
        {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => return Err(client_error(&error)),
            Err(_elapsed) => return Err(HttpError::ConnectionReadTimeout),
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > max_body) {
            return Err(HttpError::HttpResponseBodySize(Some(max_body)));
        }
        let (parts, body) = response.into_parts();
        let between_bytes = options.between_bytes_timeout.unwrap_or(MAX_TIMEOUT);
        let bytes = read_body(body, max_body, between_bytes).await?;
        Ok(Response::from_parts(parts, bytes))
    }
}

/// The error wasmtime-wasi-http's own client reports for the same failure, so the guest sees
/// the same codes: a connect timeout, a TLS failure, a refused or unresolvable destination, or
/// a protocol error (reset, malformed response).
fn client_error(error: &hyper_util::client::legacy::Error) -> HttpError {
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            let copy = std::io::Error::new(io.kind(), io.to_string());
            if io.kind() == std::io::ErrorKind::TimedOut && error.is_connect() {
                return HttpError::ConnectionTimeout;
            }
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
