//! Choosing where accounts come from: `--config`, else the standard TWILIO_* variables, else the
//! built-in simulator keeping its data in the state directory (said in one line on stderr; when
//! the directory is unusable, a simulator that keeps nothing, and the line says why).

use twilio_host::{ConfigErrors, Host, HostConfig, ProcessEnv, simulated};

use super::{CliError, ConfigArgs, one_run_options};

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

/// A host for one run (or one plan decision) of the configuration [`resolve`] finds, with
/// the simulator serving it when there is one (keep it alive as long as the host).
pub async fn one_run_host(
    args: &ConfigArgs,
) -> Result<(Host, Option<twilio_sim::Simulator>), CliError> {
    let Setup { config, simulator } = resolve(args).await?;
    let host = Host::new(config, one_run_options())
        .map_err(|error| CliError::host("cannot load the plugin", error))?;
    Ok((host, simulator))
}

/// Resolves the configuration: the file or the environment, else a simulator started here.
pub async fn resolve(args: &ConfigArgs) -> Result<Setup, CliError> {
    if let Some(loaded) = load(args) {
        return Ok(Setup {
            config: loaded.result?,
            simulator: None,
        });
    }
    let state_file = simulated::state_file(&ProcessEnv);
    let cannot_start = |error| CliError::host("cannot start the built-in simulator", error);
    let (config, simulator, kept) = match simulated::start(Some(&state_file)).await {
        Ok((config, simulator)) => {
            let kept = format!(
                "which keeps its data between runs in {} (`twilio-host sim --reset` clears it)",
                state_file.display()
            );
            (config, simulator, kept)
        }
        Err(error) => {
            let (config, simulator) = simulated::start(None).await.map_err(cannot_start)?;
            let kept = format!(
                "which keeps nothing after this run: {error:#} (`twilio-host sim --reset` deletes a damaged file)"
            );
            (config, simulator, kept)
        }
    };
    eprintln!(
        "twilio-host: no Twilio credentials configured; using the built-in simulator at {}, {kept}; \
         set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or pass --config, to use real Twilio",
        simulator.api_url()
    );
    Ok(Setup {
        config,
        simulator: Some(simulator),
    })
}
