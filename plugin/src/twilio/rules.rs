//! The value rules, as small hand-written matchers over strings. Each check returns the value to
//! send (sometimes normalised) or the reason it is refused, without the function and field names
//! (the caller adds those).

use super::spec::{LOOKUP_PACKAGES, Rule};

/// An example of a valid phone number, used in messages.
const E164_EXAMPLE: &str = "\"+15551234567\"";

/// The `whatsapp:` channel prefix.
const WHATSAPP: &str = "whatsapp:";

/// How many characters of a refused value a message quotes.
const QUOTE_CHARS: usize = 60;

/// Checks a string value against `rule` and returns what to send.
pub fn check(rule: Rule, value: &str) -> Result<String, String> {
    match rule {
        Rule::E164 => e164(value).map(str::to_owned),
        Rule::WhatsApp => whatsapp(value),
        Rule::Text(max) => text(value, max),
        Rule::Sid { prefixes, source } => sid(value, prefixes, source),
        Rule::Date => date(value),
        Rule::Url => url(value),
        Rule::OneOf(allowed) => one_of(value, allowed),
        Rule::LookupFields => lookup_fields(value),
        Rule::Decimal => decimal(value),
        Rule::Category => category(value),
        Rule::Count { .. } => Err("must be an integer".into()),
    }
}

/// What a value under `rule` looks like, for "is required" messages.
pub fn describe(rule: Rule) -> String {
    match rule {
        Rule::E164 | Rule::WhatsApp => format!("an E.164 phone number like {E164_EXAMPLE}"),
        Rule::Text(max) => format!("a string of at most {max} characters"),
        Rule::Sid { prefixes, .. } => format!("a SID starting with {}", prefixes.join(" or ")),
        Rule::Date => "a date like \"2026-01-31\"".into(),
        Rule::Url => "an absolute http(s) URL".into(),
        Rule::OneOf(allowed) => format!("one of {}", quoted_list(allowed)),
        Rule::LookupFields => "a comma-separated list of Lookup data packages".into(),
        Rule::Decimal => "a decimal number as a string, like \"100.00\"".into(),
        Rule::Category => "a usage category like \"sms\"".into(),
        Rule::Count { min, max } if max == i64::MAX => format!("an integer of at least {min}"),
        Rule::Count { min, max } => format!("an integer from {min} to {max}"),
    }
}

/// `value` in double quotes, with quotes, backslashes and control characters escaped, cut short when
/// long.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(4 * QUOTE_CHARS) + 5);
    out.push('"');
    for (index, c) in value.chars().enumerate() {
        if index == QUOTE_CHARS {
            out.push_str("\"...");
            return out;
        }
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `noun` with its indefinite article: "a table", "an integer".
pub fn a(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

/// `"a", "b", "c"`.
pub fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn e164(value: &str) -> Result<&str, String> {
    let digits = value.strip_prefix('+').unwrap_or("");
    let ok = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        return Ok(value);
    }
    let hint = if value.starts_with(WHATSAPP) {
        " (use twilio_send_whatsapp for WhatsApp)"
    } else {
        " (a \"+\", the country code and the number, without spaces or punctuation)"
    };
    Err(format!(
        "{} is not an E.164 number like {E164_EXAMPLE}{hint}",
        quote(value)
    ))
}

fn whatsapp(value: &str) -> Result<String, String> {
    let number = match value.get(..WHATSAPP.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(WHATSAPP) => &value[WHATSAPP.len()..],
        _ => value,
    };
    e164(number)
        .map(|number| format!("{WHATSAPP}{number}"))
        .map_err(|_| {
            format!(
                "{} is not an E.164 number like {E164_EXAMPLE} (the \"whatsapp:\" prefix is added for you)",
                quote(value)
            )
        })
}

fn text(value: &str, max: usize) -> Result<String, String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(format!(
            "is {chars} characters long; at most {max} are allowed"
        ));
    }
    Ok(value.to_owned())
}

fn sid(value: &str, prefixes: &[&str], source: &str) -> Result<String, String> {
    let prefix_ok = prefixes.iter().any(|prefix| value.starts_with(prefix));
    let tail = value.get(2..).unwrap_or("");
    if prefix_ok && tail.len() >= 4 && tail.bytes().all(|b| b.eq_ignore_ascii_case(&b'x')) {
        return Err(format!(
            "{} is the documentation's placeholder, not a real SID; {source}",
            quote(value)
        ));
    }
    if prefix_ok && tail.len() == 32 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(value.to_owned());
    }
    Err(format!(
        "{} is not a SID: expected {} followed by 32 hex digits",
        quote(value),
        prefixes.join(" or ")
    ))
}

fn date(value: &str) -> Result<String, String> {
    let refuse = || {
        Err(format!(
            "{} is not a calendar date in the form YYYY-MM-DD, like \"2026-01-31\"",
            quote(value)
        ))
    };
    let bytes = value.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return refuse();
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &value[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return refuse();
    };
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return refuse();
    }
    Ok(value.to_owned())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn url(value: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "{} is not an absolute http(s) URL like \"https://example.com/path\": {why}",
            quote(value)
        ))
    };
    let rest = ["https://", "http://"].iter().find_map(|scheme| {
        value
            .get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &value[scheme.len()..])
    });
    let Some(rest) = rest else {
        return refuse("it must start with https:// or http://");
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("it contains spaces or control characters");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let (host, port) = match host_port.rfind(':') {
        Some(colon) if !host_port.ends_with(']') => {
            (&host_port[..colon], Some(&host_port[colon + 1..]))
        }
        _ => (host_port, None),
    };
    if host.is_empty() {
        return refuse("it has no host");
    }
    if port.is_some_and(|port| {
        port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit())
    }) {
        return refuse("its port is not a number");
    }
    if host.contains('_') {
        return refuse("Twilio refuses host names with underscores");
    }
    let ip6 = host.starts_with('[') && host.ends_with(']');
    if !ip6
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || !c.is_ascii() || c == '-' || c == '.')
    {
        return refuse("its host name has characters a host name cannot have");
    }
    Ok(value.to_owned())
}

fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    if allowed.contains(&value) {
        return Ok(value.to_owned());
    }
    let hint = suggest(value, allowed)
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default();
    Err(format!(
        "{} is not one of {}{hint}",
        quote(value),
        quoted_list(allowed)
    ))
}

fn lookup_fields(value: &str) -> Result<String, String> {
    let mut packages = Vec::new();
    for item in value.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!(
                "{} has an empty item; write names separated by commas, like \"line_type_intelligence,caller_name\"",
                quote(value)
            ));
        }
        if !LOOKUP_PACKAGES.contains(&item) {
            let hint = suggest(item, LOOKUP_PACKAGES)
                .map(|s| format!("did you mean \"{s}\"? "))
                .unwrap_or_default();
            return Err(format!(
                "{} is not a Lookup data package; {hint}known packages: {}",
                quote(item),
                LOOKUP_PACKAGES.join(", ")
            ));
        }
        packages.push(item);
    }
    Ok(packages.join(","))
}

fn decimal(value: &str) -> Result<String, String> {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if digits(whole) && digits(fraction) {
        return Ok(value.to_owned());
    }
    Err(format!(
        "{} is not a decimal number like \"100.00\" (a leading \"+\" or \"-\" makes it an offset from current usage)",
        quote(value)
    ))
}

fn category(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        return Ok(value.to_owned());
    }
    Err(format!(
        "{} is not a usage category like \"sms\", \"calls\", \"phonenumbers\" or \"totalprice\"",
        quote(value)
    ))
}

/// Whether `value` may be put into a URL path: no `/`, `?`, `#`, `%`, `..`, nothing empty, and no
/// whitespace or control characters.
pub fn path_safe(value: &str) -> bool {
    !value.is_empty()
        && !value.contains("..")
        && !value.chars().any(|c| {
            matches!(c, '/' | '?' | '#' | '%' | '\\') || c.is_whitespace() || c.is_control()
        })
}

/// The candidate closest to `word`, when close enough to be a likely misspelling: the same
/// letters ignoring case, `_` and `-`; or within a small edit distance.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = normalize(word);
    if word.is_empty() || word.chars().count() > 64 {
        return None;
    }
    if let Some(same) = candidates.iter().find(|c| normalize(c) == word) {
        return Some(same);
    }
    let allowed = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &normalize(c)), *c))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Lowercase, without `_`, `-` and spaces.
pub fn normalize(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Edit distance over characters, counting a swap of two neighbours as one edit (optimal
/// string alignment), so `wrok` is one edit from `work`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert!(e164("+15551234567").is_ok());
        assert!(e164("+12").is_ok());
        assert!(e164("+123456789012345").is_ok());
        for bad in [
            "",
            "+",
            "+1",
            "15551234567",
            "+0123",
            "+1 555",
            "+1234567890123456",
            "+1555a",
            "++1555",
        ] {
            assert!(e164(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whatsapp_prefix_is_added_once() {
        assert_eq!(whatsapp("+15551234567").unwrap(), "whatsapp:+15551234567");
        assert_eq!(
            whatsapp("whatsapp:+15551234567").unwrap(),
            "whatsapp:+15551234567"
        );
        assert_eq!(
            whatsapp("WhatsApp:+15551234567").unwrap(),
            "whatsapp:+15551234567"
        );
        assert!(whatsapp("whatsapp:whatsapp:+15551234567").is_err());
        assert!(whatsapp("whatsapp:").is_err());
    }

    #[test]
    fn dates_are_real_calendar_dates() {
        for good in ["2026-01-31", "2024-02-29", "2000-02-29", "2026-12-31"] {
            assert!(date(good).is_ok(), "{good}");
        }
        for bad in [
            "2026-02-30",
            "2023-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-01-01",
            "2026-01-01T00:00:00Z",
            "2026-04-31",
            "0000-01-01",
            "２０２６-01-01",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        for good in [
            "https://example.com/x",
            "http://example.com",
            "HTTPS://a.b:8080/p?q=1",
            "https://[::1]/x",
            "https://user@host.example/x",
        ] {
            assert!(url(good).is_ok(), "{good}");
        }
        for bad in [
            "example.com",
            "ftp://x",
            "https://",
            "https:///path",
            "https://a b.com",
            "https://my_host.com/",
            "https://host:abc/",
            "https://host:/",
            "javascript:alert(1)",
        ] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sids_and_placeholders() {
        let real = "SM0123456789abcdef0123456789ABCDEF";
        assert!(sid(real, &["SM", "MM"], "").is_ok());
        assert!(sid(&real.replace("SM", "MM"), &["SM", "MM"], "").is_ok());
        assert!(sid(real, &["CA"], "").is_err());
        assert!(sid("SM123", &["SM"], "").is_err());
        let placeholder =
            sid("SMxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &["SM"], "use a list").unwrap_err();
        assert!(placeholder.contains("placeholder") && placeholder.contains("use a list"));
    }

    #[test]
    fn decimals_and_fields() {
        for good in ["50", "50.00", "+30", "-1.5"] {
            assert!(decimal(good).is_ok(), "{good}");
        }
        for bad in ["", "+", "1.", ".5", "1e3", "ten", "1,000", "--1"] {
            assert!(decimal(bad).is_err(), "{bad}");
        }
        assert_eq!(
            lookup_fields("line_type_intelligence, caller_name").unwrap(),
            "line_type_intelligence,caller_name"
        );
        assert!(lookup_fields("carrier").is_err());
        assert!(lookup_fields("caller_name,").is_err());
        assert!(
            lookup_fields("caller_nam")
                .unwrap_err()
                .contains("did you mean \"caller_name\"")
        );
    }

    #[test]
    fn quoting_escapes_and_truncates() {
        assert_eq!(quote("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u{1}é""#);
        assert_eq!(
            quote(&"x".repeat(100)),
            format!("\"{}\"...", "x".repeat(60))
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("To", &["to", "from"]), Some("to"));
        assert_eq!(suggest("from_", &["to", "from"]), Some("from"));
        assert_eq!(suggest("MediaUrl", &["media_url"]), Some("media_url"));
        assert_eq!(suggest("bdoy", &["to", "body"]), Some("body"));
        assert_eq!(suggest("zzzzzz", &["to", "body"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("wrok", "work"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn path_injection_is_refused() {
        for bad in ["a/b", "a?b", "a#b", "a%2F", "..", "", "a b"] {
            assert!(!path_safe(bad), "{bad}");
        }
        assert!(path_safe("+15551234567"));
    }
}
