//! Accounts: fetch the authenticated account, and list (just that account).

use super::Ctx;
use crate::errors::ApiError;
use crate::filters::exact;
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::request::SimRequest;
use crate::resources::account;
use crate::state::AccountData;

/// `GET /2010-04-01/Accounts/{Sid}.json`.
pub(crate) fn fetch(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::json(
        200,
        &account::to_json(&ctx.data.account, ctx.data.created),
    ))
}

/// `GET /2010-04-01/Accounts.json` with `FriendlyName`, `Status`.
pub(crate) fn list(data: &AccountData, request: &SimRequest) -> Result<Reply, ApiError> {
    let matching: Vec<&AccountData> = std::iter::once(data)
        .filter(|d| {
            exact(request, "FriendlyName", Some(&d.account.friendly_name))
                && exact(request, "Status", Some("active"))
        })
        .collect();
    list_reply(request, "accounts", &matching, |d| {
        account::to_json(&d.account, d.created)
    })
}
