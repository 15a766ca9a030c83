//! Bearer tokens of the sidecar: `twilio-host hash-token` prints the SHA-256 of a token read
//! from stdin (the token never appears in argv or shell history), `twilio-host gen-token` makes
//! a strong one and prints it with its hash.

use std::io::Read;

use twilio_host::config::TokenHash;

use super::CliError;

/// The shortest token `hash-token` accepts: 32 characters, such as 16 random bytes in hex.
pub const MIN_TOKEN_CHARS: usize = 32;

/// Reads the token (surrounding whitespace, such as the final newline, is ignored) and prints
/// the hex digest; a token shorter than [`MIN_TOKEN_CHARS`] is refused.
pub fn hash_token() -> Result<(), CliError> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|error| CliError::Usage(format!("cannot read the token from stdin: {error}")))?;
    let token = input.trim();
    if token.chars().count() < MIN_TOKEN_CHARS {
        let what = if token.is_empty() {
            "no token on stdin".to_string()
        } else {
            format!(
                "the token on stdin has {} characters; a token must have at least {MIN_TOKEN_CHARS}",
                token.chars().count()
            )
        };
        return Err(CliError::Usage(format!(
            "{what} (make a strong one with `twilio-host gen-token`)"
        )));
    }
    println!("{}", TokenHash::of(token));
    Ok(())
}

/// Prints a new random token and, on the next line, the config line with its hash.
pub fn gen_token() -> Result<(), CliError> {
    let token = random()?;
    println!("{token}");
    println!("api_token_sha256 = \"{}\"", TokenHash::of(&token));
    Ok(())
}

/// 32 random bytes from the operating system, in hex (64 characters).
pub fn random() -> Result<String, CliError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| CliError::host("cannot make a random token", error))?;
    Ok(hex::encode(bytes))
}
