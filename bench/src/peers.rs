//! The peers: Twilio's own SDKs, twilio-node and twilio-python, sending the benchmark's
//! message to the same simulator (`bench/peers/send.cjs`, `bench/peers/send.py`), at
//! concurrency 1 and 16, each compared with the sidecar measured in the same run. They are
//! installed by `scripts/bench.sh` into `target/bench/peers`; a peer that is not there is
//! skipped with a note.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, ensure};
use serde_json::Value;
use twilio_sim::{SimAccount, Simulator};

use crate::{Figures, Measured, Plan};

/// One SDK: its name in the figures, the interpreter, the script, whether it is installed,
/// and how the interpreter finds it.
struct Peer {
    name: &'static str,
    program: &'static str,
    script: &'static str,
    installed: &'static str,
    path_variable: Option<(&'static str, &'static str)>,
}

const PEERS: [Peer; 2] = [
    Peer {
        name: "node",
        program: "node",
        script: "bench/peers/send.cjs",
        installed: "node/node_modules/twilio/package.json",
        path_variable: None,
    },
    Peer {
        name: "python",
        program: "python3",
        script: "bench/peers/send.py",
        installed: "python/twilio/__init__.py",
        path_variable: Some(("PYTHONPATH", "python")),
    },
];

/// `PEER_p50_us_cN`, `PEER_p99_us_cN`, `PEER_rps_cN`, and `sidecar_vs_PEER_cN` (the sidecar's
/// time per message over the peer's: p50 at c=1, inverse throughput at c=16; below 1 the
/// sidecar is faster) for each installed peer in `dir`.
pub fn peers(
    dir: &Path,
    sim: &Simulator,
    account: &SimAccount,
    plan: Plan,
    sidecar: [Measured; 2],
    figures: &mut Figures,
) -> anyhow::Result<()> {
    for peer in &PEERS {
        if !dir.join(peer.installed).exists() {
            eprintln!(
                "  {} skipped: not installed in {} (scripts/bench.sh installs it when {} is present)",
                peer.name,
                dir.display(),
                peer.program
            );
            continue;
        }
        for (index, (concurrency, count)) in [(1, plan.sms_c1), (16, 16 * plan.sms_c16_per_task)]
            .into_iter()
            .enumerate()
        {
            let mut command = Command::new(peer.program);
            command
                .arg(peer.script)
                .arg(dir)
                .env("BENCH_API_URL", sim.api_url())
                .env("BENCH_ACCOUNT_SID", &account.account_sid)
                .env("BENCH_AUTH_TOKEN", &account.auth_token)
                .env("BENCH_COUNT", count.to_string())
                .env("BENCH_CONCURRENCY", concurrency.to_string());
            if let Some((variable, sub)) = peer.path_variable {
                command.env(variable, dir.join(sub));
            }
            let output = command
                .output()
                .with_context(|| format!("running {}", peer.script))?;
            ensure!(
                output.status.success(),
                "{} failed: {}",
                peer.script,
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8_lossy(&output.stdout);
            let line = stdout.lines().last().unwrap_or_default();
            let result: Value = serde_json::from_str(line)
                .with_context(|| format!("{} printed {stdout:?}", peer.script))?;
            let number = |key: &str| result[key].as_f64().unwrap_or(f64::NAN);
            let (p50, rps) = (number("p50_us"), number("rps"));
            let name = peer.name;
            figures.add(&format!("{name}_p50_us_c{concurrency}"), p50, "us");
            figures.add(
                &format!("{name}_p99_us_c{concurrency}"),
                number("p99_us"),
                "us",
            );
            figures.add(&format!("{name}_rps_c{concurrency}"), rps, "req/s");
            let ours = sidecar[index];
            let ratio = if concurrency == 1 {
                ours.p50 / p50
            } else {
                rps / ours.rps
            };
            figures.add(&format!("sidecar_vs_{name}_c{concurrency}"), ratio, "x");
        }
    }
    Ok(())
}
