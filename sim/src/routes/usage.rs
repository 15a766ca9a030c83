//! Usage: records (and their period sub-resources) and triggers.

use super::validate::{is_http_url, one_of, required};
use super::{Ctx, fetch_reply, newest_first};
use crate::errors::ApiError;
use crate::filters::exact;
use crate::pagination::list_reply;
use crate::reply::Reply;
use crate::resources::decimal;
use crate::resources::usage::{
    CATEGORIES, Category, Totals, UsageRecord, category, format_usage, totals,
};
use crate::resources::usage_trigger::UsageTrigger;
use crate::state::AccountData;
use crate::util::time::{Date, Timestamp};

const RECURRING: &[&str] = &["daily", "monthly", "yearly", "alltime"];
const TRIGGER_BY: &[&str] = &["count", "usage", "price"];
const CALLBACK_METHODS: &[&str] = &["GET", "POST"];
const MAX_FRIENDLY_NAME: usize = 64;
const MAX_OFFSET_DAYS: i64 = 36_500;
const MAX_PERIODS: usize = 5_000;

/// How a sub-resource splits its date range into records.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Split {
    Whole,
    Day,
    Month,
    Year,
}

/// Reads a date parameter: `YYYY-MM-DD` or an offset such as `-30days` from `today`.
fn date_param(ctx: &Ctx<'_>, name: &str, today: Date) -> Result<Option<Date>, ApiError> {
    let Some(text) = ctx.request.query_param(name).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let offset = text
        .strip_suffix("days")
        .filter(|n| n.starts_with(['+', '-']))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|days| days.abs() <= MAX_OFFSET_DAYS);
    offset
        .map(|days| today.add_days(days))
        .or_else(|| Date::parse(text))
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "{name} must be YYYY-MM-DD or an offset like -30days"
            ))
        })
}

/// The records `which` (`Records`, `Daily`, `Monthly`, …) covers, and how it splits them.
fn range(ctx: &Ctx<'_>, which: &str, today: Date) -> Result<(Date, Date, Split), ApiError> {
    let first = ctx.data.usage.iter().map(|u| u.date).min().unwrap_or(today);
    let requested = |split| -> Result<(Date, Date, Split), ApiError> {
        let start = date_param(ctx, "StartDate", today)?.unwrap_or(first);
        let end = date_param(ctx, "EndDate", today)?.unwrap_or(today);
        Ok((start, end, split))
    };
    let last_month = today.month_start().add_days(-1);
    match which {
        "Records" | "AllTime" => requested(Split::Whole),
        "Daily" => requested(Split::Day),
        "Monthly" => requested(Split::Month),
        "Yearly" => requested(Split::Year),
        "Today" => Ok((today, today, Split::Whole)),
        "Yesterday" => Ok((today.add_days(-1), today.add_days(-1), Split::Whole)),
        "ThisMonth" => Ok((today.month_start(), today, Split::Whole)),
        "LastMonth" => Ok((last_month.month_start(), last_month, Split::Whole)),
        _ => Err(ApiError::not_found(&ctx.request.path)),
    }
}

/// `[start, end]` cut into consecutive periods.
fn periods(start: Date, end: Date, split: Split) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut from = start;
    while from <= end && out.len() <= MAX_PERIODS {
        let period_end = match split {
            Split::Whole => end,
            Split::Day => from,
            Split::Month => from.month_end(),
            Split::Year => from.year_end(),
        };
        let to = period_end.min(end);
        out.push((from, to));
        from = to.add_days(1);
    }
    out
}

/// `GET …/Usage/Records.json` and `…/Usage/Records/{Daily,Monthly,…}.json` with `Category`,
/// `StartDate`, `EndDate`: one record per category and period.
pub(crate) fn list_records(ctx: Ctx<'_>, which: &str) -> Result<Reply, ApiError> {
    let now = Timestamp::now();
    let (start, end, split) = range(&ctx, which, now.date())?;
    let periods = periods(start, end, split);
    if periods.len() > MAX_PERIODS {
        return Err(ApiError::invalid(format!(
            "The date range splits into more than {MAX_PERIODS} periods; narrow StartDate/EndDate"
        )));
    }
    let categories = CATEGORIES
        .iter()
        .filter(|c| exact(ctx.request, "Category", Some(c.name)));
    let records: Vec<UsageRecord<'_>> = categories
        .flat_map(|category| periods.iter().map(move |&(from, to)| (category, from, to)))
        .map(|(category, from, to)| UsageRecord {
            account_sid: &ctx.data.account.account_sid,
            category,
            start: from,
            end: to,
            totals: totals(&ctx.data.usage, category.name, from, to),
            as_of: now,
        })
        .collect();
    list_reply(ctx.request, "usage_records", &records, UsageRecord::to_json)
}

/// The period a trigger's `recurring` value watches.
fn trigger_period(recurring: Option<&str>, today: Date) -> (Date, Date) {
    match recurring {
        Some("daily") => (today, today),
        Some("monthly") => (today.month_start(), today),
        Some("yearly") => (today.year_start(), today),
        _ => (Date::ymd(1970, 1, 1), today),
    }
}

/// The watched value in 1e-5 units.
fn watched_e5(
    data: &AccountData,
    category_name: &str,
    trigger_by: &str,
    recurring: Option<&str>,
) -> i64 {
    let Some(category) = category(category_name) else {
        return 0;
    };
    let (start, end) = trigger_period(recurring, Timestamp::now().date());
    let Totals {
        count,
        usage,
        price_e5,
    } = totals(&data.usage, category.name, start, end);
    let as_e5 = |n: u64| {
        i64::try_from(n)
            .unwrap_or(i64::MAX / 100_000)
            .saturating_mul(100_000)
    };
    match trigger_by {
        "count" => as_e5(count),
        "price" => price_e5,
        _ if category.money_usage => i64::try_from(usage).unwrap_or(i64::MAX),
        _ => as_e5(usage),
    }
}

/// A 1e-5 amount as a plain string: an integer when whole, else five decimals.
fn plain(e5: i64) -> String {
    if e5 % 100_000 == 0 {
        (e5 / 100_000).to_string()
    } else {
        decimal(e5)
    }
}

/// The trigger's `current_value` as a string.
pub(crate) fn current_value(data: &AccountData, trigger: &UsageTrigger) -> String {
    let e5 = watched_e5(
        data,
        &trigger.usage_category,
        &trigger.trigger_by,
        trigger.recurring.as_deref(),
    );
    match (
        trigger.trigger_by.as_str(),
        category(&trigger.usage_category),
    ) {
        (
            "usage",
            Some(
                category @ Category {
                    money_usage: false, ..
                },
            ),
        ) => format_usage(category, u64::try_from(e5 / 100_000).unwrap_or(0)),
        _ => plain(e5),
    }
}

/// Parses a decimal such as `50`, `50.00`, `-1.5` into 1e-5 units.
fn parse_e5(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || fraction.len() > 5 || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<5}").parse().ok()?;
    let value = whole.checked_mul(100_000)?.checked_add(fraction)?;
    Some(if negative { -value } else { value })
}

/// `POST …/Usage/Triggers.json` -> 201 UsageTrigger.
pub(crate) fn create_trigger(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let callback_url = required(request, "CallbackUrl", 20001)?;
    let trigger_value = required(request, "TriggerValue", 20001)?;
    let usage_category = required(request, "UsageCategory", 20001)?;
    if !is_http_url(callback_url) {
        return Err(ApiError::invalid(format!(
            "CallbackUrl {callback_url} is not a valid URL"
        )));
    }
    let recurring = one_of(request, "Recurring", RECURRING, None)?;
    let trigger_by = one_of(request, "TriggerBy", TRIGGER_BY, Some("usage"))?.unwrap_or("usage");
    let callback_method =
        one_of(request, "CallbackMethod", CALLBACK_METHODS, Some("POST"))?.unwrap_or("POST");
    let friendly_name = request.form_param("FriendlyName");
    if friendly_name.is_some_and(|n| n.chars().count() > MAX_FRIENDLY_NAME) {
        return Err(ApiError::invalid(
            "FriendlyName must be at most 64 characters",
        ));
    }
    let invalid_value = || {
        ApiError::invalid(format!(
            "TriggerValue {trigger_value} is not a number or an offset like +30"
        ))
    };
    let trigger_value = match trigger_value.strip_prefix('+') {
        Some(offset) => {
            let offset = parse_e5(offset)
                .filter(|o| *o >= 0)
                .ok_or_else(invalid_value)?;
            plain(
                watched_e5(ctx.data, usage_category, trigger_by, recurring).saturating_add(offset),
            )
        }
        None => {
            parse_e5(trigger_value).ok_or_else(invalid_value)?;
            trigger_value.to_owned()
        }
    };
    let trigger = UsageTrigger {
        sid: ctx.data.next_sid("UT"),
        account_sid: ctx.data.account.account_sid.clone(),
        friendly_name: friendly_name.map(str::to_owned),
        usage_category: usage_category.to_owned(),
        trigger_by: trigger_by.to_owned(),
        trigger_value,
        recurring: recurring.map(str::to_owned),
        callback_url: callback_url.to_owned(),
        callback_method: callback_method.to_owned(),
        date_created: Timestamp::now(),
    };
    let reply = Reply::json(201, &trigger.to_json(&current_value(ctx.data, &trigger)));
    ctx.data.triggers.push(trigger);
    Ok(reply)
}

/// `GET …/Usage/Triggers.json` with `Recurring`, `TriggerBy`, `UsageCategory`, newest first.
pub(crate) fn list_triggers(ctx: Ctx<'_>) -> Result<Reply, ApiError> {
    let request = ctx.request;
    let data = &*ctx.data;
    let matching: Vec<&UsageTrigger> = newest_first(&data.triggers, |t| t.date_created)
        .into_iter()
        .filter(|t| {
            exact(request, "Recurring", t.recurring.as_deref())
                && exact(request, "TriggerBy", Some(&t.trigger_by))
                && exact(request, "UsageCategory", Some(&t.usage_category))
        })
        .collect();
    list_reply(request, "usage_triggers", &matching, |t| {
        t.to_json(&current_value(data, t))
    })
}

/// `GET …/Usage/Triggers/{Sid}.json`.
pub(crate) fn fetch_trigger(ctx: Ctx<'_>, sid: &str) -> Result<Reply, ApiError> {
    let data = &*ctx.data;
    fetch_reply(&data.triggers, sid, ctx.request, |t| {
        t.to_json(&current_value(data, t))
    })
}

/// `DELETE …/Usage/Triggers/{Sid}.json` -> 204.
pub(crate) fn delete_trigger(ctx: Ctx<'_>, sid: &str) -> Result<Reply, ApiError> {
    let before = ctx.data.triggers.len();
    ctx.data.triggers.retain(|t| t.sid != sid);
    if ctx.data.triggers.len() == before {
        return Err(ApiError::not_found(&ctx.request.path));
    }
    Ok(Reply::empty(204))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals() {
        assert_eq!(parse_e5("50"), Some(5_000_000));
        assert_eq!(parse_e5("50.00"), Some(5_000_000));
        assert_eq!(parse_e5("-1.5"), Some(-150_000));
        assert_eq!(parse_e5("1.123456"), None);
        assert_eq!(parse_e5("abc"), None);
        assert_eq!(parse_e5(".5"), None);
        assert_eq!(parse_e5("99999999999999999999"), None);
    }

    #[test]
    fn splits_periods() {
        let (a, b) = (Date::ymd(2026, 1, 30), Date::ymd(2026, 3, 2));
        assert_eq!(periods(a, b, Split::Month).len(), 3);
        assert_eq!(periods(a, b, Split::Day).len(), 32);
        assert_eq!(periods(a, b, Split::Whole), vec![(a, b)]);
        assert!(periods(b, a, Split::Whole).is_empty());
    }
}
