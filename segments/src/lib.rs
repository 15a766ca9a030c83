//! How many SMS segments a message body is, as Twilio bills it: GSM-7 when every character is in the
//! GSM 03.38 alphabet (3GPP TS 23.038; its extension table's characters take two septets),
//! else UCS-2 (UTF-16 code units). One segment holds 160 GSM-7 septets or 70 UCS-2 units; a
//! longer body is split into segments of 153 or 67, the rest being the concatenation header.

/// The GSM 03.38 basic character set (the escape code itself left out).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each is sent as the escape code and a second septet.
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// The number of segments `body` is sent as (1 for an empty body).
pub fn count(body: &str) -> u32 {
    let septets: Option<usize> = body
        .chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (units, single, each) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    if units <= single {
        1
    } else {
        u32::try_from(units.div_ceil(each)).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::count as segments;

    #[test]
    fn gsm7_bodies() {
        assert_eq!(segments(""), 1);
        assert_eq!(segments(&"a".repeat(160)), 1);
        assert_eq!(segments(&"a".repeat(161)), 2);
        assert_eq!(segments(&"a".repeat(306)), 2);
        assert_eq!(segments(&"a".repeat(307)), 3);
        assert_eq!(segments("Grüße, café à 5 €"), 1);
        // The extension table takes two septets: 80 euro signs fill one segment.
        assert_eq!(segments(&"€".repeat(80)), 1);
        assert_eq!(segments(&"€".repeat(81)), 2);
    }

    #[test]
    fn ucs2_bodies() {
        assert_eq!(segments(&"é".repeat(200)), 2, "é is GSM-7");
        assert_eq!(segments(&"ж".repeat(70)), 1);
        assert_eq!(segments(&"ж".repeat(71)), 2);
        assert_eq!(segments(&format!("{}ж", "a".repeat(69))), 1);
        assert_eq!(segments(&format!("{}ж", "a".repeat(70))), 2);
        assert_eq!(segments(&"ж".repeat(134)), 2);
        assert_eq!(segments(&"ж".repeat(135)), 3);
        // An emoji is two UTF-16 units.
        assert_eq!(segments(&"😀".repeat(35)), 1);
        assert_eq!(segments(&"😀".repeat(36)), 2);
    }
}
