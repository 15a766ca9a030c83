//! IncomingPhoneNumbers: list and fetch.

use super::{Ctx, fetch_reply};
use crate::errors::ApiError;
use crate::filters::exact;
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::resources::phone_number::PhoneNumber;

/// Twilio's `PhoneNumber` filter: a substring match where `*` stands for any one character.
fn number_matches(pattern: &str, number: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let number: Vec<char> = number.chars().collect();
    pattern.is_empty()
        || number.windows(pattern.len()).any(|window| {
            window
                .iter()
                .zip(&pattern)
                .all(|(n, p)| *p == '*' || n == p)
        })
}

/// `GET …/IncomingPhoneNumbers.json` with `FriendlyName`, `PhoneNumber`, `Origin`.
pub(crate) fn list(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let pattern = request.query_param("PhoneNumber").unwrap_or("");
    let matching: Vec<&PhoneNumber> = ctx
        .data
        .numbers
        .iter()
        .filter(|n| {
            exact(request, "FriendlyName", Some(&n.friendly_name))
                && exact(request, "Origin", Some("twilio"))
                && number_matches(pattern, &n.phone_number)
        })
        .collect();
    list_reply(request, "incoming_phone_numbers", &matching, |n| {
        n.to_json()
    })
}

/// `GET …/IncomingPhoneNumbers/{Sid}.json`.
pub(crate) fn fetch(ctx: Ctx<'_>, sid: &str) -> Result<Reply, ApiError> {
    fetch_reply(&ctx.data.numbers, sid, ctx.request, PhoneNumber::to_json)
}

#[cfg(test)]
mod tests {
    use super::number_matches;

    #[test]
    fn matches_partial_numbers_with_wildcards() {
        assert!(number_matches("555987", "+15559876543"));
        assert!(number_matches("+1555*876543", "+15559876543"));
        assert!(!number_matches("444", "+15559876543"));
        assert!(number_matches("", "+1"));
        assert!(!number_matches("+155598765430", "+15559876543"));
    }
}
