//! "When": relative under 24 hours, absolute local time after.

use std::str::FromStr;

use jiff::{Timestamp, ZonedDateTime as Zoned};

/// `5 minutes ago` when less than a day before `now`, else the local time
/// `YYYY-MM-DD HH:MM:SS ±HHMM` in `now`'s time zone.
pub fn when(recorded: &str, now: &Zoned) -> String {
    let Ok(ts) = Timestamp::from_str(recorded) else {
        return recorded.to_owned();
    };
    let seconds = now.timestamp().as_second() - ts.as_second();
    let ago = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match seconds {
        0..60 => ago(seconds, "second"),
        60..3600 => ago(seconds / 60, "minute"),
        3600..86400 => ago(seconds / 3600, "hour"),
        _ => ts
            .to_zoned_datetime(now.time_zone().clone())
            .strftime("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::{Offset, TimeZone};

    #[test]
    fn relative_then_absolute() {
        let tz = TimeZone::fixed(Offset::from_hours(-7).unwrap());
        let now = Timestamp::from_second(1_700_000_000)
            .unwrap()
            .to_zoned_datetime(tz);
        let at = |s: i64| {
            Timestamp::from_second(1_700_000_000 - s)
                .unwrap()
                .to_string()
        };
        assert_eq!(when(&at(0), &now), "0 seconds ago");
        assert_eq!(when(&at(1), &now), "1 second ago");
        assert_eq!(when(&at(5 * 60 + 3), &now), "5 minutes ago");
        assert_eq!(when(&at(6 * 3600), &now), "6 hours ago");
        assert_eq!(when(&at(86400), &now), "2023-11-13 15:13:20 -0700");
        // A release from the future (a skewed clock) is shown as it is.
        assert_eq!(when(&at(-60), &now), "2023-11-14 15:14:20 -0700");
    }
}
