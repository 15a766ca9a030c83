//! The UsageTrigger resource (16 properties).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path};
use crate::util::form;
use crate::util::time::Timestamp;

/// A stored usage trigger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct UsageTrigger {
    pub sid: String,
    pub account_sid: String,
    pub friendly_name: Option<String>,
    pub usage_category: String,
    pub trigger_by: String,
    pub trigger_value: String,
    /// `daily`, `monthly`, `yearly`, `alltime`, or `None` for a one-time trigger.
    pub recurring: Option<String>,
    pub callback_url: String,
    pub callback_method: String,
    pub date_created: Timestamp,
}

impl UsageTrigger {
    /// The UsageTrigger JSON with the watched field's `current_value`.
    pub(crate) fn to_json(&self, current_value: &str) -> Value {
        let base = account_path(&self.account_sid);
        json!({
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "callback_method": self.callback_method,
            "callback_url": self.callback_url,
            "current_value": current_value,
            "date_created": self.date_created.rfc2822(),
            "date_fired": null,
            "date_updated": self.date_created.rfc2822(),
            "friendly_name": self.friendly_name,
            "recurring": self.recurring,
            "sid": self.sid,
            "trigger_by": self.trigger_by,
            "trigger_value": self.trigger_value,
            "uri": format!("{base}/Usage/Triggers/{}.json", self.sid),
            "usage_category": self.usage_category,
            "usage_record_uri": format!(
                "{base}/Usage/Records.json?{}",
                form::encode([("Category", self.usage_category.as_str())])
            ),
        })
    }
}
