//! Embedding `twilio-host` in a platform: build one `Host`, then run agent scripts for tenants.
//!
//! This example starts the built-in simulator and configures two tenants against it, so it runs
//! anywhere: `cargo run -p twilio-host --example embed`. In production, build the configuration
//! with `HostConfig::load(path, &ProcessEnv)` instead.

use twilio_host::simulated::tenant_for;
use twilio_host::{Host, HostConfig, HostOptions, Limits};
use twilio_sim::{SimAccount, SimConfig, Simulator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let acme_account = SimAccount::test_default();
    let globex_account = SimAccount::new("globex");
    let simulator = Simulator::start(SimConfig {
        accounts: vec![acme_account.clone(), globex_account.clone()],
        ..SimConfig::default()
    })
    .await?;

    // Each tenant has its own accounts and limits; scripts of one never see the other's.
    let tenants = [
        tenant_for(
            &simulator,
            "acme",
            &[acme_account],
            &["default"],
            Limits::default(),
        ),
        tenant_for(
            &simulator,
            "globex",
            &[globex_account],
            &["default"],
            Limits::default(),
        ),
    ];
    let config = HostConfig::of(tenants);
    let host = Host::new(config, HostOptions::default())?;

    let script = r#"
        local sent = app.integrations.twilio.twilio_send_sms({
            to = "+15551234567", from = "+15559876543", body = "Your order shipped",
        })
        print("sent " .. sent.sid)
        return { sid = sent.sid, status = sent.status }
    "#;
    // Runs are independent and may run concurrently; here, one per tenant.
    let (acme, globex) = tokio::join!(host.run("acme", script), host.run("globex", script));
    for (tenant, report) in [("acme", acme?), ("globex", globex?)] {
        print!("[{tenant}] {}", report.printed);
        match report.outcome {
            Ok(value) => println!(
                "[{tenant}] returned {value} after {} request(s)",
                report.requests
            ),
            Err(error) => println!("[{tenant}] failed ({:?}): {}", error.kind, error.message),
        }
    }
    simulator.shutdown().await;
    Ok(())
}
