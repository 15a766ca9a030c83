//! The Message resource (20 properties).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path, opt_decimal, rfc2822, subresource_uris};
use crate::util::interned;
use crate::util::time::Timestamp;

/// A stored message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Message {
    pub sid: String,
    pub account_sid: String,
    pub messaging_service_sid: Option<String>,
    pub from: Option<String>,
    pub to: String,
    pub body: String,
    pub num_segments: u32,
    pub num_media: usize,
    #[serde(deserialize_with = "interned::text")]
    pub direction: interned::Text,
    #[serde(deserialize_with = "interned::text")]
    pub status: interned::Text,
    pub error_code: Option<u32>,
    #[serde(deserialize_with = "interned::optional_text")]
    pub error_message: Option<interned::Text>,
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
