//! `twilio-host check`: validate a configuration and describe it without revealing a secret.

use super::setup::{self, Loaded, report_config_errors};
use super::{ConfigArgs, EXIT_USAGE};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Validates and lists tenants and accounts; exit 2 when anything is wrong.
pub fn check(args: CheckArgs) -> u8 {
    let Some(Loaded { source, result }) = setup::load(&args.config) else {
        println!(
            "No --config and no TWILIO_ACCOUNT_SID: `twilio-host run` would use the built-in simulator."
        );
        return 0;
    };
    match result {
        Ok(config) => {
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
            0
        }
        Err(errors) => {
            report_config_errors(&errors);
            EXIT_USAGE
        }
    }
}
