//! The load and soak test as a program (see `twilio_e2e::load`): `scripts/load.sh` runs it.
//!
//! Options (all optional; `--help` lists them): `--runs N` (10000), `--tenants N` (50),
//! `--concurrency N` (16), `--faults PERCENT` (25), `--seed N` (7). Exits with status 1 if any message was duplicated,
//! lost or created despite a reported failure, if a tenant saw another's data, if RSS kept
//! growing after warm-up, or if the pool's idle slots keep more than its settings allow.

use std::process::ExitCode;

use twilio_e2e::load::{self, LoadConfig, RSS_GROWTH_ALLOWED_KIB};

/// The load and soak test (defaults: the soak test's).
#[derive(Debug, clap::Parser)]
#[command(name = "load")]
struct Args {
    /// Runs in all.
    #[arg(long, default_value_t = LoadConfig::soak().runs)]
    runs: usize,
    /// Tenants, each with its own simulator account.
    #[arg(long, default_value_t = LoadConfig::soak().tenants, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    tenants: usize,
    /// Runs in flight at once.
    #[arg(long, default_value_t = LoadConfig::soak().concurrency, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    concurrency: usize,
    /// Percentage of runs preceded by an injected fault.
    #[arg(long, default_value_t = LoadConfig::soak().fault_percent, value_parser = clap::value_parser!(u64).range(0..=100))]
    faults: u64,
    /// Seed of the workload's choices.
    #[arg(long, default_value_t = LoadConfig::soak().seed)]
    seed: u64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let config = LoadConfig {
        runs: args.runs,
        tenants: args.tenants,
        concurrency: args.concurrency,
        fault_percent: args.faults,
        seed: args.seed,
    };
    println!("{config:?}");
    let report = load::run(config).await;
    println!("{report}");
    let consistent = report.consistent();
    let flat = report.memory_flat();
    println!(
        "consistent (no duplicate, loss, phantom or foreign data): {}",
        if consistent { "yes" } else { "NO" }
    );
    println!(
        "memory bounded (RSS grew {} KiB after warm-up, {} allowed; idle pool slots keep {} KiB, {} allowed): {}",
        report.rss_end_kib.saturating_sub(report.rss_warm_kib),
        RSS_GROWTH_ALLOWED_KIB,
        report.pool_retained_kib,
        report.pool_retained_bound_kib,
        if flat { "yes" } else { "NO" }
    );
    if consistent && flat {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
