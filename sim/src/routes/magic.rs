//! Twilio's magic test numbers (`+1500555000x`), honoured for every account.

use crate::errors::ApiError;

/// `(number, code, message)`.
type Magic = (&'static str, u32, &'static str);

/// Message `To` numbers that fail.
pub(crate) const MESSAGE_TO: &[Magic] = &[
    (
        "+15005550001",
        21211,
        "The 'To' number +15005550001 is not a valid phone number.",
    ),
    (
        "+15005550002",
        21612,
        "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
    ),
    (
        "+15005550003",
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
    ),
    (
        "+15005550004",
        21610,
        "Attempt to send to unsubscribed recipient",
    ),
    (
        "+15005550009",
        21614,
        "'To' number +15005550009 is not a valid mobile number",
    ),
];

/// Message `From` numbers that fail.
pub(crate) const MESSAGE_FROM: &[Magic] = &[
    (
        "+15005550001",
        21212,
        "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    (
        "+15005550007",
        21606,
        "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account.",
    ),
    (
        "+15005550008",
        21611,
        "This 'From' number has exceeded the maximum number of queued messages",
    ),
];

/// Call `To` numbers that fail.
pub(crate) const CALL_TO: &[Magic] = &[
    (
        "+15005550001",
        21217,
        "Phone number does not appear to be valid",
    ),
    ("+15005550002", 21214, "'To' phone number cannot be reached"),
    (
        "+15005550003",
        21215,
        "Account not authorized to call +15005550003. Perhaps you need to enable some international permissions.",
    ),
    (
        "+15005550004",
        21216,
        "Account not allowed to call +15005550004",
    ),
];

/// Call `From` numbers that fail.
pub(crate) const CALL_FROM: &[Magic] = &[(
    "+15005550001",
    21212,
    "Invalid From Number (caller ID): +15005550001",
)];

/// The 400 error a magic `number` triggers in `table`, if any.
pub(crate) fn check(table: &[Magic], number: &str) -> Result<(), ApiError> {
    match table.iter().find(|(magic, ..)| *magic == number) {
        Some((_, code, message)) => Err(ApiError::bad_request(*code, *message)),
        None => Ok(()),
    }
}
