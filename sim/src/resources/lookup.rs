//! The Lookup v2 `LookupResponse`: every package key present, null unless requested.

use serde_json::{Map, Value, json};

use crate::request::SimRequest;
use crate::util::phone::{NumberError, PhoneNumber};

/// Data packages that may be requested with `Fields`; each is a response key.
pub(crate) const PACKAGES: &[&str] = &[
    "caller_name",
    "sim_swap",
    "call_forwarding",
    "line_status",
    "line_type_intelligence",
    "identity_match",
    "reassigned_number",
    "sms_pumping_risk",
    "phone_number_quality_score",
    "pre_fill",
];

/// `Fields` values accepted besides the packages (basic validation is always returned).
pub(crate) const EXTRA_FIELDS: &[&str] = &["validation"];

/// `identity_match` inputs and the response key each one is compared under.
const IDENTITY_PARAMS: &[(&str, &str)] = &[
    ("FirstName", "first_name_match"),
    ("LastName", "last_name_match"),
    ("AddressLine1", "address_lines_match"),
    ("City", "city_match"),
    ("State", "state_match"),
    ("PostalCode", "postal_code_match"),
    ("AddressCountryCode", "address_country_match"),
    ("NationalId", "national_id_match"),
    ("DateOfBirth", "date_of_birth_match"),
];

/// The response for `input`, parsed as `parsed`, with the `requested` packages filled in.
pub(crate) fn to_json(
    input: &str,
    parsed: &Result<PhoneNumber, NumberError>,
    requested: &[&str],
    request: &SimRequest,
    url_base: &str,
) -> Value {
    let mut map = Map::new();
    match parsed {
        Ok(number) => {
            map.insert("calling_country_code".into(), json!(number.calling_code));
            map.insert("country_code".into(), json!(number.country));
            map.insert("phone_number".into(), json!(number.e164));
            map.insert("national_format".into(), json!(number.national_format()));
            map.insert("valid".into(), json!(true));
            map.insert("validation_errors".into(), json!([]));
        }
        Err(invalid) => {
            map.insert("calling_country_code".into(), Value::Null);
            map.insert("country_code".into(), Value::Null);
            map.insert("phone_number".into(), json!(input));
            map.insert("national_format".into(), Value::Null);
            map.insert("valid".into(), json!(false));
            map.insert("validation_errors".into(), json!([invalid.as_str()]));
        }
    }
    for package in PACKAGES {
        let value = match parsed {
            Ok(number) if requested.contains(package) => package_json(package, number, request),
            _ => Value::Null,
        };
        map.insert((*package).to_owned(), value);
    }
    let shown = parsed.as_ref().map_or(input, |n| n.e164.as_str());
    map.insert(
        "url".into(),
        json!(format!("{url_base}/v2/PhoneNumbers/{shown}")),
    );
    Value::Object(map)
}

/// The line type the simulator assigns: toll-free by area code, else by the last digit
/// (`0` landline, `9` non-fixed VoIP, anything else mobile).
fn line_type(number: &PhoneNumber) -> &'static str {
    if number.is_toll_free() {
        "tollFree"
    } else if number.national.ends_with('0') {
        "landline"
    } else if number.national.ends_with('9') {
        "nonFixedVoip"
    } else {
        "mobile"
    }
}

fn carrier(number: &PhoneNumber) -> (&'static str, &'static str, &'static str) {
    match (number.calling_code, line_type(number)) {
        ("1", "mobile") => ("Sim Wireless", "310", "456"),
        ("1", _) => ("Sim Telecom", "310", "457"),
        _ => ("Sim International", "001", "01"),
    }
}

fn package_json(package: &str, number: &PhoneNumber, request: &SimRequest) -> Value {
    let (carrier_name, mcc, mnc) = carrier(number);
    let mobile = line_type(number) == "mobile";
    match package {
        "caller_name" if number.calling_code == "1" => json!({
            "caller_name": "SIM SUBSCRIBER",
            "caller_type": if mobile { "CONSUMER" } else { "BUSINESS" },
            "error_code": null,
        }),
        "caller_name" => json!({"caller_name": null, "caller_type": null, "error_code": 60600}),
        "line_type_intelligence" => json!({
            "type": line_type(number),
            "carrier_name": carrier_name,
            "mobile_country_code": mcc,
            "mobile_network_code": mnc,
            "error_code": null,
        }),
        "sim_swap" if mobile => json!({
            "last_sim_swap": {
                "last_sim_swap_date": "2025-09-14T08:00:00Z",
                "swapped_period": "PT48H",
                "swapped_in_period": false,
            },
            "carrier_name": carrier_name,
            "mobile_country_code": mcc,
            "mobile_network_code": mnc,
            "error_code": null,
        }),
        "sim_swap" => json!({
            "last_sim_swap": null,
            "carrier_name": null,
            "mobile_country_code": null,
            "mobile_network_code": null,
            "error_code": 60612,
        }),
        "call_forwarding" => json!({"call_forwarding_enabled": false, "error_code": null}),
        "line_status" => json!({"status": "active", "error_code": null}),
        "identity_match" => identity_match(request),
        "reassigned_number" => json!({
            "last_verified_date": request.query_param("LastVerifiedDate"),
            "is_number_reassigned": "no",
            "error_code": null,
        }),
        "sms_pumping_risk" => json!({
            "carrier_risk_category": "low",
            "number_blocked": false,
            "number_blocked_date": null,
            "number_blocked_last_3_months": null,
            "sms_pumping_risk_score": 5,
            "error_code": null,
        }),
        "phone_number_quality_score" => json!({
            "carrier": carrier_name,
            "quality_category": "high",
            "quality_score": 85,
            "error_code": null,
        }),
        _ => json!({
            "first_name": "Jane",
            "last_name": "Doe",
            "address": {
                "line1": "101 Spear Street",
                "line2": null,
                "city": "San Francisco",
                "state": "CA",
                "postal_code": "94105",
                "country_code": "US",
            },
            "error_code": null,
        }),
    }
}

fn identity_match(request: &SimRequest) -> Value {
    let mut map = Map::new();
    let mut matched = 0u32;
    for (param, key) in IDENTITY_PARAMS {
        let given = request
            .query_param(param)
            .is_some_and(|value| !value.is_empty());
        matched += u32::from(given);
        let verdict = if given {
            "exact_match"
        } else {
            "no_data_available"
        };
        map.insert((*key).to_owned(), json!(verdict));
    }
    map.insert("summary_score".into(), json!((matched * 20).min(100)));
    map.insert("error_code".into(), Value::Null);
    map.insert("error_message".into(), Value::Null);
    Value::Object(map)
}
