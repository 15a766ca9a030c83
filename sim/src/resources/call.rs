//! The Call resource (26 properties).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path, opt_decimal, rfc2822, subresource_uris};
use crate::util::interned;
use crate::util::phone;
use crate::util::time::Timestamp;

/// A stored call.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Call {
    pub sid: String,
    pub account_sid: String,
    pub to: String,
    pub from: String,
    pub phone_number_sid: Option<String>,
    #[serde(deserialize_with = "interned::text")]
    pub status: interned::Text,
    #[serde(deserialize_with = "interned::text")]
    pub direction: interned::Text,
    #[serde(deserialize_with = "interned::optional_text")]
    pub answered_by: Option<interned::Text>,
    pub date_created: Timestamp,
    pub start_time: Option<Timestamp>,
    /// Seconds; only for completed calls.
    pub duration: Option<u32>,
    pub price_e5: Option<i64>,
}

impl Call {
    /// When the call ended: start plus duration.
    pub(crate) fn end_time(&self) -> Option<Timestamp> {
        Some(self.start_time?.plus_secs(i64::from(self.duration?)))
    }

    /// The Call JSON.
    pub(crate) fn to_json(&self) -> Value {
        let base = format!("{}/Calls/{}", account_path(&self.account_sid), self.sid);
        let subresources = subresource_uris(
            &base,
            &[
                ("notifications", "Notifications"),
                ("recordings", "Recordings"),
                ("payments", "Payments"),
                ("events", "Events"),
                ("siprec", "Siprec"),
                ("streams", "Streams"),
                ("transcriptions", "Transcriptions"),
                (
                    "user_defined_message_subscriptions",
                    "UserDefinedMessageSubscriptions",
                ),
                ("user_defined_messages", "UserDefinedMessages"),
            ],
        );
        json!({
            "account_sid": self.account_sid,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": null,
            "date_created": self.date_created.rfc2822(),
            "date_updated": self.end_time().unwrap_or(self.date_created).rfc2822(),
            "direction": self.direction,
            "duration": self.duration.map(|d| d.to_string()),
            "end_time": rfc2822(self.end_time()),
            "forwarded_from": null,
            "from": self.from,
            "from_formatted": phone::display(&self.from),
            "group_sid": null,
            "parent_call_sid": null,
            "phone_number_sid": self.phone_number_sid,
            "price": opt_decimal(self.price_e5),
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": self.status,
            "subresource_uris": subresources,
            "to": self.to,
            "to_formatted": phone::display(&self.to),
            "trunk_sid": null,
            "uri": format!("{base}.json"),
        })
    }
}
