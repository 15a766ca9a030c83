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

/// The country calling codes the numbering plans (libphonenumber's metadata, crate
/// `phonenumber`) know, sorted; a test keeps them equal to that metadata. Kept here because
/// loading the metadata takes tens of milliseconds, which a process's first audited send
/// would otherwise wait for (the tenant policy's country rules still load it, ahead of time).
const CALLING_CODES: [u16; 215] = [
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506,
    507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676,
    677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850, 852,
    853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966, 967,
    968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// How many of `digits` (an E.164 number without its `+`) are the country calling code:
/// calling codes are prefix-free, so the first of its 1-, 2- and 3-digit prefixes that the
/// numbering plans know is the one (1 when none is known).
fn calling_code_length(digits: &str) -> usize {
    (1..=3)
        .find(|&length| {
            digits
                .get(..length)
                .and_then(|prefix| prefix.parse::<u16>().ok())
                .is_some_and(|code| CALLING_CODES.binary_search(&code).is_ok())
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
    fn the_calling_codes_are_the_numbering_plans() {
        let known: Vec<u16> = (1u16..=999)
            .filter(|code| phonenumber::metadata::DATABASE.by_code(code).is_some())
            .collect();
        assert_eq!(known, CALLING_CODES);
    }

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
