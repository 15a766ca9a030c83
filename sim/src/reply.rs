//! Responses: a status, headers and a body that can pause or break off (for fault injection).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

/// One step of a response body.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Send these bytes.
    Data(Bytes),
    /// Send nothing for this long.
    Pause(Duration),
    /// Fail the body, which makes hyper drop the connection mid-response.
    Abort,
}

/// The error a body yields when it is told to [`Chunk::Abort`].
#[derive(Debug)]
pub(crate) struct BodyAborted;

impl std::fmt::Display for BodyAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response body aborted by fault injection")
    }
}

impl std::error::Error for BodyAborted {}

/// A response body made of [`Chunk`]s.
pub(crate) struct SimBody {
    chunks: VecDeque<Chunk>,
    sleep: Option<Pin<Box<Sleep>>>,
    exact_len: Option<u64>,
}

impl SimBody {
    /// A body of exactly these bytes.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        SimBody {
            exact_len: Some(bytes.len() as u64),
            chunks: VecDeque::from([Chunk::Data(bytes)]),
            sleep: None,
        }
    }

    /// A body played out step by step; its length is not announced by the body itself.
    pub(crate) fn steps(chunks: Vec<Chunk>) -> Self {
        SimBody {
            chunks: chunks.into(),
            sleep: None,
            exact_len: None,
        }
    }

    /// The bytes of a [`SimBody::full`] body (`None` for stepped bodies).
    pub(crate) fn full_bytes(&self) -> Option<Bytes> {
        match (self.exact_len, self.chunks.front()) {
            (Some(0), _) => Some(Bytes::new()),
            (Some(_), Some(Chunk::Data(bytes))) => Some(bytes.clone()),
            _ => None,
        }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = BodyAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyAborted>>> {
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
            }
            return match self.chunks.pop_front() {
                None => Poll::Ready(None),
                Some(Chunk::Data(bytes)) if bytes.is_empty() => continue,
                Some(Chunk::Data(bytes)) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                Some(Chunk::Pause(duration)) => {
                    self.sleep = Some(Box::pin(tokio::time::sleep(duration)));
                    continue;
                }
                Some(Chunk::Abort) => Poll::Ready(Some(Err(BodyAborted))),
            };
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.sleep.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.exact_len
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// A complete answer to one request.
pub(crate) struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Extra headers (Content-Type included).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: SimBody,
}

impl Reply {
    /// A JSON body with `Content-Type: application/json`.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Reply::raw(status, "application/json", value.to_string())
    }

    /// An empty body (e.g. 204).
    pub(crate) fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: SimBody::full(Bytes::new()),
        }
    }

    /// `body` with the given content type.
    pub(crate) fn raw(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Reply {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: SimBody::full(body),
        }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Converts into a hyper response. Statuses outside 200..=999 become 500; invalid header
    /// values are dropped.
    pub(crate) fn into_response(self) -> Response<SimBody> {
        let has_body = self.status != 204;
        let mut response = Response::new(self.body);
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .ok()
            .filter(|status| !status.is_informational())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        if !headers.contains_key(header::CONTENT_TYPE) && has_body {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        }
        response
    }
}
