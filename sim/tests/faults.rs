//! Fault injection: one test per fault kind, matching rules, and the admin endpoints.

mod common;

use std::time::Duration;

use common::*;
use twilio_sim::{Fault, FaultKind, Simulator};

const SMS: [(&str, &str); 3] = [
    ("To", "+15551234567"),
    ("From", "+15559876543"),
    ("Body", "hi"),
];

fn stored(sim: &Simulator) -> usize {
    sim.state().messages(&sim.accounts()[0].account_sid).len()
}

fn messages_path(sim: &Simulator) -> String {
    format!("{}/Messages.json", base(sim))
}

async fn try_post(sim: &Simulator) -> anyhow::Result<Resp> {
    let url = format!("{}{}", sim.api_url(), messages_path(sim));
    send("POST", &url, creds(&sim.accounts()[0]), &SMS).await
}

#[tokio::test]
async fn status_fault_with_retry_after_fires_once() {
    let sim = start().await;
    let body = r#"{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}"#;
    sim.inject(
        Fault::new(
            "/Messages.json",
            FaultKind::Status {
                status: 429,
                body: body.into(),
                retry_after: Some(2),
            },
        )
        .method("POST"),
    );
    let limited = try_post(&sim).await.unwrap();
    assert_eq!(limited.status, 429);
    assert_eq!(limited.headers["retry-after"], "2");
    assert_eq!(limited.body, body.as_bytes());
    assert_eq!(stored(&sim), 5, "not processed");
    assert_eq!(try_post(&sim).await.unwrap().status, 201);
    assert_eq!(
        sim.requests().iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 201]
    );
}

#[tokio::test]
async fn method_filter_and_times() {
    let sim = start().await;
    sim.inject(
        Fault::new("Messages", FaultKind::NonTwilioErrorBody { status: 503 })
            .method("GET")
            .times(2),
    );
    assert_eq!(try_post(&sim).await.unwrap().status, 201);
    let path = messages_path(&sim);
    assert_eq!(get(&sim, &path).await.status, 503);
    assert_eq!(get(&sim, &path).await.status, 503);
    assert_eq!(get(&sim, &path).await.status, 200);
}

#[tokio::test]
async fn reset_connection() {
    let sim = start().await;
    sim.inject(Fault::new("/Messages.json", FaultKind::ResetConnection));
    assert!(try_post(&sim).await.is_err());
    assert_eq!(stored(&sim), 5);
    assert_eq!(sim.requests()[0].status, 0);
    assert_eq!(try_post(&sim).await.unwrap().status, 201);
    assert_eq!(sim.connection_count(), 2);
}

#[tokio::test]
async fn stalls_still_answer() {
    let sim = start().await;
    sim.inject(Fault::new(
        "",
        FaultKind::StallBeforeResponse(Duration::from_millis(20)),
    ));
    assert_eq!(try_post(&sim).await.unwrap().status, 201);
    sim.inject(Fault::new(
        "",
        FaultKind::StallMidBody(Duration::from_millis(20)),
    ));
    let resp = try_post(&sim).await.unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.json()["status"], "queued");
    assert_eq!(stored(&sim), 7);
}

#[tokio::test]
async fn malformed_json() {
    let sim = start().await;
    sim.inject(Fault::new("", FaultKind::MalformedJson));
    let resp = try_post(&sim).await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(resp.content_type().starts_with("application/json"));
    assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());
}

#[tokio::test]
async fn truncated_body_after_processing() {
    let sim = start().await;
    sim.inject(Fault::new("", FaultKind::TruncatedBody));
    assert!(try_post(&sim).await.is_err(), "body cut short");
    assert_eq!(stored(&sim), 6, "processed");
}

#[tokio::test]
async fn huge_body() {
    let sim = start().await;
    sim.inject(Fault::new("", FaultKind::HugeBody { bytes: 3 << 20 }));
    let resp = try_post(&sim).await.unwrap();
    assert_eq!(resp.body.len(), 3 << 20);
}

#[tokio::test]
async fn wrong_content_type() {
    let sim = start().await;
    sim.inject(Fault::new("", FaultKind::WrongContentType));
    let resp = try_post(&sim).await.unwrap();
    assert_eq!(resp.status, 200);
    assert!(resp.content_type().starts_with("text/html"));
}

#[tokio::test]
async fn non_twilio_error_body() {
    let sim = start().await;
    sim.inject(Fault::new(
        "",
        FaultKind::NonTwilioErrorBody { status: 502 },
    ));
    let resp = try_post(&sim).await.unwrap();
    assert_eq!(resp.status, 502);
    assert!(serde_json::from_slice::<serde_json::Value>(&resp.body).is_err());
}

#[tokio::test]
async fn process_then_status() {
    let sim = start().await;
    sim.inject(Fault::new("", FaultKind::ProcessThenStatus { status: 500 }));
    let resp = try_post(&sim).await.unwrap();
    assert_error(&resp, 500, 20500);
    assert_eq!(stored(&sim), 6, "processed");
}

#[tokio::test]
async fn admin_endpoints() {
    let sim = start().await;
    let spec = r#"{"method":"POST","path_contains":"/Messages.json","kind":"status","status":503,"body":"{}"}"#;
    assert_eq!(admin(&sim, "POST", "faults", spec).await.status, 201);
    assert_eq!(try_post(&sim).await.unwrap().status, 503);
    for bad in [
        r#"{"kind":"explode"}"#,
        r#"{"kind":"status","status":5,"body":"{}"}"#,
        r#"{"kind":"stall_mid_body"}"#,
        r#"{"kind":"reset_connection","bogus":1}"#,
    ] {
        let answer = admin(&sim, "POST", "faults", bad).await;
        assert_error(&answer, 400, 20001);
    }
    let stall = r#"{"kind":"stall_before_response","ms":5}"#;
    assert_eq!(admin(&sim, "POST", "faults", stall).await.status, 201);
    assert_eq!(try_post(&sim).await.unwrap().status, 201);

    let requests = admin(&sim, "GET", "requests", "").await.json();
    let statuses: Vec<u64> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 201]);
    assert_eq!(admin(&sim, "DELETE", "requests", "").await.status, 204);
    assert!(sim.requests().is_empty());
    let accounts = admin(&sim, "GET", "accounts", "").await.json();
    assert_eq!(
        accounts[0]["account_sid"],
        sim.accounts()[0].account_sid.as_str()
    );
}
