//! `twilio-host docs`: the agent reference, whole or one function's section, as the plugin
//! component itself serves it.

use twilio_host::{Host, HostConfig};

use super::EXIT_USAGE;
use super::one_run_options;

/// Arguments of `docs`.
#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// A function name, e.g. twilio_send_sms; without it the whole reference.
    pub function: Option<String>,
}

/// Prints the reference or a section.
pub async fn docs(args: DocsArgs) -> u8 {
    let text = match Host::new(HostConfig::default(), one_run_options()) {
        Ok(host) => host.reference(args.function.as_deref()).await,
        Err(error) => Err(error),
    };
    match text {
        Ok(Some(text)) => {
            print!("{text}");
            0
        }
        Ok(None) => {
            let name = args.function.unwrap_or_default();
            eprintln!(
                "twilio-host: no function named {name:?} in the reference; run `twilio-host docs` for the list"
            );
            EXIT_USAGE
        }
        Err(error) => {
            eprintln!("twilio-host: {error:#}");
            EXIT_USAGE
        }
    }
}
