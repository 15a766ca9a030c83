//! A simulator with a state file: two simulators sharing it see one account, a restart keeps
//! everything, new SIDs never repeat those of an earlier state, and deleting the file starts
//! afresh.

mod common;

use std::path::Path;

use common::{base, get, post};
use twilio_sim::{SimConfig, Simulator};

async fn start(state_file: &Path) -> Simulator {
    Simulator::start(SimConfig {
        state_file: Some(state_file.to_owned()),
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts")
}

/// Sends one SMS and returns its SID.
async fn send(sim: &Simulator, body: &str) -> String {
    let path = format!("{}/Messages.json", base(sim));
    let form = [
        ("From", "+15559876543"),
        ("To", "+15551234567"),
        ("Body", body),
    ];
    let reply = post(sim, &path, &form).await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["sid"].as_str().expect("a sid").to_owned()
}

/// The bodies of the account's messages, newest first.
async fn bodies(sim: &Simulator) -> Vec<String> {
    let list = get(sim, &format!("{}/Messages.json?PageSize=100", base(sim))).await;
    list.json()["messages"]
        .as_array()
        .expect("a messages array")
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn simulators_sharing_a_state_file_serve_one_account() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/simulator.json");
    let first = start(&file).await;
    let second = start(&file).await;
    send(&first, "from the first").await;
    send(&second, "from the second").await;
    let seen_by_first = bodies(&first).await;
    assert_eq!(seen_by_first[..2], ["from the second", "from the first"]);
    assert_eq!(seen_by_first, bodies(&second).await);
    assert_eq!(
        first
            .state()
            .messages(&first.accounts()[0].account_sid)
            .len(),
        seen_by_first.len(),
        "the state handle reads the shared file too"
    );
}

#[tokio::test]
async fn a_restart_keeps_the_data_and_never_reuses_a_sid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("simulator.json");
    let in_memory = Simulator::start(SimConfig::default()).await.unwrap();
    let deterministic = send(&in_memory, "x").await;

    let sim = start(&file).await;
    let seeded = sim.state().seeded(&sim.accounts()[0].account_sid).unwrap();
    let first = send(&sim, "before the restart").await;
    assert_ne!(
        first, deterministic,
        "a kept state does not use the deterministic SIDs"
    );
    sim.shutdown().await;

    let sim = start(&file).await;
    assert_eq!(bodies(&sim).await[0], "before the restart");
    assert_eq!(
        sim.state().seeded(&sim.accounts()[0].account_sid),
        Some(seeded.clone())
    );
    let second = send(&sim, "after the restart").await;
    assert_ne!(second, first);

    std::fs::remove_file(&file).unwrap();
    let after_reset = bodies(&sim).await;
    assert!(
        !after_reset.iter().any(|b| b.contains("restart")),
        "a deleted file means a fresh state, also for a running simulator: {after_reset:?}"
    );
    let third = send(&sim, "after the reset").await;
    assert!(
        ![&deterministic, &first, &second].contains(&&third),
        "{third} was handed out before"
    );
    let reseeded = sim.state().seeded(&sim.accounts()[0].account_sid).unwrap();
    assert_ne!(
        reseeded.message_sids, seeded.message_sids,
        "a fresh state has fresh SIDs"
    );
}

#[tokio::test]
async fn a_damaged_state_file_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("simulator.json");
    std::fs::write(&file, "{not json").unwrap();
    let error = Simulator::start(SimConfig {
        state_file: Some(file.clone()),
        ..SimConfig::default()
    })
    .await
    .err()
    .expect("a damaged file is an error");
    let message = format!("{error:#}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("not a saved simulator state"), "{message}");
}
