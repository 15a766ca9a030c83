//! `twilio-host docs`: the agent reference, whole or one function's section, as the plugin
//! component itself serves it. For an unknown name the plugin's own `help` says what was
//! probably meant, so the suggestion is the one a script gets.

use twilio_host::config::{Quotas, TenantConfig};
use twilio_host::{Host, HostConfig, Limits, help};

use super::{CliError, one_run_options};

/// The tenant `docs` asks the plugin's `help` as: no accounts, so nothing can be sent.
const READER: &str = "reader";

/// Arguments of `docs`.
#[derive(Debug, clap::Args)]
pub struct DocsArgs {
    /// A function name, e.g. twilio_send_sms; without it the whole reference.
    pub function: Option<String>,
}

/// Prints the reference or a section.
pub async fn docs(args: DocsArgs) -> Result<(), CliError> {
    let reader = TenantConfig {
        name: READER.into(),
        accounts: Vec::new(),
        limits: Limits::default(),
        api_token_sha256: None,
        quotas: Quotas::default(),
        approval: Default::default(),
    };
    let host = Host::new(HostConfig::of([reader]), one_run_options())
        .map_err(|error| CliError::host("cannot load the plugin", error))?;
    let text = host
        .reference(args.function.as_deref())
        .await
        .map_err(|error| CliError::host("the plugin could not serve the reference", error))?;
    match (text, args.function) {
        (Some(text), _) => {
            print!("{text}");
            Ok(())
        }
        (None, Some(name)) => {
            let said = help::unknown_function(&host, READER, &name).await?;
            Err(CliError::Usage(format!(
                "{said}\nrun `twilio-host docs` for the whole reference"
            )))
        }
        (None, None) => Err(CliError::host(
            "the plugin could not serve the reference",
            "it returned nothing",
        )),
    }
}
