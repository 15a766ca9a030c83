//! The one error type of the command line, and the exit status each kind maps to.

use twilio_host::ConfigErrors;

/// Exit status for a script that failed.
const EXIT_SCRIPT_FAILED: u8 = 1;
/// Exit status for a usage or configuration error.
const EXIT_USAGE: u8 = 2;
/// Exit status for a failure of the host itself or of the machine (the plugin cannot be
/// compiled, an address cannot be bound, the server failed).
const EXIT_HOST_FAILURE: u8 = 3;

/// Why a subcommand did not succeed. Its message is printed once, on stderr, by `main`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The script failed; the description (kind, message, Twilio code, traceback) is the text.
    #[error("{0}")]
    ScriptFailed(String),
    /// Bad arguments, an unreadable input, an unknown tenant or function.
    #[error("twilio-host: {0}")]
    Usage(String),
    /// The configuration has problems, each naming the file, the key and the fix.
    #[error("{}", config_lines(.0))]
    Config(ConfigErrors),
    /// The host or the machine failed, not the user's input.
    #[error("twilio-host: {0}")]
    Host(String),
}

impl CliError {
    /// A host failure from any error, with its causes.
    pub fn host(context: &str, error: impl std::fmt::Display) -> CliError {
        CliError::Host(format!("{context}: {error:#}"))
    }

    /// The process exit status: 1 script failed, 2 usage or configuration, 3 host failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::ScriptFailed(_) => EXIT_SCRIPT_FAILED,
            CliError::Usage(_) | CliError::Config(_) => EXIT_USAGE,
            CliError::Host(_) => EXIT_HOST_FAILURE,
        }
    }
}

impl From<ConfigErrors> for CliError {
    fn from(errors: ConfigErrors) -> CliError {
        CliError::Config(errors)
    }
}

impl From<twilio_host::HostError> for CliError {
    fn from(error: twilio_host::HostError) -> CliError {
        CliError::Usage(error.to_string())
    }
}

fn config_lines(errors: &ConfigErrors) -> String {
    errors
        .iter()
        .map(|error| format!("twilio-host: config error: {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_documented_exit_status() {
        assert_eq!(CliError::ScriptFailed(String::new()).exit_code(), 1);
        assert_eq!(CliError::Usage(String::new()).exit_code(), 2);
        assert_eq!(CliError::Config(ConfigErrors(Vec::new())).exit_code(), 2);
        assert_eq!(CliError::host("binding", "in use").exit_code(), 3);
    }
}
