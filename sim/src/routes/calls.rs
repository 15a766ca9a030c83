//! Calls: create, fetch and list.

use super::validate::{is_http_url, one_of, optional_url};
use super::{Ctx, fetch_reply, magic, newest_first};
use crate::errors::ApiError;
use crate::filters::{DateFilter, exact};
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::resources::call::Call;
use crate::seed::MAGIC_SENDER;
use crate::util::phone;
use crate::util::time::Timestamp;

const MAX_TWIML_CHARS: usize = 4000;
const STATUSES: &[&str] = &[
    "queued",
    "ringing",
    "in-progress",
    "canceled",
    "completed",
    "failed",
    "busy",
    "no-answer",
];
const METHODS: &[&str] = &["GET", "POST"];

/// True for `sip:…` and `client:…` endpoints, which need no E.164 validation.
fn is_endpoint(address: &str) -> bool {
    address.starts_with("sip:") || address.starts_with("client:")
}

/// `POST …/Calls.json` -> 201 Call (queued, outbound-api).
pub(crate) fn create(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let to = request
        .form_param("To")
        .ok_or_else(|| ApiError::bad_request(21201, "No 'To' number is specified"))?;
    let from = request
        .form_param("From")
        .ok_or_else(|| ApiError::bad_request(21213, "No 'From' number is specified"))?;
    let url = request.form_param("Url");
    let twiml = request.form_param("Twiml");
    if url.is_none() && twiml.is_none() && request.form_param("ApplicationSid").is_none() {
        return Err(ApiError::bad_request(
            21205,
            "Url parameter is required. Please provide Url, Twiml or ApplicationSid.",
        ));
    }
    if let Some(url) = url.filter(|url| !is_http_url(url)) {
        return Err(ApiError::bad_request(
            21205,
            format!("Url is not a valid URL: {url}"),
        ));
    }
    if twiml.is_some_and(|t| t.chars().count() > MAX_TWIML_CHARS) {
        return Err(ApiError::invalid(
            "Twiml must be at most 4000 characters long.",
        ));
    }
    optional_url(request, "StatusCallback", 21609)?;
    optional_url(request, "FallbackUrl", 21205)?;
    for name in ["Method", "FallbackMethod", "StatusCallbackMethod"] {
        one_of(request, name, METHODS, None)?;
    }
    if let Some(timeout) = request.form_param("Timeout") {
        timeout
            .parse::<u32>()
            .ok()
            .filter(|t| (1..=600).contains(t))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Timeout must be an integer from 1 to 600, not '{timeout}'"
                ))
            })?;
    }

    check_to(&ctx, to)?;
    let phone_number_sid = check_from(&ctx, from, to)?;
    let sid = ctx.data.next_sid("CA");
    let call = Call {
        sid,
        account_sid: ctx.data.account.account_sid.clone(),
        to: to.to_owned(),
        from: from.to_owned(),
        phone_number_sid,
        status: "queued",
        direction: "outbound-api",
        answered_by: None,
        date_created: Timestamp::now(),
        start_time: None,
        duration: None,
        price_e5: None,
    };
    let reply = Reply::json(201, &call.to_json());
    ctx.data.calls.push(call);
    Ok(reply)
}

fn check_to(ctx: &Ctx<'_>, to: &str) -> Result<(), ApiError> {
    if is_endpoint(to) {
        return Ok(());
    }
    if phone::parse_e164(to).is_err() {
        return Err(ApiError::bad_request(
            21211,
            format!("Invalid 'To' Phone Number: {to}"),
        ));
    }
    magic::check(magic::CALL_TO, to)?;
    let account = &ctx.data.account;
    if account.is_trial() && !account.verified_numbers.iter().any(|n| n == to) {
        return Err(ApiError::bad_request(
            21219,
            format!(
                "The number {to} is unverified. Trial accounts may only make calls to verified numbers."
            ),
        ));
    }
    Ok(())
}

/// Checks the caller ID; returns the SID of the owned number used, if any.
fn check_from(ctx: &Ctx<'_>, from: &str, to: &str) -> Result<Option<String>, ApiError> {
    if from.starts_with("client:") {
        return Ok(None);
    }
    if phone::parse_e164(from).is_err() && !(is_endpoint(to) && is_endpoint(from)) {
        return Err(ApiError::bad_request(
            21212,
            format!("Invalid From Number (caller ID): {from}"),
        ));
    }
    magic::check(magic::CALL_FROM, from)?;
    let owned = ctx.data.owned_number(from).filter(|n| n.voice);
    let verified = ctx.data.account.verified_numbers.iter().any(|n| n == from);
    if owned.is_none() && !verified && from != MAGIC_SENDER {
        return Err(ApiError::bad_request(
            21210,
            format!(
                "The source phone number provided, {from}, is not yet verified for your account. You may only make calls from phone numbers that you've verified or purchased from Twilio."
            ),
        ));
    }
    Ok(owned.map(|n| n.sid.clone()))
}

/// `GET …/Calls/{Sid}.json`.
pub(crate) fn fetch(ctx: Ctx<'_>, sid: &str) -> Result<Reply, ApiError> {
    fetch_reply(&ctx.data.calls, sid, ctx.request, Call::to_json)
}

/// `GET …/Calls.json` with `To`, `From`, `Status`, `ParentCallSid`, `StartTime[<>]`,
/// `EndTime[<>]`, newest first.
pub(crate) fn list(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    if let Some(status) = request
        .query_param("Status")
        .filter(|s| !s.is_empty() && !STATUSES.contains(s))
    {
        return Err(ApiError::invalid(format!(
            "Status must be one of {}, not '{status}'",
            STATUSES.join(", ")
        )));
    }
    let started = DateFilter::parse(request, "StartTime")?;
    let ended = DateFilter::parse(request, "EndTime")?;
    let matching: Vec<&Call> = newest_first(&ctx.data.calls, |c| c.date_created)
        .into_iter()
        .filter(|c| {
            exact(request, "To", Some(&c.to))
                && exact(request, "From", Some(&c.from))
                && exact(request, "Status", Some(c.status))
                && exact(request, "ParentCallSid", None)
                && started.matches(c.start_time)
                && ended.matches(c.end_time())
        })
        .collect();
    list_reply(request, "calls", &matching, |c| c.to_json())
}
