//! Request routing for both listeners, and what the handlers share.

pub(crate) mod accounts;
pub(crate) mod calls;
pub(crate) mod lookups;
pub(crate) mod magic;
pub(crate) mod messages;
pub(crate) mod phone_numbers;
pub(crate) mod recordings;
pub(crate) mod usage;
pub(crate) mod validate;

use crate::auth;
use crate::errors::ApiError;
use crate::reply::Reply;
use crate::request::SimRequest;
use crate::resources::Identified;
use crate::state::{AccountData, SimState, World};
use crate::util::form::decode_path_segment;
use crate::util::time::Timestamp;

/// What an account-scoped handler gets.
pub(crate) struct Ctx<'a> {
    /// The authenticated account, which is also the one in the path.
    pub data: &'a mut AccountData,
    /// The request.
    pub request: &'a SimRequest,
    /// Base URL of the core API listener.
    pub api_base: &'a str,
}

/// Answers a request to the core API listener.
pub(crate) fn handle_api(state: &SimState, request: &SimRequest) -> Reply {
    state
        .with(|world| api(world, request))
        .unwrap_or_else(ApiError::into_reply)
}

/// Answers a request to the Lookup listener.
pub(crate) fn handle_lookups(state: &SimState, request: &SimRequest) -> Reply {
    state
        .with(|world| lookups_api(world, request))
        .unwrap_or_else(ApiError::into_reply)
}

/// The percent-decoded path segments, or `None` if one is not valid UTF-8.
fn segments(path: &str) -> Option<Vec<String>> {
    path.trim_start_matches('/')
        .split('/')
        .map(|segment| decode_path_segment(segment.as_bytes()).ok())
        .collect()
}

/// `name` with its `.json` suffix removed, or 404.
pub(crate) fn strip_json<'a>(name: &'a str, request: &SimRequest) -> Result<&'a str, ApiError> {
    name.strip_suffix(".json")
        .filter(|stem| !stem.is_empty())
        .ok_or_else(|| ApiError::not_found(&request.path))
}

/// 200 with `render` of the item of `items` whose SID is `sid`, or 404 / 20404.
pub(crate) fn fetch_reply<T: Identified>(
    items: &[T],
    sid: &str,
    request: &SimRequest,
    render: impl Fn(&T) -> serde_json::Value,
) -> Result<Reply, ApiError> {
    items
        .iter()
        .find(|item| item.sid() == sid)
        .map(|item| Reply::json(200, &render(item)))
        .ok_or_else(|| ApiError::not_found(&request.path))
}

/// References to `items`, newest first by `created` (later insertions first on ties).
pub(crate) fn newest_first<T>(items: &[T], created: impl Fn(&T) -> Timestamp) -> Vec<&T> {
    let mut refs: Vec<(usize, &T)> = items.iter().enumerate().collect();
    refs.sort_by(|(i, a), (j, b)| created(b).cmp(&created(a)).then(j.cmp(i)));
    refs.into_iter().map(|(_, item)| item).collect()
}

fn api(world: &mut World, request: &SimRequest) -> Result<Reply, ApiError> {
    let not_found = || ApiError::not_found(&request.path);
    let segments = segments(&request.path).ok_or_else(not_found)?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (path_sid, tail) = match segments.as_slice() {
        ["2010-04-01", "Accounts.json"] => {
            let account = auth::authenticate(world.accounts.iter().map(|d| &d.account), request)?;
            let sid = account.account_sid.clone();
            request.check_decoded()?;
            return match (request.method.as_str(), world.account_mut(&sid)) {
                ("GET", Some(data)) => accounts::list(data, request),
                _ => Err(not_found()),
            };
        }
        ["2010-04-01", "Accounts", account, tail @ ..] => match tail {
            [] => (strip_json(account, request)?, tail),
            _ => (*account, tail),
        },
        _ => return Err(not_found()),
    };
    let account = auth::authenticate(world.accounts.iter().map(|d| &d.account), request)?;
    if account.account_sid != path_sid {
        return Err(ApiError::unauthorized());
    }
    let account_sid = account.account_sid.clone();
    request.check_decoded()?;
    let api_base = world.api_base.clone();
    let data = world.account_mut(&account_sid).ok_or_else(not_found)?;
    let ctx = Ctx {
        data,
        request,
        api_base: &api_base,
    };
    let json = |name: &str| strip_json(name, request).map(str::to_owned);
    match (request.method.as_str(), tail) {
        ("GET", []) => accounts::fetch(ctx),
        ("POST", ["Messages.json"]) => messages::create(ctx),
        ("GET", ["Messages.json"]) => messages::list(ctx),
        ("GET", ["Messages", file]) => messages::fetch(ctx, &json(file)?),
        ("POST", ["Calls.json"]) => calls::create(ctx),
        ("GET", ["Calls.json"]) => calls::list(ctx),
        ("GET", ["Calls", file]) => calls::fetch(ctx, &json(file)?),
        ("GET", ["Calls", call, "Recordings.json"]) => recordings::list(ctx, Some(call)),
        ("GET", ["Calls", call, "Recordings", file]) => recordings::fetch(ctx, Some(call), file),
        ("DELETE", ["Calls", call, "Recordings", file]) => {
            recordings::delete(ctx, Some(call), &json(file)?)
        }
        ("GET", ["Recordings.json"]) => recordings::list(ctx, None),
        ("GET", ["Recordings", file]) => recordings::fetch(ctx, None, file),
        ("DELETE", ["Recordings", file]) => recordings::delete(ctx, None, &json(file)?),
        ("GET", ["IncomingPhoneNumbers.json"]) => phone_numbers::list(ctx),
        ("GET", ["IncomingPhoneNumbers", file]) => phone_numbers::fetch(ctx, &json(file)?),
        ("POST", ["Usage", "Triggers.json"]) => usage::create_trigger(ctx),
        ("GET", ["Usage", "Triggers.json"]) => usage::list_triggers(ctx),
        ("GET", ["Usage", "Triggers", file]) => usage::fetch_trigger(ctx, &json(file)?),
        ("DELETE", ["Usage", "Triggers", file]) => usage::delete_trigger(ctx, &json(file)?),
        ("GET", ["Usage", "Records.json"]) => usage::list_records(ctx, "Records"),
        ("GET", ["Usage", "Records", file]) => usage::list_records(ctx, &json(file)?),
        _ => Err(not_found()),
    }
}

fn lookups_api(world: &mut World, request: &SimRequest) -> Result<Reply, ApiError> {
    let segments = segments(&request.path).ok_or_else(|| ApiError::not_found(&request.path))?;
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", [v2, phone_numbers, number])
            if v2 == "v2" && phone_numbers == "PhoneNumbers" && !number.is_empty() =>
        {
            auth::authenticate(world.accounts.iter().map(|d| &d.account), request)?;
            request.check_decoded()?;
            lookups::fetch(request, number, &world.lookups_base)
        }
        _ => Err(ApiError::not_found(&request.path)),
    }
}
