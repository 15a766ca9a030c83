//! Arbitrary HTTP responses (status, `Retry-After`, body bytes or generated JSON) or transport
//! failures as the answer to a valid call of one of the 15 functions: a result table or an
//! error table, and requests only to the account's endpoint. Never a panic or a hang.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value as Json};
use twilio_plugin::{HttpResponse, TransportError};
use twilio_plugin::fuzzing::{self, RESPONSE_KEYS};
use twilio_plugin::spec::FUNCTIONS;

/// How deep generated JSON nests.
const MAX_DEPTH: u32 = 5;

/// JSON whose object keys are mostly the ones Twilio responses use.
fn json(u: &mut Unstructured, depth: u32) -> Result<Json> {
    let kinds = if depth >= MAX_DEPTH { 5 } else { 7 };
    Ok(match u.int_in_range(0..=kinds - 1)? {
        0 => Json::Null,
        1 => Json::Bool(u.arbitrary()?),
        2 => Json::from(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Json::Null, Json::Number),
        4 => Json::String(u.arbitrary()?),
        5 => {
            let mut items = Vec::new();
            while u.arbitrary::<bool>()? && items.len() < 8 {
                items.push(json(u, depth + 1)?);
            }
            Json::Array(items)
        }
        _ => {
            let mut fields = Map::new();
            while u.arbitrary::<bool>()? && fields.len() < 10 {
                let key = if u.ratio(3, 4)? {
                    u.choose(RESPONSE_KEYS)?.to_string()
                } else {
                    u.arbitrary()?
                };
                fields.insert(key, json(u, depth + 1)?);
            }
            Json::Object(fields)
        }
    })
}

/// A response or a transport failure.
fn response(
    u: &mut Unstructured,
    success: u16,
) -> Result<std::result::Result<HttpResponse, TransportError>> {
    if u.ratio(1, 10)? {
        let detail: String = u.arbitrary()?;
        return Ok(Err(match u.int_in_range(0..=3)? {
            0 => TransportError::Timeout(detail),
            1 => TransportError::Connection(detail),
            2 => TransportError::TooLarge(detail),
            _ => TransportError::Other(detail),
        }));
    }
    let status = if u.ratio(1, 2)? {
        success
    } else {
        u.arbitrary()?
    };
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if u.ratio(1, 5)? {
        headers.push(("retry-after".to_owned(), u.arbitrary()?));
    }
    let body = if u.ratio(3, 4)? {
        json(u, 0)?.to_string().into_bytes()
    } else {
        u.arbitrary::<Vec<u8>>()?
    };
    Ok(Ok(HttpResponse {
        status,
        headers,
        body,
    }))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(spec) = u.choose(FUNCTIONS) else {
        return;
    };
    let Ok(response) = response(&mut u, spec.success) else {
        return;
    };
    if let Err(failure) = fuzzing::check_response(spec, response.clone()) {
        panic!("{}: {failure}\nresponse: {response:?}", spec.name);
    }
});
