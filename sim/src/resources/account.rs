//! The Account resource (10 properties).

use serde_json::{Value, json};

use super::{account_path, subresource_uris};
use crate::config::SimAccount;
use crate::util::time::Timestamp;

const SUBRESOURCES: &[(&str, &str)] = &[
    ("addresses", "Addresses"),
    ("applications", "Applications"),
    ("authorized_connect_apps", "AuthorizedConnectApps"),
    ("available_phone_numbers", "AvailablePhoneNumbers"),
    ("balance", "Balance"),
    ("calls", "Calls"),
    ("conferences", "Conferences"),
    ("connect_apps", "ConnectApps"),
    ("incoming_phone_numbers", "IncomingPhoneNumbers"),
    ("keys", "Keys"),
    ("messages", "Messages"),
    ("notifications", "Notifications"),
    ("outgoing_caller_ids", "OutgoingCallerIds"),
    ("queues", "Queues"),
    ("recordings", "Recordings"),
    ("short_codes", "SMS/ShortCodes"),
    ("signing_keys", "SigningKeys"),
    ("sip", "SIP"),
    ("transcriptions", "Transcriptions"),
    ("usage", "Usage"),
];

/// The Account JSON, including `auth_token` as the real API returns it.
pub(crate) fn to_json(account: &SimAccount, created: Timestamp) -> Value {
    let base = account_path(&account.account_sid);
    json!({
        "auth_token": account.auth_token,
        "date_created": created.rfc2822(),
        "date_updated": created.rfc2822(),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.account_sid,
        "sid": account.account_sid,
        "status": "active",
        "subresource_uris": subresource_uris(&base, SUBRESOURCES),
        "type": if account.is_trial() { "Trial" } else { "Full" },
        "uri": format!("{base}.json"),
    })
}
