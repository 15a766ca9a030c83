//! Usage categories, daily usage data and the UsageRecord resource (15 properties, no SID).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{API_VERSION, account_path, decimal};
use crate::util::form;
use crate::util::interned;
use crate::util::time::{Date, Timestamp};

/// A usage category and its units.
#[derive(Debug)]
pub(crate) struct Category {
    pub name: &'static str,
    pub description: &'static str,
    pub count_unit: &'static str,
    pub usage_unit: &'static str,
    /// `usage` is an amount of money (shown with five decimals) rather than a count.
    pub money_usage: bool,
}

/// The categories the simulator tracks.
pub(crate) const CATEGORIES: &[Category] = &[
    Category {
        name: "calls",
        description: "Voice Minutes",
        count_unit: "calls",
        usage_unit: "minutes",
        money_usage: false,
    },
    Category {
        name: "phonenumbers",
        description: "Phone Numbers",
        count_unit: "phonenumbers",
        usage_unit: "phonenumbers",
        money_usage: false,
    },
    Category {
        name: "sms",
        description: "SMS Messages",
        count_unit: "messages",
        usage_unit: "messages",
        money_usage: false,
    },
    Category {
        name: "totalprice",
        description: "Total Price",
        count_unit: "",
        usage_unit: "usd",
        money_usage: true,
    },
];

/// The category called `name`.
pub(crate) fn category(name: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.name == name)
}

/// One day of usage in one category.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DailyUsage {
    pub date: Date,
    #[serde(deserialize_with = "interned::text")]
    pub category: interned::Text,
    pub count: u64,
    /// A count, or an amount in 1e-5 units for money categories.
    pub usage: u64,
    pub price_e5: i64,
}

/// Summed usage.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Totals {
    pub count: u64,
    pub usage: u64,
    pub price_e5: i64,
}

/// Sums `days` of `category` between `start` and `end` inclusive.
pub(crate) fn totals(days: &[DailyUsage], category: &str, start: Date, end: Date) -> Totals {
    days.iter()
        .filter(|d| d.category == category && d.date >= start && d.date <= end)
        .fold(Totals::default(), |acc, d| Totals {
            count: acc.count + d.count,
            usage: acc.usage + d.usage,
            price_e5: acc.price_e5 + d.price_e5,
        })
}

/// A usage value as its string form.
pub(crate) fn format_usage(category: &Category, usage: u64) -> String {
    if category.money_usage {
        decimal(i64::try_from(usage).unwrap_or(i64::MAX))
    } else {
        usage.to_string()
    }
}

/// One usage record: a category's totals over a period.
#[derive(Debug)]
pub(crate) struct UsageRecord<'a> {
    pub account_sid: &'a str,
    pub category: &'static Category,
    pub start: Date,
    pub end: Date,
    pub totals: Totals,
    pub as_of: Timestamp,
}

impl UsageRecord<'_> {
    /// The UsageRecord JSON.
    pub(crate) fn to_json(&self) -> Value {
        let records = format!("{}/Usage/Records", account_path(self.account_sid));
        let category_query = form::encode([("Category", self.category.name)]);
        let sub = |name: &str| format!("{records}/{name}.json?{category_query}");
        let period_query = form::encode([
            ("Category", self.category.name),
            ("StartDate", &self.start.to_string()),
            ("EndDate", &self.end.to_string()),
        ]);
        json!({
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "as_of": self.as_of.iso_offset(),
            "category": self.category.name,
            "count": self.totals.count.to_string(),
            "count_unit": self.category.count_unit,
            "description": self.category.description,
            "end_date": self.end.to_string(),
            "price": decimal(self.totals.price_e5),
            "price_unit": "usd",
            "start_date": self.start.to_string(),
            "subresource_uris": {
                "all_time": sub("AllTime"),
                "daily": sub("Daily"),
                "last_month": sub("LastMonth"),
                "monthly": sub("Monthly"),
                "this_month": sub("ThisMonth"),
                "today": sub("Today"),
                "yearly": sub("Yearly"),
                "yesterday": sub("Yesterday"),
            },
            "uri": format!("{records}.json?{period_query}"),
            "usage": format_usage(self.category, self.totals.usage),
            "usage_unit": self.category.usage_unit,
        })
    }
}
