//! The Recording resource (19 properties).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path, decimal, subresource_uris};
use crate::util::interned;
use crate::util::time::Timestamp;

/// A stored recording.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Recording {
    pub sid: String,
    pub account_sid: String,
    pub call_sid: String,
    #[serde(deserialize_with = "interned::text")]
    pub source: interned::Text,
    pub channels: u32,
    /// Seconds.
    pub duration: u32,
    pub price_e5: i64,
    pub start_time: Timestamp,
    pub date_created: Timestamp,
    /// Soft-deleted: hidden unless `IncludeSoftDeleted=true`, then shown with status `deleted`.
    pub deleted: bool,
}

impl Recording {
    /// The Recording JSON; `media_url` is absolute, built on `api_base`.
    pub(crate) fn to_json(&self, api_base: &str) -> Value {
        let base = format!(
            "{}/Recordings/{}",
            account_path(&self.account_sid),
            self.sid
        );
        json!({
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "call_sid": self.call_sid,
            "channels": self.channels,
            "conference_sid": null,
            "date_created": self.date_created.rfc2822(),
            "date_updated": self.date_created.rfc2822(),
            "duration": self.duration.to_string(),
            "encryption_details": null,
            "error_code": null,
            "media_url": format!("{api_base}{base}"),
            "price": decimal(self.price_e5),
            "price_unit": "USD",
            "sid": self.sid,
            "source": self.source,
            "start_time": self.start_time.rfc2822(),
            "status": if self.deleted { "deleted" } else { "completed" },
            "subresource_uris": subresource_uris(
                &base,
                &[("add_on_results", "AddOnResults"), ("transcriptions", "Transcriptions")],
            ),
            "uri": format!("{base}.json"),
        })
    }
}
