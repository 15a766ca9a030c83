//! `twilio-host docs`: the agent reference, whole or one function's section, as the plugin
//! component itself serves it.

use twilio_host::{Host, HostConfig};

use super::{CliError, one_run_options};

/// Arguments of `docs`.
#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// A function name, e.g. twilio_send_sms; without it the whole reference.
    pub function: Option<String>,
}

/// Prints the reference or a section.
pub async fn docs(args: DocsArgs) -> Result<(), CliError> {
    let host = Host::new(HostConfig::default(), one_run_options())
        .map_err(|error| CliError::host("cannot load the plugin", error))?;
    let text = host
        .reference(args.function.as_deref())
        .await
        .map_err(|error| CliError::host("the plugin could not serve the reference", error))?;
    match text {
        Some(text) => {
            print!("{text}");
            Ok(())
        }
        None => Err(CliError::Usage(format!(
            "no function named {:?} in the reference; run `twilio-host docs` for the list",
            args.function.unwrap_or_default()
        ))),
    }
}
