//! List filters shared by the list endpoints: exact matches and `Name` / `Name<` / `Name>` dates.

use crate::errors::ApiError;
use crate::request::SimRequest;
use crate::util::time::{Date, Timestamp};

/// A date filter: on a day, on or before, and/or on or after.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DateFilter {
    on: Option<Date>,
    before: Option<Date>,
    after: Option<Date>,
}

impl DateFilter {
    /// Reads `name`, `name<` and `name>` from the query (`YYYY-MM-DD`, time part ignored).
    pub(crate) fn parse(request: &SimRequest, name: &str) -> Result<Self, ApiError> {
        let read = |key: String| -> Result<Option<Date>, ApiError> {
            request
                .query_param(&key)
                .filter(|value| !value.is_empty())
                .map(|value| {
                    Date::parse(value).ok_or_else(|| {
                        ApiError::invalid(format!("{key} must be a date in YYYY-MM-DD format"))
                    })
                })
                .transpose()
        };
        Ok(DateFilter {
            on: read(name.to_owned())?,
            before: read(format!("{name}<"))?,
            after: read(format!("{name}>"))?,
        })
    }

    /// True if `when` passes the filter (an unset instant passes only an empty filter).
    pub(crate) fn matches(&self, when: Option<Timestamp>) -> bool {
        if self.on.is_none() && self.before.is_none() && self.after.is_none() {
            return true;
        }
        let Some(day) = when.map(Timestamp::date) else {
            return false;
        };
        self.on.is_none_or(|on| day == on)
            && self.before.is_none_or(|before| day <= before)
            && self.after.is_none_or(|after| day >= after)
    }
}

/// True if the query parameter `name` is absent/empty or equals `value`.
pub(crate) fn exact(request: &SimRequest, name: &str, value: Option<&str>) -> bool {
    match request.query_param(name).filter(|v| !v.is_empty()) {
        None => true,
        Some(wanted) => value == Some(wanted),
    }
}
