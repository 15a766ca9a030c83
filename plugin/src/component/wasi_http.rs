//! [`Transport`] over `wasi:http/outgoing-handler`, the plugin's only way out.

use super::twilio::lua::egress::Denial;
use super::wasi::http::outgoing_handler;
use super::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest, Scheme,
};
use super::wasi::io::streams::StreamError;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// The request header that names the account a request is for. The host replaces it with
/// `Authorization` and never forwards it.
const ACCOUNT_HEADER: &str = "x-twilio-account";

/// Bytes written to an output stream per call (the stream accepts at most 4096 at once).
const WRITE_CHUNK: usize = 4096;

/// Bytes asked for per read of the response body.
const READ_CHUNK: u64 = 64 * 1024;

/// The transport of the component.
pub struct WasiHttp;

impl Transport for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let outgoing = build_request(request)?;
        let body = outgoing
            .body()
            .map_err(|()| TransportError::Other("request body already taken".into()))?;
        let pending = outgoing_handler::handle(outgoing, None).map_err(map_error)?;
        let sent = match write_body(&body, request.body.as_deref().unwrap_or_default()) {
            Ok(()) => OutgoingBody::finish(body, None).map_err(map_error),
            Err(error) => {
                drop(body);
                Err(error)
            }
        };
        pending.subscribe().block();
        let outcome = pending.get();
        if let Err(body_error) = sent {
            // A host that refuses a request (its budget, its policy) may stop reading the body
            // first, so the write fails; the refusal is the real reason.
            return Err(match outcome {
                Some(Ok(Err(code))) => map_error(code),
                _ => body_error,
            });
        }
        let response = outcome
            .ok_or_else(|| TransportError::Other("response not ready".into()))?
            .map_err(|()| TransportError::Other("response already taken".into()))?
            .map_err(map_error)?;
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| TransportError::Other("response body already taken".into()))?;
        let body = read_body(incoming)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn build_request(request: &HttpRequest) -> Result<OutgoingRequest, TransportError> {
    let url = ParsedUrl::parse(&request.url)?;
    let headers = Fields::new();
    let mut all: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push((ACCOUNT_HEADER, &request.account));
    for (name, value) in all {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| TransportError::Other(format!("header {name}: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Delete => WasiMethod::Delete,
    };
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let invalid = |what: &str| TransportError::Other(format!("invalid {what} in {}", request.url));
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("scheme"))?;
    outgoing
        .set_authority(Some(url.authority))
        .map_err(|()| invalid("host"))?;
    outgoing
        .set_path_with_query(Some(url.path_and_query))
        .map_err(|()| invalid("path"))?;
    Ok(outgoing)
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let stream = body
        .write()
        .map_err(|()| TransportError::Other("request body stream already taken".into()))?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| stream_error("sending the request body", e))?;
    }
    Ok(())
}

fn read_body(incoming: IncomingBody) -> Result<Vec<u8>, TransportError> {
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|()| TransportError::Other("response body stream already taken".into()))?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(bytes) => body.extend_from_slice(&bytes),
                Err(StreamError::Closed) => break,
                Err(e) => return Err(stream_error("reading the response body", e)),
            }
        }
    }
    let trailers = IncomingBody::finish(incoming);
    trailers.subscribe().block();
    if let Some(Ok(Err(code))) = trailers.get() {
        return Err(map_error(code));
    }
    Ok(body)
}

fn stream_error(doing: &str, error: StreamError) -> TransportError {
    match error {
        StreamError::LastOperationFailed(e) => {
            let detail = e.to_debug_string();
            match super::wasi::http::types::http_error_code(&e) {
                Some(code) => map_error(code),
                None => TransportError::Connection(format!("{doing}: {detail}")),
            }
        }
        StreamError::Closed => TransportError::Connection(format!("{doing}: stream closed")),
    }
}

fn map_error(code: ErrorCode) -> TransportError {
    match code {
        ErrorCode::HttpRequestDenied => match super::twilio::lua::egress::last_denial() {
            Some(Denial {
                rule: Some(rule),
                field,
                message,
            }) => TransportError::Policy {
                rule,
                field,
                message,
            },
            Some(denial) => TransportError::Denied(denial.message),
            None => TransportError::Denied(
                "the destination is not one the tenant's egress policy allows".into(),
            ),
        },
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => TransportError::Timeout(format!("{code:?}")),
        ErrorCode::HttpResponseBodySize(limit) => TransportError::TooLarge(match limit {
            Some(bytes) => format!("more than {bytes} bytes"),
            None => "over the host's limit".into(),
        }),
        ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        // What a reset connection or a response cut off part-way surfaces as.
        | ErrorCode::HttpProtocolError
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => TransportError::Connection(format!("{code:?}")),
        ErrorCode::ConnectionLimitReached => {
            TransportError::Limit("this run has used up its budget of outbound requests".into())
        }
        ErrorCode::InternalError(Some(message)) => TransportError::Other(message),
        other => TransportError::Other(format!("{other:?}")),
    }
}

/// The parts of an absolute `http(s)://authority/path?query` URL that wasi:http wants.
struct ParsedUrl<'a> {
    https: bool,
    authority: &'a str,
    path_and_query: &'a str,
}

impl<'a> ParsedUrl<'a> {
    fn parse(url: &'a str) -> Result<ParsedUrl<'a>, TransportError> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(TransportError::Other(format!("not an http(s) URL: {url}")));
        };
        let split = rest.find('/').unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(split);
        if authority.is_empty() {
            return Err(TransportError::Other(format!("no host in {url}")));
        }
        Ok(ParsedUrl {
            https,
            authority,
            path_and_query: if path_and_query.is_empty() {
                "/"
            } else {
                path_and_query
            },
        })
    }
}
