//! The load and soak test as a program (see `twilio_e2e::load`): `scripts/load.sh` runs it.
//!
//! Options (all optional): `--runs N` (10000), `--tenants N` (50), `--concurrency N` (16),
//! `--faults PERCENT` (25), `--seed N` (7). Exits with status 1 if any message was duplicated,
//! lost or created despite a reported failure, if a tenant saw another's data, or if RSS kept
//! growing after warm-up.

use std::process::ExitCode;

use twilio_e2e::load::{self, LoadConfig, RSS_GROWTH_ALLOWED_KIB};

fn parse(args: &[String]) -> Result<LoadConfig, String> {
    let mut config = LoadConfig::soak();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        let as_count = || usize::try_from(number).map_err(|e| e.to_string());
        match flag.as_str() {
            "--runs" => config.runs = as_count()?,
            "--tenants" => config.tenants = as_count()?.max(1),
            "--concurrency" => config.concurrency = as_count()?.max(1),
            "--faults" => config.fault_percent = number.min(100),
            "--seed" => config.seed = number,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(config) => config,
        Err(problem) => {
            eprintln!(
                "{problem}\nusage: load [--runs N] [--tenants N] [--concurrency N] [--faults PERCENT] [--seed N]"
            );
            return ExitCode::from(2);
        }
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
        "RSS flat after warm-up (grew {} KiB, {} allowed): {}",
        report.rss_end_kib.saturating_sub(report.rss_warm_kib),
        RSS_GROWTH_ALLOWED_KIB,
        if flat { "yes" } else { "NO" }
    );
    if consistent && flat {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
