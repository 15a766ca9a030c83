//! The IncomingPhoneNumber resource (35 properties, no `subresource_uris`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path};
use crate::util::interned;
use crate::util::time::Timestamp;

/// An owned phone number.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PhoneNumber {
    pub sid: String,
    pub account_sid: String,
    pub phone_number: String,
    pub friendly_name: String,
    pub voice: bool,
    pub sms: bool,
    pub mms: bool,
    /// An approved WhatsApp sender (not part of the JSON).
    pub whatsapp: bool,
    /// `local`, `mobile` or `tollfree`.
    #[serde(deserialize_with = "interned::text")]
    pub number_type: interned::Text,
    pub voice_url: String,
    pub date_created: Timestamp,
}

impl PhoneNumber {
    /// The IncomingPhoneNumber JSON.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": "",
            "api_version": API_VERSION,
            "beta": false,
            "bundle_sid": "",
            "capabilities": {"voice": self.voice, "sms": self.sms, "mms": self.mms, "fax": false},
            "date_created": self.date_created.rfc2822(),
            "date_updated": self.date_created.rfc2822(),
            "emergency_address_sid": "",
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": self.friendly_name,
            "identity_sid": "",
            "origin": "twilio",
            "phone_number": self.phone_number,
            "sid": self.sid,
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status": "in-use",
            "status_callback": "",
            "status_callback_method": "POST",
            "trunk_sid": null,
            "type": self.number_type,
            "uri": format!(
                "{}/IncomingPhoneNumbers/{}.json",
                account_path(&self.account_sid),
                self.sid
            ),
            "voice_application_sid": "",
            "voice_caller_id_lookup": false,
            "voice_fallback_method": "POST",
            "voice_fallback_url": "",
            "voice_method": "POST",
            "voice_receive_mode": "voice",
            "voice_url": self.voice_url,
        })
    }
}
