//! The interfaces users touch besides the library: the sidecar (`twilio-host serve`, a child
//! process, as a platform runs it) answering `POST /v1/tenants/default/runs` with the SMS
//! script, and its `/mcp` endpoint answering `tools/call run_lua` with the same script, each
//! from keep-alive clients at concurrency 1 and 16.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use twilio_host::config::TokenHash;
use twilio_sim::{SimAccount, Simulator};

use crate::{Figures, Measured, Plan, SMS_SCRIPT, drive, keep_alive_client};

/// The tenant's bearer token (the bench's own; the config holds its hash).
const TOKEN: &str = "bench-sidecar-token-0123456789abcdef";

/// A keep-alive HTTP client.
type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A `twilio-host serve` child, killed on drop.
pub struct Sidecar {
    child: Child,
    base_url: String,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sidecar {
    /// Starts `host_bin serve` for tenant `default` on `account` of `sim`, with the compiled
    /// code from `cache`, and waits for its `listening on` line.
    pub fn start(
        host_bin: &Path,
        work: &Path,
        cache: &Path,
        sim: &Simulator,
        account: &SimAccount,
    ) -> anyhow::Result<Sidecar> {
        let config = work.join("sidecar.toml");
        std::fs::write(
            &config,
            format!(
                "[endpoints]\napi = \"{}\"\nlookups = \"{}\"\n\n\
                 [tenants.default]\napi_token_sha256 = \"{}\"\nlimits = {{ max_concurrent_runs = 64, max_queued_runs = 1000 }}\n\n\
                 [tenants.default.accounts.default]\naccount_sid = \"{}\"\nauth_token_env = \"BENCH_TWILIO_TOKEN\"\n",
                sim.api_url(),
                sim.lookups_url(),
                TokenHash::of(TOKEN),
                account.account_sid
            ),
        )?;
        let mut child = Command::new(host_bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env("TWILIO_HOST_CACHE_DIR", cache)
            .env("TWILIO_HOST_STATE_DIR", work.join("sidecar-state"))
            .env("BENCH_TWILIO_TOKEN", &account.auth_token)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting twilio-host serve")?;
        let mut first = String::new();
        let stdout = child.stdout.take().context("piped stdout")?;
        BufReader::new(stdout).read_line(&mut first)?;
        let Some(base_url) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("twilio-host serve did not start: {first:?}");
        };
        Ok(Sidecar {
            base_url: base_url.to_string(),
            child,
        })
    }
}

/// POSTs `body` to `url` with the tenant's token (and `session`, an MCP session id): the
/// status, the `mcp-session-id` answered, and the body.
async fn post(
    client: &HttpClient,
    url: &str,
    session: Option<&str>,
    body: &Value,
) -> anyhow::Result<(u16, Option<String>, Bytes)> {
    let mut request = http::Request::post(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let request = request.body(Full::new(Bytes::from(body.to_string())))?;
    let response = client.request(request).await?;
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, session, bytes))
}

/// `sidecar_p50_us_cN`, `sidecar_p99_us_cN`, `sidecar_rps_cN` for N = 1, 16.
pub async fn sidecar(
    sidecar: &Sidecar,
    plan: Plan,
    figures: &mut Figures,
) -> anyhow::Result<[Measured; 2]> {
    let url = format!("{}/v1/tenants/default/runs", sidecar.base_url);
    let body = json!({ "script": SMS_SCRIPT });
    let client = keep_alive_client();
    let run = move || {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        async move {
            let (status, _, answer) = post(&client, &url, None, &body).await?;
            let report: Value = serde_json::from_slice(&answer)?;
            ensure!(
                status == 200 && report["error"].is_null(),
                "sidecar run: {status} {report}"
            );
            Ok(())
        }
    };
    let mut measured = Vec::new();
    for (concurrency, per_task) in [(1, plan.sms_c1), (16, plan.sms_c16_per_task)] {
        let m = drive(concurrency, per_task, run.clone()).await?;
        figures.add(&format!("sidecar_p50_us_c{concurrency}"), m.p50, "us");
        figures.add(&format!("sidecar_p99_us_c{concurrency}"), m.p99, "us");
        figures.add(&format!("sidecar_rps_c{concurrency}"), m.rps, "req/s");
        measured.push(m);
    }
    Ok([measured[0], measured[1]])
}

/// An initialized MCP session on `url`: its id.
async fn mcp_session(client: &HttpClient, url: &str) -> anyhow::Result<String> {
    let initialize = json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "twilio-bench", "version": "1"}}
    });
    let (status, session, _) = post(client, url, None, &initialize).await?;
    let session = session.with_context(|| format!("no MCP session (HTTP {status})"))?;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _) = post(client, url, Some(&session), &initialized).await?;
    ensure!(status == 202, "notifications/initialized: HTTP {status}");
    Ok(session)
}

/// `mcp_p50_us_cN`, `mcp_rps_cN` for N = 1, 16: `tools/call run_lua` with the SMS script,
/// one MCP session per client task.
pub async fn mcp(sidecar: &Sidecar, plan: Plan, figures: &mut Figures) -> anyhow::Result<()> {
    let url = format!("{}/mcp", sidecar.base_url);
    let client = keep_alive_client();
    for (concurrency, per_task) in [(1, plan.sms_c1), (16, plan.sms_c16_per_task)] {
        let mut sessions = Vec::new();
        for _ in 0..concurrency {
            sessions.push(mcp_session(&client, &url).await?);
        }
        let sessions = std::sync::Arc::new(sessions);
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (client, url) = (client.clone(), url.clone());
        let call = move || {
            let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (client, url) = (client.clone(), url.clone());
            let session = sessions[index % sessions.len()].clone();
            async move {
                let request = json!({
                    "jsonrpc": "2.0", "id": index + 1, "method": "tools/call",
                    "params": {"name": "run_lua", "arguments": {"script": SMS_SCRIPT}}
                });
                let (status, _, answer) = post(&client, &url, Some(&session), &request).await?;
                let text = String::from_utf8_lossy(&answer);
                ensure!(
                    status == 200 && text.contains("\"isError\":false"),
                    "tools/call: HTTP {status} {text}"
                );
                Ok(())
            }
        };
        let m = drive(concurrency, per_task, call).await?;
        figures.add(&format!("mcp_p50_us_c{concurrency}"), m.p50, "us");
        figures.add(&format!("mcp_rps_c{concurrency}"), m.rps, "req/s");
    }
    Ok(())
}
