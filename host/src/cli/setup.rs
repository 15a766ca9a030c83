//! Choosing where accounts come from: `--config`, else the standard TWILIO_* variables, else the
//! built-in simulator (said in one line on stderr).

use twilio_host::{ConfigError, HostConfig, ProcessEnv, SecretSource, simulated};

use super::{ConfigArgs, EXIT_USAGE};

/// Environment variables that replace the Twilio base URLs of an environment-configured account
/// (tests, proxies), like `[endpoints]` in a config file.
const ENDPOINT_VARS: [&str; 2] = ["TWILIO_API_BASE_URL", "TWILIO_LOOKUPS_BASE_URL"];

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
    pub result: Result<HostConfig, Vec<ConfigError>>,
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
            result: result.and_then(|config| with_env_endpoints(config, &ProcessEnv)),
        }),
    }
}

/// Resolves the configuration, or prints why it cannot and returns the exit code.
pub async fn resolve(args: &ConfigArgs) -> Result<Setup, u8> {
    match load(args) {
        Some(Loaded {
            result: Ok(config), ..
        }) => Ok(Setup {
            config,
            simulator: None,
        }),
        Some(Loaded {
            result: Err(errors),
            ..
        }) => {
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

/// Applies `TWILIO_API_BASE_URL` and `TWILIO_LOOKUPS_BASE_URL` to every account.
fn with_env_endpoints(
    mut config: HostConfig,
    env: &dyn SecretSource,
) -> Result<HostConfig, Vec<ConfigError>> {
    let [api, lookups] = ENDPOINT_VARS.map(|var| env.var(var).map(|url| (var, url)));
    let mut errors = Vec::new();
    for (var, url) in api.iter().chain(lookups.iter()) {
        if !is_base_url(url) {
            errors.push(ConfigError {
                source_name: "environment".into(),
                key: var.to_string(),
                message: format!(
                    "{url:?} is not a base URL like \"https://api.twilio.com\" or \"http://127.0.0.1:4010\" (scheme and host, no path)"
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for account in config
        .tenants
        .values_mut()
        .flat_map(|t| t.accounts.iter_mut())
    {
        if let Some((_, url)) = &api {
            account.api_base_url = url.trim_end_matches('/').to_string();
        }
        if let Some((_, url)) = &lookups {
            account.lookups_base_url = url.trim_end_matches('/').to_string();
        }
    }
    Ok(config)
}

/// `http(s)://host[:port]`, optionally with a trailing slash, nothing else.
fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.map(|host| host.trim_end_matches('/'))
        .is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', '@']))
}

/// Prints each configuration problem on its own line.
pub fn report_config_errors(errors: &[ConfigError]) {
    for error in errors {
        eprintln!("twilio-host: config error: {error}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn env_config(vars: &HashMap<String, String>) -> Result<HostConfig, Vec<ConfigError>> {
        HostConfig::from_twilio_env(vars)
            .expect("TWILIO_ACCOUNT_SID is set")
            .and_then(|config| with_env_endpoints(config, vars))
    }

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    #[test]
    fn endpoint_variables_replace_the_base_urls() {
        let vars = env(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "t"),
            ("TWILIO_API_BASE_URL", "http://127.0.0.1:4010/"),
            ("TWILIO_LOOKUPS_BASE_URL", "http://127.0.0.1:4011"),
        ]);
        let config = env_config(&vars).unwrap();
        let account = &config.tenant("default").unwrap().accounts[0];
        assert_eq!(account.api_base_url, "http://127.0.0.1:4010");
        assert_eq!(account.lookups_base_url, "http://127.0.0.1:4011");
    }

    #[test]
    fn a_bad_endpoint_variable_is_named() {
        let vars = env(&[
            ("TWILIO_ACCOUNT_SID", SID),
            ("TWILIO_AUTH_TOKEN", "t"),
            ("TWILIO_API_BASE_URL", "127.0.0.1:4010/x"),
        ]);
        let errors = env_config(&vars).unwrap_err();
        assert_eq!(errors[0].key, "TWILIO_API_BASE_URL");
    }
}
