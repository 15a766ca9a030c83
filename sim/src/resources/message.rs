//! The Message resource (20 properties).

use serde_json::{Value, json};

use super::{API_VERSION, account_path, opt_decimal, rfc2822, subresource_uris};
use crate::util::time::Timestamp;

/// A stored message.
#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub sid: String,
    pub account_sid: String,
    pub messaging_service_sid: Option<String>,
    pub from: Option<String>,
    pub to: String,
    pub body: String,
    pub num_segments: u32,
    pub num_media: usize,
    pub direction: &'static str,
    pub status: &'static str,
    pub error_code: Option<u32>,
    pub error_message: Option<&'static str>,
    pub price_e5: Option<i64>,
    pub date_created: Timestamp,
    pub date_sent: Option<Timestamp>,
}

impl Message {
    /// The relative URI without `.json`.
    fn base(&self) -> String {
        format!("{}/Messages/{}", account_path(&self.account_sid), self.sid)
    }

    /// The Message JSON.
    pub(crate) fn to_json(&self) -> Value {
        let base = self.base();
        json!({
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": self.date_created.rfc2822(),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": self.date_sent.unwrap_or(self.date_created).rfc2822(),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": self.num_media.to_string(),
            "num_segments": self.num_segments.to_string(),
            "price": opt_decimal(self.price_e5),
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": subresource_uris(&base, &[("media", "Media")]),
            "to": self.to,
            "uri": format!("{base}.json"),
        })
    }
}

/// GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension characters (each takes two septets).
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// SMS segments for `body`: GSM-7 160/153 septets, otherwise UCS-2 70/67 code units.
pub(crate) fn segment_count(body: &str) -> u32 {
    let septets: Option<usize> = body
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (units, single, multi) = match septets {
        Some(septets) => (septets, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    u32::try_from(segments).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::segment_count;

    #[test]
    fn counts_segments() {
        assert_eq!(segment_count(""), 1);
        assert_eq!(segment_count(&"a".repeat(160)), 1);
        assert_eq!(segment_count(&"a".repeat(161)), 2);
        assert_eq!(segment_count(&"a".repeat(306)), 2);
        assert_eq!(segment_count(&"a".repeat(307)), 3);
        assert_eq!(segment_count(&"€".repeat(80)), 1);
        assert_eq!(segment_count(&"€".repeat(81)), 2);
        assert_eq!(segment_count(&"ü".repeat(160)), 1);
        assert_eq!(segment_count(&"ą".repeat(70)), 1);
        assert_eq!(segment_count(&"ą".repeat(71)), 2);
        assert_eq!(segment_count("😀"), 1);
    }
}
