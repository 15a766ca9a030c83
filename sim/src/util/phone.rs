//! E.164 phone-number validation and formatting, shared by Messages, Calls and Lookup.

/// Country calling code, ISO country, and the allowed national-number lengths.
const COUNTRIES: &[(&str, &str, usize, usize)] = &[
    ("1", "US", 10, 10),
    ("7", "RU", 10, 10),
    ("31", "NL", 9, 9),
    ("33", "FR", 9, 9),
    ("34", "ES", 9, 9),
    ("39", "IT", 9, 10),
    ("44", "GB", 10, 10),
    ("46", "SE", 7, 9),
    ("49", "DE", 10, 11),
    ("52", "MX", 10, 10),
    ("55", "BR", 10, 11),
    ("61", "AU", 9, 9),
    ("65", "SG", 8, 8),
    ("81", "JP", 9, 10),
    ("86", "CN", 11, 11),
    ("91", "IN", 10, 10),
    ("353", "IE", 9, 9),
];

/// Canadian NANP area codes (the rest of +1 is treated as US).
const CANADIAN_AREA_CODES: &[&str] = &[
    "204", "226", "236", "249", "250", "289", "306", "343", "365", "403", "416", "418", "431",
    "437", "438", "450", "506", "514", "519", "548", "579", "581", "587", "604", "613", "639",
    "647", "705", "709", "778", "780", "782", "807", "819", "825", "867", "873", "902", "905",
];

/// NANP toll-free area codes.
const TOLL_FREE_AREA_CODES: &[&str] = &["800", "833", "844", "855", "866", "877", "888"];

/// A valid phone number split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PhoneNumber {
    /// `+` followed by the country code and national number.
    pub e164: String,
    /// The country calling code, e.g. `"1"`.
    pub calling_code: &'static str,
    /// ISO 3166 alpha-2 country, e.g. `"US"`.
    pub country: &'static str,
    /// The national significant number (digits after the calling code).
    pub national: String,
}

/// Why a number is not valid, named as Lookup v2's `validation_errors` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NumberError {
    NotANumber,
    TooShort,
    TooLong,
    InvalidCountryCode,
    InvalidButPossible,
}

impl NumberError {
    /// The Lookup v2 enum value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NumberError::NotANumber => "NOT_A_NUMBER",
            NumberError::TooShort => "TOO_SHORT",
            NumberError::TooLong => "TOO_LONG",
            NumberError::InvalidCountryCode => "INVALID_COUNTRY_CODE",
            NumberError::InvalidButPossible => "INVALID_BUT_POSSIBLE",
        }
    }
}

/// Parses an E.164 number (`+` then digits).
pub(crate) fn parse_e164(text: &str) -> Result<PhoneNumber, NumberError> {
    let digits = text.strip_prefix('+').ok_or(NumberError::NotANumber)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotANumber);
    }
    if digits.len() > 15 {
        return Err(NumberError::TooLong);
    }
    let &(code, country, min, max) = (1..=3)
        .filter_map(|n| digits.get(..n))
        .find_map(|prefix| COUNTRIES.iter().find(|(c, ..)| *c == prefix))
        .ok_or(NumberError::InvalidCountryCode)?;
    let national = &digits[code.len()..];
    if national.len() < min {
        return Err(NumberError::TooShort);
    }
    if national.len() > max {
        return Err(NumberError::TooLong);
    }
    let country = if code == "1" {
        nanp_country(national)?
    } else {
        country
    };
    Ok(PhoneNumber {
        e164: text.to_owned(),
        calling_code: code,
        country,
        national: national.to_owned(),
    })
}

/// Parses E.164, or a national number of `country` (ISO alpha-2, default `US`).
pub(crate) fn parse_with_country(
    text: &str,
    country: Option<&str>,
) -> Result<PhoneNumber, NumberError> {
    if text.starts_with('+') {
        return parse_e164(text);
    }
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotANumber);
    }
    let wanted = country.unwrap_or("US").to_ascii_uppercase();
    let wanted = if wanted == "CA" {
        "US"
    } else {
        wanted.as_str()
    };
    let (code, ..) = COUNTRIES
        .iter()
        .find(|(_, iso, ..)| *iso == wanted)
        .ok_or(NumberError::InvalidCountryCode)?;
    let national = digits.strip_prefix('0').unwrap_or(&digits);
    parse_e164(&format!("+{code}{national}"))
}

fn nanp_country(national: &str) -> Result<&'static str, NumberError> {
    let area = &national[..3];
    if national.starts_with(['0', '1']) {
        return Err(NumberError::InvalidButPossible);
    }
    Ok(if CANADIAN_AREA_CODES.contains(&area) {
        "CA"
    } else {
        "US"
    })
}

impl PhoneNumber {
    /// The national display format, e.g. `(415) 992-9960` or `020 7946 0018`.
    pub(crate) fn national_format(&self) -> String {
        let n = &self.national;
        if self.calling_code == "1" {
            format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..])
        } else {
            let (head, tail) = n.split_at(n.len() / 2);
            format!("0{head} {tail}")
        }
    }

    /// True for NANP toll-free numbers.
    pub(crate) fn is_toll_free(&self) -> bool {
        self.calling_code == "1" && TOLL_FREE_AREA_CODES.contains(&&self.national[..3])
    }
}

/// The display form Twilio puts in `to_formatted` / `from_formatted`: national format for valid
/// numbers, the input unchanged otherwise (SIP, `client:`, …).
pub(crate) fn display(text: &str) -> String {
    parse_e164(text).map_or_else(|_| text.to_owned(), |n| n.national_format())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_us_and_foreign_numbers() {
        let us = parse_e164("+15551234567").unwrap();
        assert_eq!((us.country, us.calling_code), ("US", "1"));
        assert_eq!(us.national_format(), "(555) 123-4567");
        assert_eq!(parse_e164("+14165550123").unwrap().country, "CA");
        assert_eq!(parse_e164("+442079460018").unwrap().country, "GB");
        assert!(parse_e164("+18005550100").unwrap().is_toll_free());
    }

    #[test]
    fn reports_invalid_numbers() {
        assert_eq!(parse_e164("5551234567"), Err(NumberError::NotANumber));
        assert_eq!(parse_e164("+1555"), Err(NumberError::TooShort));
        assert_eq!(parse_e164("+155512345678"), Err(NumberError::TooLong));
        assert_eq!(
            parse_e164("+999123456"),
            Err(NumberError::InvalidCountryCode)
        );
        assert_eq!(parse_e164("+1abc"), Err(NumberError::NotANumber));
        assert_eq!(
            parse_e164("+10551234567"),
            Err(NumberError::InvalidButPossible)
        );
    }

    #[test]
    fn parses_national_numbers() {
        assert_eq!(
            parse_with_country("(555) 123-4567", None).unwrap().e164,
            "+15551234567"
        );
        assert_eq!(
            parse_with_country("020 7946 0018", Some("gb"))
                .unwrap()
                .e164,
            "+442079460018"
        );
        assert_eq!(
            parse_with_country("123", Some("ZZ")),
            Err(NumberError::InvalidCountryCode)
        );
    }
}
