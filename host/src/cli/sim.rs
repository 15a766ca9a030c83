//! `twilio-host sim`: the Twilio simulator in the foreground, for scripts and other tools.

use std::net::SocketAddr;

use twilio_sim::{SimConfig, Simulator};

use super::EXIT_USAGE;

/// Arguments of `sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address of the core API listener; the Lookup listener takes the next port.
    #[arg(long, default_value = "127.0.0.1:4010")]
    pub listen: SocketAddr,
}

/// Runs until Ctrl-C.
pub async fn sim(args: SimArgs) -> u8 {
    let lookups_addr = SocketAddr::new(args.listen.ip(), args.listen.port().wrapping_add(1));
    let config = SimConfig {
        api_addr: args.listen,
        lookups_addr,
        ..SimConfig::default()
    };
    let simulator = match Simulator::start(config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            eprintln!("twilio-host: cannot start the simulator: {error:#}");
            return EXIT_USAGE;
        }
    };
    println!("Twilio simulator running (Ctrl-C stops it)");
    println!("  core API:   {}", simulator.api_url());
    println!("  Lookup API: {}", simulator.lookups_url());
    for account in simulator.accounts() {
        println!("  test account SID: {}", account.account_sid);
        println!(
            "  test auth token:  {} (a simulator credential, not a real secret)",
            account.auth_token
        );
    }
    println!(
        "Point a host config at it with [endpoints] api = \"{}\", lookups = \"{}\".",
        simulator.api_url(),
        simulator.lookups_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    simulator.shutdown().await;
    0
}
