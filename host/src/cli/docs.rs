//! `twilio-host docs`: the agent reference, whole or one function's section, as the plugin
//! component itself serves it. For an unknown name the plugin's own `help` says what was
//! probably meant, so the suggestion is the one a script gets.

use twilio_host::config::{Quotas, TenantConfig};
use twilio_host::{Host, HostConfig, Limits, RunReport};

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
            let script = format!("return app.integrations.twilio.help({})", lua_string(&name));
            let report = host.run(READER, &script).await?;
            Err(CliError::Usage(unknown_function(&report, &name)))
        }
        (None, None) => Err(CliError::host(
            "the plugin could not serve the reference",
            "it returned nothing",
        )),
    }
}

/// What `help(name)` said about the unknown `name`, with where to look next.
fn unknown_function(report: &RunReport, name: &str) -> String {
    let said = match &report.outcome {
        Err(error) => error.message.clone(),
        Ok(_) => format!("no function named {name:?}"),
    };
    format!("{said}\nrun `twilio-host docs` for the whole reference")
}

/// `text` as a Lua string literal: letters, digits and `_` as they are, every other byte as a
/// decimal escape, so no name can end the literal.
fn lua_string(text: &str) -> String {
    let mut literal = String::from("\"");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' {
            literal.push(char::from(byte));
        } else {
            literal.push_str(&format!("\\{byte:03}"));
        }
    }
    literal.push('"');
    literal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_becomes_one_lua_string() {
        assert_eq!(lua_string("twilio_x"), "\"twilio_x\"");
        assert_eq!(lua_string("a\"b\n"), "\"a\\034b\\010\"");
    }
}
