//! `twilio-host check`: validate a configuration and describe it without revealing a secret.

use super::setup::{self, Loaded};
use super::{CliError, ConfigArgs};

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
        for account in &tenant.accounts {
            println!(
                "  account {}: {} via {} ({})",
                account.name,
                account.account_sid,
                account.credential.describe(),
                account.api_base_url
            );
        }
    }
    Ok(())
}
