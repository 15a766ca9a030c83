//! Deterministic seed data for each account: numbers, calls, recordings, messages and usage.

use crate::config::SimAccount;
use crate::resources::call::Call;
use crate::resources::message::Message;
use crate::resources::phone_number::PhoneNumber;
use crate::resources::recording::Recording;
use crate::resources::usage::{CATEGORIES, DailyUsage};
use crate::state::AccountData;
use crate::util::sid::hex32;
use crate::util::time::{Date, Timestamp};

/// The owned, SMS-, MMS-, voice- and WhatsApp-capable number every account has.
pub const MAIN_NUMBER: &str = "+15559876543";
/// Twilio's magic "always valid" test sender, also owned by every account.
pub const MAGIC_SENDER: &str = "+15005550006";
/// The usual destination in examples; valid, and verified on every account.
pub const EXAMPLE_TO: &str = "+15551234567";

/// `(number, friendly name, voice, sms, mms, whatsapp, type)`.
const NUMBERS: &[(&str, &str, bool, bool, bool, bool, &str)] = &[
    (MAIN_NUMBER, "Main Line", true, true, true, true, "local"),
    (
        MAGIC_SENDER,
        "Magic Test Number",
        true,
        true,
        true,
        false,
        "local",
    ),
    (
        "+15557654321",
        "Support Line",
        true,
        true,
        false,
        false,
        "local",
    ),
    (
        "+18885550123",
        "Toll-Free Line",
        true,
        true,
        false,
        false,
        "tollfree",
    ),
];

const CALL_COUNT: usize = 25;
const RECORDING_COUNT: usize = 12;
/// Call statuses, cycled by call index.
const CALL_STATUSES: [&str; 10] = [
    "completed",
    "completed",
    "busy",
    "completed",
    "no-answer",
    "completed",
    "completed",
    "failed",
    "completed",
    "canceled",
];
const SMS_PRICE_E5: i64 = 790;
const MINUTE_PRICE_E5: i64 = 1300;
const RECORDING_MINUTE_PRICE_E5: i64 = 250;
const NUMBER_DAY_PRICE_E5: i64 = 3833;

/// A pseudo-random number derived from `parts`.
fn pseudo(parts: &[&str]) -> u64 {
    u64::from_str_radix(&hex32(parts)[..12], 16).unwrap_or(0)
}

/// A fully seeded account whose SIDs mix in `sid_salt` (empty: the deterministic ones).
pub(crate) fn seed_account(account: SimAccount, sid_salt: String) -> AccountData {
    let created = Timestamp::at(Date::ymd(2025, 6, 1), 10, 0, 0);
    let mut data = AccountData::empty(account, created, sid_salt);
    seed_numbers(&mut data);
    seed_calls(&mut data);
    seed_recordings(&mut data);
    seed_messages(&mut data);
    seed_usage(&mut data);
    data
}

fn seed_numbers(data: &mut AccountData) {
    for (i, &(number, name, voice, sms, mms, whatsapp, number_type)) in NUMBERS.iter().enumerate() {
        let sid = data.next_sid("PN");
        data.seeded.phone_number_sids.push(sid.clone());
        data.numbers.push(PhoneNumber {
            sid,
            account_sid: data.account.account_sid.clone(),
            phone_number: number.to_owned(),
            friendly_name: name.to_owned(),
            voice,
            sms,
            mms,
            whatsapp,
            number_type,
            voice_url: if i == 0 {
                "https://demo.twilio.com/welcome/voice/".to_owned()
            } else {
                String::new()
            },
            date_created: data.created.plus_secs(i as i64 * 3600),
        });
    }
}

fn seed_calls(data: &mut AccountData) {
    let first = Timestamp::at(Date::ymd(2026, 1, 3), 9, 0, 0);
    for i in 0..CALL_COUNT {
        let status = CALL_STATUSES[i % CALL_STATUSES.len()];
        let external = if i % 4 == 0 {
            EXAMPLE_TO.to_owned()
        } else {
            format!("+1555010{i:04}")
        };
        let inbound = i % 3 == 2;
        let (from, to, direction) = if inbound {
            (external, MAIN_NUMBER.to_owned(), "inbound")
        } else {
            (MAIN_NUMBER.to_owned(), external, "outbound-api")
        };
        let completed = status == "completed";
        let duration = completed.then(|| 20 + (i as u32 * 37) % 280);
        let date_created = first.plus_secs(i as i64 * (3 * 86_400 + 37 * 60));
        let sid = data.next_sid("CA");
        data.seeded.call_sids.push(sid.clone());
        if completed {
            data.seeded.completed_call_sids.push(sid.clone());
        }
        data.calls.push(Call {
            sid,
            account_sid: data.account.account_sid.clone(),
            to,
            from,
            phone_number_sid: data.seeded.phone_number_sids.first().cloned(),
            status,
            direction,
            answered_by: (completed && !inbound).then_some("human"),
            date_created,
            start_time: completed.then(|| date_created.plus_secs(2)),
            duration,
            price_e5: duration.map(|d| -i64::from(d.div_ceil(60)) * MINUTE_PRICE_E5),
        });
    }
}

fn seed_recordings(data: &mut AccountData) {
    let calls: Vec<Call> = data
        .calls
        .iter()
        .filter(|call| call.status == "completed")
        .take(RECORDING_COUNT)
        .cloned()
        .collect();
    for (i, call) in calls.iter().enumerate() {
        let (Some(start), Some(end), Some(call_duration)) =
            (call.start_time, call.end_time(), call.duration)
        else {
            continue;
        };
        let duration = call_duration.saturating_sub(2).max(1);
        let sid = data.next_sid("RE");
        data.seeded.recording_sids.push(sid.clone());
        data.recordings.push(Recording {
            sid,
            account_sid: data.account.account_sid.clone(),
            call_sid: call.sid.clone(),
            source: if call.direction == "inbound" {
                "RecordVerb"
            } else {
                "OutboundAPI"
            },
            channels: if i % 3 == 2 { 2 } else { 1 },
            duration,
            price_e5: -i64::from(duration.div_ceil(60)) * RECORDING_MINUTE_PRICE_E5,
            start_time: start.plus_secs(1),
            date_created: end,
            deleted: false,
        });
    }
}

/// `(from, to, body, media, direction, status, error)`.
type SeedMessage = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static str,
    &'static str,
    Option<(u32, &'static str)>,
);

const MESSAGES: &[SeedMessage] = &[
    (
        MAIN_NUMBER,
        EXAMPLE_TO,
        "Your verification code is 123456",
        0,
        "outbound-api",
        "delivered",
        None,
    ),
    (
        EXAMPLE_TO,
        MAIN_NUMBER,
        "Thanks, got it!",
        0,
        "inbound",
        "received",
        None,
    ),
    (
        "whatsapp:+15559876543",
        "whatsapp:+15551234567",
        "Your order has shipped",
        0,
        "outbound-api",
        "read",
        None,
    ),
    (
        MAIN_NUMBER,
        "+15557770123",
        "Here is the photo",
        1,
        "outbound-api",
        "delivered",
        None,
    ),
    (
        MAGIC_SENDER,
        EXAMPLE_TO,
        "Reminder: your appointment is tomorrow",
        0,
        "outbound-api",
        "undelivered",
        Some((30007, "Carrier violation")),
    ),
];

fn seed_messages(data: &mut AccountData) {
    let first = Timestamp::at(Date::ymd(2026, 1, 10), 14, 30, 0);
    for (i, &(from, to, body, media, direction, status, error)) in MESSAGES.iter().enumerate() {
        let date_created = first.plus_secs(i as i64 * 5 * 86_400);
        let message = stored_message(data, from, to, body, media, date_created);
        let sid = message.sid.clone();
        data.messages.push(Message {
            direction,
            status,
            error_code: error.map(|(code, _)| code),
            error_message: error.map(|(_, text)| text),
            ..message
        });
        data.seeded.message_sids.push(sid);
    }
}

/// A delivered outbound message with a fresh SID (`MM` if it has media).
fn stored_message(
    data: &mut AccountData,
    from: &str,
    to: &str,
    body: &str,
    num_media: usize,
    date_created: Timestamp,
) -> Message {
    let segments = sms_segments::count(body);
    Message {
        sid: data.next_sid(if num_media > 0 { "MM" } else { "SM" }),
        account_sid: data.account.account_sid.clone(),
        messaging_service_sid: None,
        from: Some(from.to_owned()),
        to: to.to_owned(),
        body: body.to_owned(),
        num_segments: segments,
        num_media,
        direction: "outbound-api",
        status: "delivered",
        error_code: None,
        error_message: None,
        price_e5: Some(-i64::from(segments) * SMS_PRICE_E5),
        date_created,
        date_sent: Some(date_created.plus_secs(1)),
    }
}

/// Appends `n` delivered messages dated from 2026-02-01, one minute apart; returns their SIDs.
pub(crate) fn add_messages(data: &mut AccountData, n: usize) -> Vec<String> {
    let start = Timestamp::at(Date::ymd(2026, 2, 1), 0, 0, 0);
    let offset = data.messages.len();
    (0..n)
        .map(|i| {
            let k = offset + i;
            let to = format!("+1555020{:04}", k % 10_000);
            let body = format!("Seeded message #{k}");
            let date = start.plus_secs(k as i64 * 60);
            let message = stored_message(data, MAIN_NUMBER, &to, &body, 0, date);
            let sid = message.sid.clone();
            data.messages.push(message);
            sid
        })
        .collect()
}

/// Daily usage for every category from 2026-01-01 to 2026-03-31.
fn seed_usage(data: &mut AccountData) {
    let first = Date::ymd(2026, 1, 1);
    let last = Date::ymd(2026, 3, 31);
    let numbers = data.numbers.len() as u64;
    let mut date = first;
    while date <= last {
        let day = date.to_string();
        let noise =
            |what: &str, modulo: u64| pseudo(&[&data.account.account_sid, &day, what]) % modulo;
        let sms = 5 + noise("sms", 20);
        let calls = 2 + noise("calls", 6);
        let minutes = calls * 3 + noise("minutes", 5);
        let mut rows = vec![
            ("sms", sms, sms, sms as i64 * SMS_PRICE_E5),
            ("calls", calls, minutes, minutes as i64 * MINUTE_PRICE_E5),
            (
                "phonenumbers",
                numbers,
                numbers,
                numbers as i64 * NUMBER_DAY_PRICE_E5,
            ),
        ];
        let total: i64 = rows.iter().map(|row| row.3).sum();
        rows.push(("totalprice", 0, total.unsigned_abs(), total));
        for (category, count, usage, price_e5) in rows {
            debug_assert!(CATEGORIES.iter().any(|c| c.name == category));
            data.usage.push(DailyUsage {
                date,
                category,
                count,
                usage,
                price_e5,
            });
        }
        date = date.add_days(1);
    }
}
