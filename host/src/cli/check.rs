//! `twilio-host check`: validate a configuration and describe it without revealing a secret.

use super::setup::{self, Loaded};
use super::{CliError, ConfigArgs};
use twilio_host::config::Rules;
use twilio_host::engine::PoolSize;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Validates and lists tenants and accounts; every problem is a [`CliError::Config`].
pub fn check(args: CheckArgs) -> Result<(), CliError> {
    let Some(Loaded { source, result }) = setup::load(&args.config) else {
        println!(
            "No --config and no TWILIO_ACCOUNT_SID: `twilio-host run` would use the built-in simulator."
        );
        println!("policy (the default):");
        print_indented(&Rules::default().to_string(), "  ");
        return Ok(());
    };
    let config = result?;
    println!("{source}: OK");
    for tenant in config.tenants.values() {
        let limits = tenant.limits;
        println!(
            "tenant {}: memory {} MiB, cpu {} ms, wall {} ms, {} requests per run{}",
            tenant.name,
            limits.memory_bytes >> 20,
            limits.cpu.as_millis(),
            limits.wall.as_millis(),
            limits.max_requests,
            if tenant.api_token_sha256.is_some() {
                ", sidecar token set"
            } else {
                ""
            }
        );
        let shared = tenant
            .accounts
            .windows(2)
            .all(|pair| pair[0].rules == pair[1].rules);
        for account in &tenant.accounts {
            println!(
                "  account {}: {} via {} ({})",
                account.name,
                account.account_sid,
                account.credential.describe(),
                account.api_base_url
            );
            if !shared {
                println!("    policy:");
                print_indented(&account.rules.to_string(), "      ");
            }
        }
        if shared && let Some(account) = tenant.accounts.first() {
            println!("  policy:");
            print_indented(&account.rules.to_string(), "    ");
        }
        let approval = &tenant.approval;
        if !approval.approval.is_empty() {
            println!(
                "  approval: {} (plans expire after {} min)",
                approval.approval.join(", "),
                approval.plan_expiry.as_secs() / 60
            );
        }
        let quotas = tenant.quotas.set();
        if quotas.is_empty() {
            println!("  quotas: none");
        } else {
            println!("  quotas:");
            for (name, limit) in quotas {
                println!("    {name} = {limit}");
            }
        }
    }
    println!(
        "quota counts and audit trail: {} (records kept {} days, destinations {})",
        config.state,
        config.audit.retention.as_secs() / 86_400,
        if config.audit.full_destinations {
            "in full"
        } else {
            "masked"
        }
    );
    print_server(&config);
    Ok(())
}

/// The `[server]` settings as `serve` would use them, with what its pool may keep resident.
fn print_server(config: &twilio_host::HostConfig) {
    let server = &config.server;
    let pool = PoolSize::for_config(config, server.max_concurrent_runs);
    println!(
        "server: {} runs at once, guest memory budget {} MiB, idle run slots keep at most {} MiB after bursts",
        server.max_concurrent_runs,
        server.memory_budget >> 20,
        pool.retained_bytes_after(server.max_concurrent_runs) >> 20,
    );
    println!(
        "  connections: {} at once; head {} ms, body {} ms, shutdown {} ms",
        server.max_connections,
        server.header_read_timeout.as_millis(),
        server.body_read_timeout.as_millis(),
        server.shutdown_timeout.as_millis(),
    );
}

fn print_indented(text: &str, indent: &str) {
    for line in text.lines() {
        println!("{indent}{line}");
    }
}
