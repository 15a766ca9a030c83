//! A hostile guest for the host's tests: a component of the plugin's world with no Lua in it,
//! standing for a plugin an attacker has taken over. `run`'s script is JSON:
//! `{"requests": [...], "together": bool}`, each request a `method`, `url`, `headers` as
//! `[name, value]` pairs and a `body`. One by one, or with `together` all handed to
//! `wasi:http/outgoing-handler` first (in flight at once) and then waited for. It returns, per
//! request, `{"status": N}` or `{"error": "<error code>", "rule": ..., "message": ...}` from the
//! host's `last-denial` (read right after a one-by-one request's answer).

wit_bindgen::generate!({
    path: "../../wit",
    world: "plugin",
    generate_all,
});

use exports::twilio::lua::runner::{ErrorKind, Guest, RunError, RunOptions};
use serde_json::{Value, json};
use twilio::lua::egress::last_denial;
use wasi::http::outgoing_handler::{self, FutureIncomingResponse};
use wasi::http::types::{ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

struct Hostile;

impl Guest for Hostile {
    fn prepare() {}

    fn run(script: String, _options: RunOptions) -> Result<String, RunError> {
        let input: Value = serde_json::from_str(&script).map_err(|e| RunError {
            kind: ErrorKind::Syntax,
            message: e.to_string(),
            traceback: None,
            api_error: None,
            value_json: None,
        })?;
        let requests = input["requests"].as_array().cloned().unwrap_or_default();
        let outcomes: Vec<Value> = if input["together"] == true {
            let pending: Vec<_> = requests.iter().map(send).collect();
            pending.into_iter().map(outcome).collect()
        } else {
            requests
                .iter()
                .map(|request| outcome(send(request)))
                .collect()
        };
        Ok(Value::Array(outcomes).to_string())
    }

    fn reference(_function: Option<String>) -> Option<String> {
        None
    }
}

/// Hands one request to the host and writes its body.
fn send(request: &Value) -> Result<FutureIncomingResponse, ErrorCode> {
    let text = |key: &str| request[key].as_str().unwrap_or_default();
    let headers = Fields::new();
    for pair in request["headers"].as_array().into_iter().flatten() {
        let (name, value) = (
            pair[0].as_str().unwrap_or(""),
            pair[1].as_str().unwrap_or(""),
        );
        // A header the host forbids fails here, in the guest's own Fields; that is a refusal too.
        headers
            .append(name, value.as_bytes())
            .map_err(|e| ErrorCode::InternalError(Some(format!("header {name}: {e:?}"))))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match text("method") {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "DELETE" => Method::Delete,
        "PUT" => Method::Put,
        other => Method::Other(other.to_string()),
    };
    let url = text("url");
    let (scheme, rest) = match url.split_once("://") {
        Some(("https", rest)) => (Scheme::Https, rest),
        Some((_, rest)) => (Scheme::Http, rest),
        None => (Scheme::Http, url),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let refused = |what: &str| ErrorCode::InternalError(Some(format!("the guest's own {what}")));
    outgoing
        .set_method(&method)
        .map_err(|()| refused("method"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| refused("scheme"))?;
    outgoing
        .set_authority(Some(authority))
        .map_err(|()| refused("authority"))?;
    outgoing
        .set_path_with_query(Some(path))
        .map_err(|()| refused("path"))?;
    let body = outgoing.body().map_err(|()| refused("body"))?;
    let pending = outgoing_handler::handle(outgoing, None)?;
    let bytes = text("body").as_bytes();
    if let Ok(stream) = body.write() {
        for chunk in bytes.chunks(4096) {
            // The host may stop reading (a body over its cap); the answer says why.
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
    Ok(pending)
}

/// What became of one request.
fn outcome(pending: Result<FutureIncomingResponse, ErrorCode>) -> Value {
    let answer = pending.and_then(|pending| {
        pending.subscribe().block();
        match pending.get() {
            Some(Ok(result)) => result,
            _ => Err(ErrorCode::InternalError(Some("no response".into()))),
        }
    });
    match answer {
        Ok(response) => json!({ "status": response.status() }),
        Err(code) => {
            let denial = matches!(code, ErrorCode::HttpRequestDenied)
                .then(last_denial)
                .flatten();
            json!({
                "error": format!("{code:?}"),
                "rule": denial.as_ref().and_then(|d| d.rule.clone()),
                "message": denial.map(|d| d.message),
            })
        }
    }
}

export!(Hostile);
