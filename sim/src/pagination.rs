//! The 2010 API list envelope: `PageSize`, `Page`, opaque `PageToken`s and the page URIs.

use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::reply::Reply;
use crate::request::SimRequest;
use crate::util::form;
use crate::util::sid::hex32;

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 1000;
const PAGING_PARAMS: [&str; 3] = ["PageSize", "Page", "PageToken"];

/// Which slice of a list a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PageRequest {
    page: usize,
    page_size: usize,
    offset: usize,
}

impl PageRequest {
    fn parse(request: &SimRequest) -> Result<Self, ApiError> {
        let page_size = match request.query_param("PageSize") {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|size| (1..=MAX_PAGE_SIZE).contains(size))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "Invalid PageSize {text}: must be an integer from 1 to {MAX_PAGE_SIZE}"
                    ))
                })?,
        };
        let page = match request.query_param("Page") {
            None => None,
            Some(text) => Some(
                text.parse::<usize>()
                    .map_err(|_| ApiError::invalid(format!("Invalid Page {text}")))?,
            ),
        };
        let offset = match request.query_param("PageToken") {
            Some(token) => decode_token(&request.path, token)?,
            None => page.unwrap_or(0).saturating_mul(page_size),
        };
        Ok(PageRequest {
            page: page.unwrap_or(offset / page_size),
            page_size,
            offset,
        })
    }
}

/// `PA` (next) or `PB` (previous) followed by hex of `offset:check`, where the check ties the
/// token to the list path so that forged or garbled tokens are rejected.
fn encode_token(prefix: &str, path: &str, offset: usize) -> String {
    let offset = offset.to_string();
    let check = &hex32(&["page-token", path, &offset])[..8];
    format!("{prefix}{}", hex::encode(format!("{offset}:{check}")))
}

fn decode_token(path: &str, token: &str) -> Result<usize, ApiError> {
    let invalid = || ApiError::invalid(format!("Invalid PageToken {token}"));
    let body = token
        .strip_prefix("PA")
        .or_else(|| token.strip_prefix("PB"))
        .ok_or_else(invalid)?;
    let bytes = hex::decode(body).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (offset, _) = text.split_once(':').ok_or_else(invalid)?;
    let value: usize = offset.parse().map_err(|_| invalid())?;
    if encode_token("PA", path, value) != format!("PA{body}") {
        return Err(invalid());
    }
    Ok(value)
}

/// Builds `path?filters&PageSize=..&Page=..[&PageToken=..]`, keeping the request's filters.
fn page_uri(request: &SimRequest, page_size: usize, page: usize, token: Option<String>) -> String {
    let size = page_size.to_string();
    let page = page.to_string();
    let filters = request
        .query
        .iter()
        .filter(|(key, _)| !PAGING_PARAMS.contains(&key.as_str()))
        .map(|(key, value)| (key.as_str(), value.as_str()));
    let paging = [("PageSize", size.as_str()), ("Page", page.as_str())];
    let token = token.as_deref().map(|t| ("PageToken", t));
    let query = form::encode(filters.chain(paging).chain(token));
    format!("{}?{query}", request.path)
}

/// Answers a list request: the page of `items` (already filtered and ordered) that the request
/// asks for, rendered with `render`, in the envelope under `key`.
pub(crate) fn list_reply<T>(
    request: &SimRequest,
    key: &str,
    items: &[T],
    render: impl Fn(&T) -> Value,
) -> Result<Reply, ApiError> {
    let PageRequest {
        page,
        page_size,
        offset,
    } = PageRequest::parse(request)?;
    let end = offset.saturating_add(page_size).min(items.len());
    let slice = items.get(offset..end).unwrap_or(&[]);
    let next = (end < items.len()).then(|| {
        let token = encode_token("PA", &request.path, end);
        page_uri(request, page_size, page.saturating_add(1), Some(token))
    });
    let previous = (page > 0 && offset > 0).then(|| {
        let token = encode_token("PB", &request.path, offset.saturating_sub(page_size));
        page_uri(request, page_size, page - 1, Some(token))
    });
    let current_token = request.query_param("PageToken").map(str::to_owned);
    let mut envelope = Map::new();
    envelope.insert(key.to_owned(), slice.iter().map(render).collect());
    envelope.insert("end".into(), json!(offset + slice.len().saturating_sub(1)));
    envelope.insert(
        "first_page_uri".into(),
        json!(page_uri(request, page_size, 0, None)),
    );
    envelope.insert("next_page_uri".into(), json!(next));
    envelope.insert("page".into(), json!(page));
    envelope.insert("page_size".into(), json!(page_size));
    envelope.insert("previous_page_uri".into(), json!(previous));
    envelope.insert("start".into(), json!(offset));
    envelope.insert(
        "uri".into(),
        json!(page_uri(request, page_size, page, current_token)),
    );
    Ok(Reply::json(200, &Value::Object(envelope)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_forgeries() {
        let token = encode_token("PA", "/p", 50);
        assert_eq!(decode_token("/p", &token), Ok(50));
        assert_eq!(decode_token("/p", &token.replacen("PA", "PB", 1)), Ok(50));
        assert!(decode_token("/other", &token).is_err());
        assert!(decode_token("/p", &encode_token("PA", "/p", 50).replace('3', "4")).is_err());
        assert!(decode_token("/p", "PAzz").is_err());
        assert!(decode_token("/p", "garbage").is_err());
        assert!(decode_token("/p", "PAé").is_err());
    }
}
