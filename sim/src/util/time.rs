//! Calendar arithmetic and the date formats Twilio uses (RFC 2822, ISO 8601, `YYYY-MM-DD`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

const DAY_SECS: i64 = 86_400;
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar day (days since 1970-01-01, GMT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Date(i64);

/// An instant with one-second resolution (seconds since the Unix epoch, GMT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct Timestamp(i64);

impl Date {
    /// The day `year-month-day`; out-of-range parts are normalised arithmetically.
    pub(crate) fn ymd(year: i64, month: u32, day: u32) -> Date {
        Date(days_from_civil(year, month, day))
    }

    /// Parses `YYYY-MM-DD`, optionally followed by a time part (`T…` or ` …`), which is ignored.
    pub(crate) fn parse(text: &str) -> Option<Date> {
        let date = text.get(..10)?;
        let rest = &text[10..];
        if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
            return None;
        }
        let bytes = date.as_bytes();
        if bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = date.get(range)?;
            part.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
        let day = u32::try_from(day).ok()?;
        (day >= 1 && day <= days_in_month(year, month)).then(|| Date::ymd(year, month, day))
    }

    /// `(year, month, day)`.
    pub(crate) fn parts(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    /// The day `n` days later (earlier if negative).
    pub(crate) fn add_days(self, n: i64) -> Date {
        Date(self.0 + n)
    }

    /// The first day of this day's month.
    pub(crate) fn month_start(self) -> Date {
        let (y, m, _) = self.parts();
        Date::ymd(y, m, 1)
    }

    /// The last day of this day's month.
    pub(crate) fn month_end(self) -> Date {
        let (y, m, _) = self.parts();
        Date::ymd(y, m, days_in_month(y, m))
    }

    /// The first day of this day's year.
    pub(crate) fn year_start(self) -> Date {
        Date::ymd(self.parts().0, 1, 1)
    }

    /// The last day of this day's year.
    pub(crate) fn year_end(self) -> Date {
        Date::ymd(self.parts().0, 12, 31)
    }

    /// Midnight at the start of this day.
    pub(crate) fn midnight(self) -> Timestamp {
        Timestamp(self.0 * DAY_SECS)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.parts();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Timestamp {
    /// The current time.
    pub(crate) fn now() -> Timestamp {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Timestamp(i64::try_from(secs).unwrap_or(i64::MAX / 2))
    }

    /// `date` at `hour:minute:second` GMT.
    pub(crate) fn at(date: Date, hour: i64, minute: i64, second: i64) -> Timestamp {
        Timestamp(date.midnight().0 + hour * 3600 + minute * 60 + second)
    }

    /// The instant `secs` seconds later.
    pub(crate) fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0 + secs)
    }

    /// The calendar day of this instant.
    pub(crate) fn date(self) -> Date {
        Date(self.0.div_euclid(DAY_SECS))
    }

    fn hms(self) -> (i64, i64, i64) {
        let s = self.0.rem_euclid(DAY_SECS);
        (s / 3600, s % 3600 / 60, s % 60)
    }

    /// RFC 2822 in GMT, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`.
    pub(crate) fn rfc2822(self) -> String {
        let date = self.date();
        let (y, m, d) = date.parts();
        let (hh, mm, ss) = self.hms();
        let weekday = WEEKDAYS[usize::try_from(date.0.rem_euclid(7)).unwrap_or(0)];
        let month = MONTHS[(m as usize).saturating_sub(1) % 12];
        format!("{weekday}, {d:02} {month} {y:04} {hh:02}:{mm:02}:{ss:02} +0000")
    }

    /// ISO 8601 with a `Z` suffix, e.g. `2020-04-27T10:18:50Z`.
    pub(crate) fn iso_z(self) -> String {
        let (hh, mm, ss) = self.hms();
        format!("{}T{hh:02}:{mm:02}:{ss:02}Z", self.date())
    }

    /// ISO 8601 with a `+00:00` offset, as in usage records' `as_of`.
    pub(crate) fn iso_offset(self) -> String {
        let mut text = self.iso_z();
        text.pop();
        text.push_str("+00:00");
        text
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc2822() {
        let ts = Timestamp::at(Date::ymd(2023, 8, 24), 5, 1, 45);
        assert_eq!(ts.rfc2822(), "Thu, 24 Aug 2023 05:01:45 +0000");
        assert_eq!(ts.iso_z(), "2023-08-24T05:01:45Z");
        assert_eq!(ts.iso_offset(), "2023-08-24T05:01:45+00:00");
    }

    #[test]
    fn parses_dates() {
        assert_eq!(Date::parse("2026-02-28"), Some(Date::ymd(2026, 2, 28)));
        assert_eq!(
            Date::parse("2026-02-28T10:00:00Z"),
            Some(Date::ymd(2026, 2, 28))
        );
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("2026/01/01"), None);
        assert_eq!(Date::parse("2026-01-01x"), None);
        assert_eq!(Date::parse("é026-01-01"), None);
        assert_eq!(Date::ymd(2026, 3, 15).month_end().to_string(), "2026-03-31");
    }
}
