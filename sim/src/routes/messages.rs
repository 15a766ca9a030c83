//! Messages: create (SMS, MMS, WhatsApp), fetch and list.

use super::validate::{is_http_url, optional_url, split_channel};
use super::{Ctx, fetch_reply, magic, newest_first};
use crate::errors::ApiError;
use crate::filters::{DateFilter, exact};
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::resources::message::Message;
use crate::seed::MAGIC_SENDER;
use crate::util::phone;
use crate::util::sid::is_sid;
use crate::util::time::Timestamp;

const MAX_BODY_CHARS: usize = 1600;
const MAX_MEDIA: usize = 10;

/// `POST …/Messages.json` -> 201 Message.
pub(crate) fn create(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let to = request
        .form_param("To")
        .ok_or_else(|| ApiError::bad_request(21604, "A 'To' phone number is required."))?;
    let service = request.form_param("MessagingServiceSid");
    let from = request.form_param("From");
    if from.is_none() && service.is_none() {
        return Err(ApiError::bad_request(
            21603,
            "A 'From' phone number is required.",
        ));
    }
    let body = request.form_param("Body").unwrap_or("");
    let media = request.form_params("MediaUrl");
    if body.is_empty() && media.is_empty() && request.form_param("ContentSid").is_none() {
        return Err(ApiError::bad_request(21602, "Message body is required."));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(ApiError::bad_request(
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ));
    }
    check_media(&media)?;
    optional_url(request, "StatusCallback", 21609)?;
    if let Some(service) = service.filter(|s| !is_sid(s, "MG")) {
        return Err(ApiError::invalid(format!(
            "The MessagingServiceSid {service} is invalid."
        )));
    }

    let (to_channel, to_number) = split_channel(to);
    if phone::parse_e164(to_number).is_err() {
        return Err(ApiError::bad_request(
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        ));
    }
    magic::check(magic::MESSAGE_TO, to_number)?;
    if ctx.data.account.is_trial()
        && !ctx
            .data
            .account
            .verified_numbers
            .iter()
            .any(|n| n == to_number)
    {
        return Err(ApiError::bad_request(
            21608,
            format!(
                "The number {to_number} is unverified. Trial accounts cannot send messages to unverified numbers; verify {to_number} at twilio.com/user/account/phone-numbers/verified, or purchase a Twilio number to send messages to unverified numbers."
            ),
        ));
    }
    let from = match from {
        Some(from) => check_sender(&ctx, from, to_channel)?.to_owned(),
        None => pick_sender(&ctx, to_channel)?,
    };

    let sid = ctx
        .data
        .next_sid(if media.is_empty() { "SM" } else { "MM" });
    let message = Message {
        sid,
        account_sid: ctx.data.account.account_sid.clone(),
        messaging_service_sid: service.map(str::to_owned),
        from: Some(from),
        to: to.to_owned(),
        body: body.to_owned(),
        num_segments: if service.is_some() {
            0
        } else {
            sms_segments::count(body)
        },
        num_media: media.len(),
        direction: "outbound-api",
        status: if service.is_some() {
            "accepted"
        } else {
            "queued"
        },
        error_code: None,
        error_message: None,
        price_e5: None,
        date_created: Timestamp::now(),
        date_sent: None,
    };
    let reply = Reply::json(201, &message.to_json());
    ctx.data.messages.push(message);
    Ok(reply)
}

fn check_media(media: &[&str]) -> Result<(), ApiError> {
    if media.len() > MAX_MEDIA {
        return Err(ApiError::bad_request(
            21623,
            "Number of media files exceeds allowed limit of 10.",
        ));
    }
    match media.iter().find(|url| !is_http_url(url)) {
        Some(url) => Err(ApiError::bad_request(
            21620,
            format!("Media urls: {url} are invalid."),
        )),
        None => Ok(()),
    }
}

/// Checks that `from` may send on `to_channel` for this account.
fn check_sender<'a>(
    ctx: &Ctx<'_>,
    from: &'a str,
    to_channel: Option<&str>,
) -> Result<&'a str, ApiError> {
    let (from_channel, number) = split_channel(from);
    if from_channel != to_channel {
        return Err(ApiError::bad_request(
            21910,
            "Invalid From and To pair. From and To should be of the same channel",
        ));
    }
    magic::check(magic::MESSAGE_FROM, number)?;
    let owned = ctx.data.owned_number(number);
    let allowed = match from_channel {
        Some("whatsapp") => owned.is_some_and(|n| n.whatsapp),
        Some(_) => false,
        None => number == MAGIC_SENDER || owned.is_some_and(|n| n.sms),
    };
    match (allowed, from_channel) {
        (true, _) => Ok(from),
        (false, Some(_)) => Err(ApiError::bad_request(
            63007,
            format!("Twilio could not find a Channel with the specified From address: {from}"),
        )),
        (false, None) => Err(ApiError::bad_request(
            21606,
            format!(
                "The From phone number {from} is not a valid, SMS-capable inbound phone number or short code for your account."
            ),
        )),
    }
}

/// The sender a Messaging Service picks: the first suitable owned number.
fn pick_sender(ctx: &Ctx<'_>, to_channel: Option<&str>) -> Result<String, ApiError> {
    let number = ctx.data.numbers.iter().find(|n| match to_channel {
        Some("whatsapp") => n.whatsapp,
        Some(_) => false,
        None => n.sms,
    });
    match (number, to_channel) {
        (Some(n), Some(channel)) => Ok(format!("{channel}:{}", n.phone_number)),
        (Some(n), None) => Ok(n.phone_number.clone()),
        (None, _) => Err(ApiError::bad_request(
            21606,
            "The Messaging Service has no sender able to reach this 'To' number.",
        )),
    }
}

/// `GET …/Messages/{Sid}.json`.
pub(crate) fn fetch(ctx: Ctx<'_>, sid: &str) -> Result<Reply, ApiError> {
    fetch_reply(&ctx.data.messages, sid, ctx.request, Message::to_json)
}

/// `GET …/Messages.json` with `To`, `From`, `DateSent[<>]`, newest first.
pub(crate) fn list(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let sent = DateFilter::parse(request, "DateSent")?;
    let matching: Vec<&Message> = newest_first(&ctx.data.messages, |m| m.date_created)
        .into_iter()
        .filter(|m| {
            exact(request, "To", Some(&m.to))
                && exact(request, "From", m.from.as_deref())
                && sent.matches(m.date_sent)
        })
        .collect();
    list_reply(request, "messages", &matching, |m| m.to_json())
}
