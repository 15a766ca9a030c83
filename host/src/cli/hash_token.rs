//! `twilio-host hash-token`: the SHA-256 of a bearer token read from stdin, for
//! `tenants.NAME.api_token_sha256`. The token never appears in argv or shell history.

use std::io::Read;

use twilio_host::config::TokenHash;

use super::CliError;

/// Reads the token (surrounding whitespace, such as the final newline, is ignored) and prints
/// the hex digest.
pub fn hash_token() -> Result<(), CliError> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|error| CliError::Usage(format!("cannot read the token from stdin: {error}")))?;
    let token = input.trim();
    if token.is_empty() {
        return Err(CliError::Usage(
            "no token on stdin; e.g. `twilio-host hash-token < token.txt` \
             (make one with `openssl rand -hex 32`)"
                .into(),
        ));
    }
    println!("{}", TokenHash::of(token));
    Ok(())
}
