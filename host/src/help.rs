//! What an unknown function name probably meant, asked of the plugin's own `help`, so that the
//! CLI's `docs NAME`, the MCP reference tool and a script's `help(NAME)` suggest the same
//! functions (`send_message`: `twilio_send_sms` or `twilio_send_whatsapp`).

use crate::{Host, HostError};

/// The plugin's answer to `help(name)` for a `name` the reference does not have, run as
/// `tenant` (nothing is sent): `no function named ... (did you mean ...?); functions: ...`.
pub async fn unknown_function(host: &Host, tenant: &str, name: &str) -> Result<String, HostError> {
    let script = format!("return app.integrations.twilio.help({})", lua_string(name));
    let report = host.run(tenant, &script).await?;
    Ok(match report.outcome {
        Err(error) => error.message,
        Ok(_) => format!("{name:?} is a function of the reference"),
    })
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
