//! Unit tests of the Twilio API through real Lua: a recording fake [`Transport`] answers with
//! Twilio-shaped responses.

mod calls;
mod failures;
mod namespace;
mod properties;
mod validation;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::client::Client;
use super::retry::RetryPolicy;
use crate::account::Account;
use crate::output::{Buffer, Output};
use crate::runner::{self, Failure, RunOutput};
use crate::sandbox::{Limits, Sandbox};
use crate::transport::recorder::Recorder;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// A 32-digit hex tail for SIDs.
const HEX: &str = "0123456789abcdef0123456789abcdef";

/// The SID of the `default` test account.
const DEFAULT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The SID of the `work` test account.
const WORK_SID: &str = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A recorder that answers like Twilio for every operation of the API.
fn fake_twilio() -> Rc<Recorder> {
    Recorder::new(|request| Ok(twilio_like(request)))
}

/// A recorder that always answers `status` with `body`.
fn fake_always(status: u16, body: &str) -> Rc<Recorder> {
    let body = body.to_owned();
    Recorder::new(move |_| Ok(response(status, &body)))
}

fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn account(name: &str, sid: &str, api: &str, lookups: &str) -> Account {
    Account {
        name: name.into(),
        account_sid: sid.into(),
        api_base_url: api.into(),
        lookups_base_url: lookups.into(),
    }
}

/// An account on Twilio's real hosts.
fn on_twilio(name: &str, sid: &str) -> Account {
    account(
        name,
        sid,
        "https://api.twilio.com",
        "https://lookups.twilio.com",
    )
}

/// `default` on the real hosts and `work` on other hosts.
fn two_accounts() -> Vec<Account> {
    vec![
        on_twilio("default", DEFAULT_SID),
        account(
            "work",
            WORK_SID,
            "https://api.work.test/",
            "https://lookups.work.test",
        ),
    ]
}

/// Retries without waiting; the waits are recorded.
fn quick_retries(waits: Rc<RefCell<Vec<Duration>>>) -> RetryPolicy {
    RetryPolicy {
        sleep: Rc::new(move |wait| waits.borrow_mut().push(wait)),
        random: Rc::new(|| 0.5),
        ..RetryPolicy::standard()
    }
}

/// Runs `script` with `accounts` over `fake`.
fn run_with(script: &str, accounts: Vec<Account>, fake: &Rc<Recorder>) -> RunOutput {
    let transport: Rc<dyn Transport> = fake.clone();
    let limits = Limits {
        memory_bytes: 64 << 20,
        instructions: 100_000_000,
    };
    // As the component runs: the namespace prepared with the sandbox (before the snapshot),
    // the run's accounts and client bound late.
    let buffer = Rc::new(Buffer::default());
    let sandbox = Sandbox::new(Rc::clone(&buffer) as Rc<dyn Output>).expect("a sandbox");
    super::prepare(&sandbox.lua).expect("a namespace");
    let outcome = runner::run(&sandbox, script, limits, |lua| {
        let client = Client::new(transport, quick_retries(Rc::default()));
        super::namespace::bind(lua, accounts, client)
    });
    RunOutput {
        printed: buffer.take(),
        outcome,
    }
}

/// Runs `script` with [`two_accounts`] over `fake` and returns its JSON result.
fn ok(script: &str, fake: &Rc<Recorder>) -> Json {
    let output = run_with(script, two_accounts(), fake);
    match output.outcome {
        Ok(text) => serde_json::from_str(&text).unwrap(),
        Err(failure) => panic!(
            "{script}\nfailed: {failure:#?}\nprinted: {}",
            output.printed
        ),
    }
}

/// Runs `script` with [`two_accounts`] over `fake` and returns its failure.
fn fails(script: &str, fake: &Rc<Recorder>) -> Failure {
    let output = run_with(script, two_accounts(), fake);
    match output.outcome {
        Ok(text) => panic!("{script}\nsucceeded with {text}"),
        Err(failure) => failure,
    }
}

/// The error table of a failure, as JSON.
fn error_value(failure: &Failure) -> Json {
    let text = failure
        .value_json
        .as_deref()
        .unwrap_or_else(|| panic!("not a table: {failure:#?}"));
    serde_json::from_str(text).unwrap()
}

/// The header's value, by name in any case.
fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn message(sid: &str) -> Json {
    json!({
        "sid": sid, "account_sid": DEFAULT_SID, "messaging_service_sid": null,
        "from": "+15559876543", "to": "+15551234567", "body": "Hello from Twilio!",
        "num_segments": "1", "num_media": "0", "direction": "outbound-api", "status": "queued",
        "error_code": null, "error_message": null, "price": null, "price_unit": "USD",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null, "api_version": "2010-04-01",
        "uri": format!("/2010-04-01/Accounts/{DEFAULT_SID}/Messages/{sid}.json"),
        "subresource_uris": {"media": "/Media.json"}
    })
}

fn call(sid: &str) -> Json {
    json!({
        "sid": sid, "account_sid": DEFAULT_SID, "to": "+15551234567", "from": "+15559876543",
        "status": "completed", "duration": "15", "price": "-0.03000", "price_unit": "USD",
        "direction": "outbound-api", "start_time": null, "end_time": null, "api_version": "2010-04-01"
    })
}

fn phone_number(sid: &str) -> Json {
    json!({
        "sid": sid, "account_sid": DEFAULT_SID, "phone_number": "+15559876543",
        "friendly_name": "(555) 987-6543", "capabilities": {"voice": true, "sms": true, "mms": true, "fax": false},
        "sms_url": "", "voice_application_sid": ""
    })
}

fn recording(sid: &str) -> Json {
    json!({
        "sid": sid, "account_sid": DEFAULT_SID, "call_sid": format!("CA{HEX}"), "status": "completed",
        "channels": 1, "duration": "7", "price": "-0.0025", "source": "OutboundAPI"
    })
}

fn usage_record() -> Json {
    json!({
        "account_sid": DEFAULT_SID, "category": "sms", "description": "SMS", "count": "12",
        "count_unit": "messages", "usage": "12", "usage_unit": "messages", "price": "0.09",
        "price_unit": "usd", "start_date": "2026-01-01", "end_date": "2026-01-31",
        "as_of": "2026-02-01T00:00:00+00:00"
    })
}

/// A single-page list envelope.
fn page(key: &str, items: Vec<Json>) -> Json {
    json!({
        key: items, "first_page_uri": "/first", "next_page_uri": null, "previous_page_uri": null,
        "uri": "/this", "page": 0, "page_size": 50, "start": 0, "end": 0
    })
}

/// What Twilio would answer to `request` (the path decides).
fn twilio_like(request: &HttpRequest) -> HttpResponse {
    let path = request.url.split('?').next().unwrap_or_default();
    let last = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".json");
    let (status, body) = match (request.method, path) {
        (Method::Delete, _) => return response(204, ""),
        (Method::Post, p) if p.ends_with("/Messages.json") => (201, message(&format!("SM{HEX}"))),
        (Method::Post, p) if p.ends_with("/Calls.json") => {
            (201, json!({"sid": format!("CA{HEX}"), "status": "queued"}))
        }
        (Method::Post, p) if p.ends_with("/Usage/Triggers.json") => (
            201,
            json!({"sid": format!("UT{HEX}"), "usage_category": "sms", "trigger_value": "50.00", "current_value": "0", "recurring": "monthly"}),
        ),
        (_, p) if p.ends_with("/Messages.json") => {
            (200, page("messages", vec![message(&format!("SM{HEX}"))]))
        }
        (_, p) if p.ends_with("/Calls.json") => {
            (200, page("calls", vec![call(&format!("CA{HEX}"))]))
        }
        (_, p) if p.ends_with("/IncomingPhoneNumbers.json") => (
            200,
            page(
                "incoming_phone_numbers",
                vec![phone_number(&format!("PN{HEX}"))],
            ),
        ),
        (_, p) if p.ends_with("/Usage/Records.json") => {
            (200, page("usage_records", vec![usage_record()]))
        }
        (_, p) if p.ends_with("/Recordings.json") => (
            200,
            page("recordings", vec![recording(&format!("RE{HEX}"))]),
        ),
        (_, p) if p.contains("/Messages/") => (200, message(last)),
        (_, p) if p.contains("/Calls/") => (200, call(last)),
        (_, p) if p.contains("/IncomingPhoneNumbers/") => (200, phone_number(last)),
        (_, p) if p.contains("/v2/PhoneNumbers/") => (
            200,
            json!({"phone_number": last, "country_code": "US", "calling_country_code": "1", "valid": true,
                   "validation_errors": [], "caller_name": null, "line_type_intelligence": {"type": "mobile"}}),
        ),
        (_, p) if p.contains("/Accounts/") => (
            200,
            json!({"sid": last, "friendly_name": "My account", "status": "active", "type": "Full", "auth_token": "secret"}),
        ),
        _ => (
            404,
            json!({"code": 20404, "message": "not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}),
        ),
    };
    response(status, &body.to_string())
}
