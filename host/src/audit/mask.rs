//! Masking phone numbers for the audit: the country calling code and the last four digits
//! stay (`+1******4567`), enough to tell recipients apart and to reconcile with Twilio's
//! logs, not enough to contact anyone.

/// Digits kept at the end of a masked number.
const KEPT_DIGITS: usize = 4;

/// `number` masked: `+15551234567` -> `+1******4567`; a channel prefix stays
/// (`whatsapp:+44*******0000`); an address that is not E.164 (`client:alice`) keeps only its
/// scheme.
pub fn mask_number(number: &str) -> String {
    let (channel, rest) = match number.split_once(':') {
        Some((channel, rest)) if rest.starts_with('+') => (Some(channel), rest),
        Some((scheme, rest)) => return format!("{scheme}:{}", "*".repeat(rest.chars().count())),
        None => (None, number),
    };
    let Some(digits) = rest.strip_prefix('+') else {
        return "*".repeat(number.chars().count());
    };
    let code_length = calling_code_length(digits).min(digits.len());
    let (code, national) = digits.split_at(code_length);
    let kept = national.len().min(KEPT_DIGITS).min(national.len() / 2);
    let (hidden, tail) = national.split_at(national.len() - kept);
    let channel = channel.map(|c| format!("{c}:")).unwrap_or_default();
    format!("{channel}+{code}{}{tail}", "*".repeat(hidden.len()))
}

/// How many of `digits` (an E.164 number without its `+`) are the country calling code:
/// calling codes are prefix-free, so the first of its 1-, 2- and 3-digit prefixes that the
/// numbering plans know is the one (1 when none is known).
fn calling_code_length(digits: &str) -> usize {
    (1..=3)
        .find(|&length| {
            digits
                .get(..length)
                .and_then(|prefix| prefix.parse::<u16>().ok())
                .is_some_and(|code| phonenumber::metadata::DATABASE.by_code(&code).is_some())
        })
        .unwrap_or(1)
}

/// `path` with every segment that is a phone number (a Lookup's `/v2/PhoneNumbers/+1...`,
/// percent-encoded or not) masked by [`mask_number`].
pub fn mask_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let decoded = segment.replace("%2B", "+").replace("%2b", "+");
            if decoded.starts_with('+') {
                mask_number(&decoded)
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_the_country_code_and_the_last_four_digits() {
        assert_eq!(mask_number("+15551234567"), "+1******4567");
        assert_eq!(mask_number("+447700900123"), "+44******0123");
        assert_eq!(mask_number("+353861234567"), "+353*****4567");
        assert_eq!(
            mask_number("whatsapp:+15551234567"),
            "whatsapp:+1******4567"
        );
        assert_eq!(mask_number("client:alice"), "client:*****");
        assert_eq!(mask_number("12345"), "*****");
        // A short number never shows more than half of its national digits.
        assert_eq!(mask_number("+1555"), "+1**5");
    }

    #[test]
    fn phone_numbers_in_paths_are_masked() {
        assert_eq!(
            mask_path("/v2/PhoneNumbers/%2B15551234567"),
            "/v2/PhoneNumbers/+1******4567"
        );
        let plain = "/2010-04-01/Accounts/AC123/Messages.json";
        assert_eq!(mask_path(plain), plain);
    }
}
