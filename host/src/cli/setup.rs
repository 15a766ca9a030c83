//! Choosing where accounts come from: `--config`, else the standard TWILIO_* variables, else the
//! built-in simulator (said in one line on stderr).

use twilio_host::{ConfigErrors, HostConfig, ProcessEnv, simulated};

use super::{CliError, ConfigArgs};

/// The configuration to run with, and the simulator serving it when there is one (kept alive
/// for as long as the value lives).
pub struct Setup {
    /// The tenants and accounts.
    pub config: HostConfig,
    /// The in-process simulator, when no real credentials were configured.
    pub simulator: Option<twilio_sim::Simulator>,
}

/// A configuration read from a file or the environment, with where it came from.
pub struct Loaded {
    /// For messages: the file, or "the TWILIO_* environment variables".
    pub source: String,
    /// The configuration, or every problem found.
    pub result: Result<HostConfig, ConfigErrors>,
}

/// Reads `--config` (or `TWILIO_HOST_CONFIG`), else the TWILIO_* variables; `None` when neither
/// is set.
pub fn load(args: &ConfigArgs) -> Option<Loaded> {
    match &args.config {
        Some(path) => Some(Loaded {
            source: path.display().to_string(),
            result: HostConfig::load(path, &ProcessEnv),
        }),
        None => HostConfig::from_twilio_env(&ProcessEnv).map(|result| Loaded {
            source: "the TWILIO_* environment variables".into(),
            result,
        }),
    }
}

/// Resolves the configuration: the file or the environment, else a simulator started here.
pub async fn resolve(args: &ConfigArgs) -> Result<Setup, CliError> {
    if let Some(loaded) = load(args) {
        return Ok(Setup {
            config: loaded.result?,
            simulator: None,
        });
    }
    let (config, simulator) = simulated::start()
        .await
        .map_err(|error| CliError::host("cannot start the built-in simulator", error))?;
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
