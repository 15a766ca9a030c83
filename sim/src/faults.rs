//! Fault injection: what can go wrong, the queue of pending faults, and how each one is played.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::errors::{code_for_status, error_body, reason};
use crate::reply::{Chunk, Reply, SimBody};
use crate::request::SimRequest;

/// A fault to inject into matching requests.
///
/// Faults are tried in injection order; the first that matches a request answers it. Each fires
/// `times` times and is then removed. Requests answered by faults are still recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Only requests with this method (case-insensitive); `None` matches any method.
    pub method: Option<String>,
    /// Only requests whose target (path plus `?query`, as sent) contains this; `""` matches all.
    pub path_contains: String,
    /// How many matching requests the fault answers before it is removed.
    pub times: u32,
    /// What happens.
    pub kind: FaultKind,
}

/// What an injected fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer `status` with this raw body (`Content-Type: application/json`) and an optional
    /// `Retry-After` header, without performing the operation.
    Status {
        /// HTTP status.
        status: u16,
        /// The raw body, sent as is.
        body: String,
        /// Seconds for a `Retry-After` header.
        retry_after: Option<u32>,
    },
    /// Reset the TCP connection (RST) without answering; the operation is not performed.
    ResetConnection,
    /// Wait this long, then perform the operation and answer normally.
    StallBeforeResponse(Duration),
    /// Perform the operation, send the headers and half the body, wait this long, send the rest.
    StallMidBody(Duration),
    /// Perform the operation, send the headers, then the body one byte at a time with this
    /// pause before each byte (a slow or hostile upstream).
    TrickleBody(Duration),
    /// Answer 200 with `Content-Type: application/json` and a body that is not valid JSON;
    /// the operation is not performed.
    MalformedJson,
    /// Perform the operation, announce the full `Content-Length`, send half the body and close
    /// the connection.
    TruncatedBody,
    /// Answer 200 with a valid JSON object of `bytes` bytes (clamped to 14..=256 MiB); the
    /// operation is not performed.
    HugeBody {
        /// Body size in bytes.
        bytes: usize,
    },
    /// Answer 200 with `Content-Type: text/html` and an HTML page; the operation is not performed.
    WrongContentType,
    /// Answer `status` with an HTML error page from a "proxy" instead of a Twilio JSON error;
    /// the operation is not performed.
    NonTwilioErrorBody {
        /// HTTP status.
        status: u16,
    },
    /// Perform the operation (e.g. store the message), then answer `status` with a Twilio JSON
    /// error body, as if the real response had been lost.
    ProcessThenStatus {
        /// HTTP status.
        status: u16,
    },
}

impl Fault {
    /// A fault on requests whose target contains `path_contains`, any method, firing once.
    pub fn new(path_contains: impl Into<String>, kind: FaultKind) -> Self {
        Fault {
            method: None,
            path_contains: path_contains.into(),
            times: 1,
            kind,
        }
    }

    /// Restricts the fault to `method`.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Makes the fault fire `times` times.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, request: &SimRequest) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&request.method))
            && request.target().contains(&self.path_contains)
    }
}

/// Pending faults, in injection order.
#[derive(Default)]
pub(crate) struct FaultQueue(Mutex<Vec<Fault>>);

impl FaultQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Queues `fault` (one that fires zero times is dropped).
    pub(crate) fn push(&self, fault: Fault) {
        if fault.times > 0 {
            self.lock().push(fault);
        }
    }

    /// Removes every pending fault.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The first fault matching `request`, consuming one of its firings.
    pub(crate) fn take(&self, request: &SimRequest) -> Option<FaultKind> {
        let mut faults = self.lock();
        let index = faults.iter().position(|f| f.matches(request))?;
        let fault = &mut faults[index];
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            faults.remove(index);
        }
        Some(kind)
    }
}

/// How a request is finally answered.
pub(crate) enum Outcome {
    /// Send this reply.
    Reply(Reply),
    /// Reset the connection without a response.
    Reset,
}

const MALFORMED_JSON: &str =
    r#"{"sid": "SM00000000000000000000000000000000", "status": "queued", "body": "unterminated"#;
const HTML_PAGE: &str = "<!DOCTYPE html><html><head><title>Welcome</title></head><body><p>Please sign in to continue.</p></body></html>";

/// Plays `kind`; `process` performs the real operation and returns its reply.
pub(crate) async fn play(kind: FaultKind, process: impl FnOnce() -> Reply) -> Outcome {
    Outcome::Reply(match kind {
        FaultKind::Status {
            status,
            body,
            retry_after,
        } => {
            let reply = Reply::raw(status, "application/json", body);
            match retry_after {
                Some(secs) => reply.with_header("retry-after", secs.to_string()),
                None => reply,
            }
        }
        FaultKind::ResetConnection => return Outcome::Reset,
        FaultKind::StallBeforeResponse(delay) => {
            tokio::time::sleep(delay).await;
            process()
        }
        FaultKind::StallMidBody(delay) => split_body(process(), Chunk::Pause(delay), true),
        FaultKind::TrickleBody(pause) => trickle_body(process(), pause),
        FaultKind::TruncatedBody => split_body(process(), Chunk::Abort, false),
        FaultKind::MalformedJson => Reply::raw(200, "application/json", MALFORMED_JSON),
        FaultKind::HugeBody { bytes } => Reply::raw(200, "application/json", huge_json(bytes)),
        FaultKind::WrongContentType => Reply::raw(200, "text/html; charset=utf-8", HTML_PAGE),
        FaultKind::NonTwilioErrorBody { status } => {
            let title = format!("{status} {}", reason(status));
            let page = format!(
                "<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center><hr><center>nginx</center></body></html>"
            );
            Reply::raw(status, "text/html", page)
        }
        FaultKind::ProcessThenStatus { status } => {
            process();
            Reply::json(
                status,
                &error_body(status, code_for_status(status), reason(status)),
            )
        }
    })
}

/// Re-sends `reply`'s body as first half, `middle`, and (if `finish`) the second half, with the
/// full `Content-Length` announced up front.
fn split_body(reply: Reply, middle: Chunk, finish: bool) -> Reply {
    let bytes = reply.body.full_bytes().unwrap_or_default();
    // A truncated empty body still announces one byte, so that the cut is visible.
    let announced = if finish {
        bytes.len()
    } else {
        bytes.len().max(1)
    };
    let (head, tail) = (
        bytes.slice(..bytes.len() / 2),
        bytes.slice(bytes.len() / 2..),
    );
    let mut chunks = vec![Chunk::Data(head), middle];
    if finish {
        chunks.push(Chunk::Data(tail));
    }
    Reply {
        body: SimBody::steps(chunks),
        ..reply
    }
    .with_header("content-length", announced.to_string())
}

/// Re-sends `reply`'s body one byte at a time, each after `pause`, with the full
/// `Content-Length` announced up front.
fn trickle_body(reply: Reply, pause: Duration) -> Reply {
    let bytes = reply.body.full_bytes().unwrap_or_default();
    let chunks = (0..bytes.len())
        .flat_map(|at| [Chunk::Pause(pause), Chunk::Data(bytes.slice(at..at + 1))])
        .collect();
    Reply {
        body: SimBody::steps(chunks),
        ..reply
    }
    .with_header("content-length", bytes.len().to_string())
}

/// The largest body [`FaultKind::HugeBody`] sends (256 MiB).
const MAX_HUGE_BODY: usize = 256 << 20;

/// `{"padding":"xxxx…"}` of `bytes` bytes (at least 14, at most [`MAX_HUGE_BODY`]).
fn huge_json(bytes: usize) -> Bytes {
    const WRAPPER: usize = r#"{"padding":""}"#.len();
    const OPEN: &[u8] = br#"{"padding":""#;
    const CLOSE: &[u8] = br#""}"#;
    let len = bytes.clamp(WRAPPER, MAX_HUGE_BODY);
    // `vec![b; n]` fills with one memset, fast even unoptimised: building 50 MiB byte by byte
    // took long enough to trip a client's first-byte timeout before the body was even sent.
    let mut body = vec![b'x'; len];
    body[..OPEN.len()].copy_from_slice(OPEN);
    body[len - CLOSE.len()..].copy_from_slice(CLOSE);
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_json_is_valid_and_sized() {
        let body = huge_json(1000);
        assert_eq!(body.len(), 1000);
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
        assert!(serde_json::from_slice::<serde_json::Value>(&huge_json(0)).is_ok());
    }

    #[test]
    fn malformed_json_is_malformed() {
        assert!(serde_json::from_str::<serde_json::Value>(MALFORMED_JSON).is_err());
    }
}
