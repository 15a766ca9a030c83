//! `application/x-www-form-urlencoded` decoding (strict UTF-8) and encoding.

use percent_encoding::percent_decode;

/// Decodes a url-encoded string into pairs, keeping repeated keys and their order.
///
/// `+` means a space. Returns `Err(())` when a key or value is not valid UTF-8 once decoded.
pub(crate) fn decode(input: &[u8]) -> Result<Vec<(String, String)>, ()> {
    input
        .split(|&b| b == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &b""[..]),
            };
            Ok((decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

/// Decodes one url-encoded component (`+` is a space).
pub(crate) fn decode_component(raw: &[u8]) -> Result<String, ()> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    decode_path_segment(&plus_as_space)
}

/// Percent-decodes a path segment (`+` stays a `+`).
pub(crate) fn decode_path_segment(raw: &[u8]) -> Result<String, ()> {
    percent_decode(raw)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ())
}

/// Encodes pairs as a query string, e.g. `To=%2B1555&PageSize=50`.
pub(crate) fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

/// The first value of `name` among `pairs`.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Every value of `name` among `pairs`, in order.
pub(crate) fn all<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let pairs =
            decode(b"To=%2B1555&Body=hi+there&MediaUrl=a&MediaUrl=b&Empty&DateSent%3C=2026")
                .unwrap();
        assert_eq!(first(&pairs, "To"), Some("+1555"));
        assert_eq!(first(&pairs, "Body"), Some("hi there"));
        assert_eq!(all(&pairs, "MediaUrl"), vec!["a", "b"]);
        assert_eq!(first(&pairs, "Empty"), Some(""));
        assert_eq!(first(&pairs, "DateSent<"), Some("2026"));
    }

    #[test]
    fn rejects_bad_utf8() {
        assert!(decode(b"Body=%FF%FE").is_err());
        assert!(decode(b"Body=\xff").is_err());
        assert!(decode(b"Body=%zz").is_ok());
    }

    #[test]
    fn encodes_pairs() {
        assert_eq!(
            encode([("To", "+1 5"), ("DateSent>", "x")]),
            "To=%2B1+5&DateSent%3E=x"
        );
    }
}
