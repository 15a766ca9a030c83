//! Lookup v2: `GET /v2/PhoneNumbers/{PhoneNumber}?Fields=…`.

use crate::errors::ApiError;
use crate::reply::Reply;
use crate::request::SimRequest;
use crate::resources::lookup::{self, EXTRA_FIELDS, PACKAGES};
use crate::util::phone;

/// 200 with a LookupResponse; invalid numbers are `valid: false`, not an error.
pub(crate) fn fetch(request: &SimRequest, number: &str, url_base: &str) -> Result<Reply, ApiError> {
    let requested: Vec<&str> = request
        .query_param("Fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|field| !field.is_empty())
        .collect();
    if let Some(unknown) = requested
        .iter()
        .find(|field| !PACKAGES.contains(field) && !EXTRA_FIELDS.contains(field))
    {
        return Err(ApiError::invalid(format!(
            "Invalid Fields value '{unknown}'. Allowed: validation, {}",
            PACKAGES.join(", ")
        )));
    }
    let parsed = phone::parse_with_country(number, request.query_param("CountryCode"));
    Ok(Reply::json(
        200,
        &lookup::to_json(number, &parsed, &requested, request, url_base),
    ))
}
