//! `twilio-host sim`: the Twilio simulator in the foreground, for scripts and other tools.

use std::net::SocketAddr;

use twilio_host::{ProcessEnv, simulated};
use twilio_sim::{SimAccount, SimConfig, Simulator};

use super::{CliError, shutdown};

/// The environment variable examples/multi-account.toml reads the `default` account's auth
/// token from.
const DEFAULT_TOKEN_VAR: &str = "TWILIO_SIM_DEFAULT_AUTH_TOKEN";
/// The environment variable examples/multi-account.toml reads the `work` account's API key
/// secret from.
const WORK_SECRET_VAR: &str = "TWILIO_SIM_WORK_API_SECRET";

/// Arguments of `sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address of the core API listener; the Lookup listener takes the next port (with port 0,
    /// both take any free port).
    #[arg(long, default_value = "127.0.0.1:4010")]
    pub listen: SocketAddr,
    /// Instead of running a simulator: delete the data the built-in simulator of `run`, `serve`
    /// and `mcp` keeps between runs (messages sent, recordings deleted, ...), and exit. The next
    /// run starts from the seeded account again, with SIDs no earlier run was given.
    #[arg(long)]
    pub reset: bool,
}

/// The accounts the foreground simulator knows: the standard test account and `work`.
fn accounts() -> Vec<SimAccount> {
    vec![SimAccount::test_default(), SimAccount::new("work")]
}

/// Runs until Ctrl-C or SIGTERM (or, with `--reset`, clears the kept data).
pub async fn sim(args: SimArgs) -> Result<(), CliError> {
    if args.reset {
        return reset();
    }
    let lookups_port = match args.listen.port() {
        0 => 0,
        port => port.wrapping_add(1),
    };
    let config = SimConfig {
        accounts: accounts(),
        api_addr: args.listen,
        lookups_addr: SocketAddr::new(args.listen.ip(), lookups_port),
        state_file: None,
    };
    let simulator = Simulator::start(config)
        .await
        .map_err(|error| CliError::host("cannot start the simulator", error))?;
    print_banner(&simulator);
    shutdown::requested().await;
    simulator.shutdown().await;
    Ok(())
}

/// Deletes the built-in simulator's state file.
fn reset() -> Result<(), CliError> {
    let state_file = simulated::state_file(&ProcessEnv);
    match std::fs::remove_file(&state_file) {
        Ok(()) => println!(
            "deleted the built-in simulator's data ({})",
            state_file.display()
        ),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => println!(
            "the built-in simulator has no data to delete ({} does not exist)",
            state_file.display()
        ),
        Err(error) => {
            return Err(CliError::host(
                &format!("cannot delete {}", state_file.display()),
                error,
            ));
        }
    }
    Ok(())
}

fn print_banner(simulator: &Simulator) {
    println!("Twilio simulator running (Ctrl-C stops it)");
    println!("  core API:   {}", simulator.api_url());
    println!("  Lookup API: {}", simulator.lookups_url());
    for (name, account) in ["default", "work"].iter().zip(simulator.accounts()) {
        println!("  account {name}:");
        println!("    account SID: {}", account.account_sid);
        println!("    auth token:  {}", account.auth_token);
        for key in &account.api_keys {
            println!("    API key:     {} / secret {}", key.sid, key.secret);
        }
    }
    println!("These are simulator test credentials, not real secrets.");
    println!(
        "Point a host config at it with [endpoints] api = \"{}\", lookups = \"{}\".",
        simulator.api_url(),
        simulator.lookups_url()
    );
    let [default, work] = simulator.accounts() else {
        return;
    };
    println!("For examples/multi-account.toml:");
    println!("  export {DEFAULT_TOKEN_VAR}={}", default.auth_token);
    if let Some(key) = work.api_keys.first() {
        println!("  export {WORK_SECRET_VAR}={}", key.secret);
    }
}
