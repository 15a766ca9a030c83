//! Choosing where accounts come from: `--config`, else the standard TWILIO_* variables, else the
//! built-in simulator (said in one line on stderr).

use twilio_host::{ConfigError, HostConfig, ProcessEnv, simulated};

use super::{ConfigArgs, EXIT_USAGE};

/// The configuration to run with, and the simulator serving it when there is one (kept alive
/// for as long as the value lives).
pub struct Setup {
    /// The tenants and accounts.
    pub config: HostConfig,
    /// The in-process simulator, when no real credentials were configured.
    pub simulator: Option<twilio_sim::Simulator>,
}

/// Resolves the configuration, or prints why it cannot and returns the exit code.
pub async fn resolve(args: &ConfigArgs) -> Result<Setup, u8> {
    let configured = match &args.config {
        Some(path) => Some(HostConfig::load(path, &ProcessEnv)),
        None => HostConfig::from_twilio_env(&ProcessEnv),
    };
    match configured {
        Some(Ok(config)) => Ok(Setup {
            config,
            simulator: None,
        }),
        Some(Err(errors)) => {
            report_config_errors(&errors);
            Err(EXIT_USAGE)
        }
        None => match simulated::start().await {
            Ok((config, simulator)) => {
                eprintln!(
                    "twilio-host: no Twilio credentials configured; using the built-in simulator at {} \
                     (set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or pass --config, to use real Twilio)",
                    simulator.api_url()
                );
                Ok(Setup {
                    config,
                    simulator: Some(simulator),
                })
            }
            Err(error) => {
                eprintln!("twilio-host: cannot start the built-in simulator: {error:#}");
                Err(EXIT_USAGE)
            }
        },
    }
}

/// Prints each configuration problem on its own line.
pub fn report_config_errors(errors: &[ConfigError]) {
    for error in errors {
        eprintln!("twilio-host: config error: {error}");
    }
}
