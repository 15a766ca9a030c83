//! `twilio-host hash-token`: the SHA-256 of a bearer token read from stdin, for
//! `tenants.NAME.api_token_sha256`. The token never appears in argv or shell history.

use std::io::Read;

use sha2::{Digest, Sha256};

use super::EXIT_USAGE;

/// Reads the token (surrounding whitespace, such as the final newline, is ignored) and prints
/// the hex digest.
pub fn hash_token() -> u8 {
    let mut input = String::new();
    if let Err(error) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("twilio-host: cannot read the token from stdin: {error}");
        return EXIT_USAGE;
    }
    let token = input.trim();
    if token.is_empty() {
        eprintln!(
            "twilio-host: no token on stdin; e.g. `twilio-host hash-token < token.txt` \
             (make one with `openssl rand -hex 32`)"
        );
        return EXIT_USAGE;
    }
    println!("{}", sha256_hex(token));
    0
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
