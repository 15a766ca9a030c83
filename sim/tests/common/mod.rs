//! A minimal HTTP/1.1 client for the integration tests (one connection per request).

#![allow(dead_code)]

use anyhow::Context;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use twilio_sim::{SimAccount, SimConfig, Simulator};

/// A response with its body collected.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The Content-Type header.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Basic credentials.
pub type Auth<'a> = Option<(&'a str, &'a str)>;

/// The default account's credentials.
pub fn creds(account: &SimAccount) -> Auth<'_> {
    Some((&account.account_sid, &account.auth_token))
}

/// Sends `method url` with an optional form or raw body.
pub async fn send_raw(
    method: &str,
    url: &str,
    auth: Auth<'_>,
    body: Vec<u8>,
) -> anyhow::Result<Resp> {
    let rest = url.strip_prefix("http://").context("http URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let stream = TcpStream::connect(authority).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", authority);
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        builder = builder.header("authorization", format!("Basic {token}"));
    }
    if !body.is_empty() {
        builder = builder.header("content-type", "application/x-www-form-urlencoded");
    }
    let response = sender
        .send_request(builder.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Resp {
        status,
        headers,
        body,
    })
}

/// Sends a request with a url-encoded form body (empty form: no body).
pub async fn send(
    method: &str,
    url: &str,
    auth: Auth<'_>,
    form: &[(&str, &str)],
) -> anyhow::Result<Resp> {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(form);
    let body = if form.is_empty() {
        Vec::new()
    } else {
        serializer.finish().into_bytes()
    };
    send_raw(method, url, auth, body).await
}

/// GET with the default account's credentials.
pub async fn get(sim: &Simulator, path: &str) -> Resp {
    let account = &sim.accounts()[0];
    send(
        "GET",
        &format!("{}{path}", sim.api_url()),
        creds(account),
        &[],
    )
    .await
    .expect("request")
}

/// POST a form with the default account's credentials.
pub async fn post(sim: &Simulator, path: &str, form: &[(&str, &str)]) -> Resp {
    let account = &sim.accounts()[0];
    send(
        "POST",
        &format!("{}{path}", sim.api_url()),
        creds(account),
        form,
    )
    .await
    .expect("request")
}

/// `/2010-04-01/Accounts/{sid}` of the default account.
pub fn base(sim: &Simulator) -> String {
    format!("/2010-04-01/Accounts/{}", sim.accounts()[0].account_sid)
}

/// Sends an unauthenticated admin request to `/__sim/{route}` with a raw body.
pub async fn admin(sim: &Simulator, method: &str, route: &str, body: &str) -> Resp {
    let url = format!("{}/__sim/{route}", sim.api_url());
    send_raw(method, &url, None, body.as_bytes().to_vec())
        .await
        .expect("admin request")
}

/// How many items a list response holds under `key`.
pub async fn list_len(sim: &Simulator, path: &str, key: &str) -> usize {
    let page = get(sim, path).await;
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    page.json()[key].as_array().expect("items").len()
}

/// A simulator with the default configuration.
pub async fn start() -> Simulator {
    Simulator::start(SimConfig::default())
        .await
        .expect("simulator starts")
}

/// Asserts a Twilio error body with `status` and `code`.
pub fn assert_error(resp: &Resp, status: u16, code: u64) {
    assert_eq!(
        resp.status,
        status,
        "body: {}",
        String::from_utf8_lossy(&resp.body)
    );
    let body = resp.json();
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status);
    assert_eq!(
        body["more_info"],
        format!("https://www.twilio.com/docs/errors/{code}")
    );
    assert!(body["message"].is_string());
    assert!(resp.content_type().starts_with("application/json"));
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    keys
}
