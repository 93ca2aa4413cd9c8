//! Cron schedules as upstream parses and runs them (`cron.ParseStandard` of robfig/cron v3):
//! five fields (minute, hour, day of month, month, day of week) or a descriptor (`@daily`,
//! `@every 1h`...), refused with the parser's own message (what the API returns to clients),
//! and the next time a schedule fires after a given one in a time zone (what the CronJob
//! controller runs on).

use jiff::Timestamp;
use jiff::ToSpan;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's bounds and the names it accepts (the first name standing for `min`).
struct Bounds {
    min: i64,
    max: i64,
    names: &'static [&'static str],
}

const FIELDS: [Bounds; 5] = [
    Bounds {
        min: 0,
        max: 59,
        names: &[],
    },
    Bounds {
        min: 0,
        max: 23,
        names: &[],
    },
    Bounds {
        min: 1,
        max: 31,
        names: &[],
    },
    Bounds {
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Bounds {
        min: 0,
        max: 6,
        names: DAYS,
    },
];

/// Set when a field is `*` or `?` (robfig's starBit): day of month and day of week then
/// must both match, instead of either.
const STAR: u64 = 1 << 63;

/// A parsed schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// One bit per allowed value of each field (and `STAR`).
    Fields {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
    },
    /// `@every <duration>`: whole seconds, at least one.
    Every(i64),
}

/// Why `spec` is not a schedule, in the parser's words; `None` when it parses.
pub fn parse_error(spec: &str) -> Option<String> {
    Schedule::parse(spec).err()
}

impl Schedule {
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        if spec.is_empty() {
            return Err("empty spec string".into());
        }
        if let Some(descriptor) = spec.strip_prefix('@') {
            return descriptor_schedule(descriptor, spec);
        }
        let fields: Vec<&str> = spec.split_whitespace().collect();
        if fields.len() != FIELDS.len() {
            return Err(format!(
                "expected exactly 5 fields, found {}: [{}]",
                fields.len(),
                fields.join(" ")
            ));
        }
        let mut bits = [0u64; 5];
        for (i, (field, bounds)) in fields.iter().zip(FIELDS.iter()).enumerate() {
            for part in field.split(',') {
                bits[i] |= range_bits(part, bounds)?;
            }
        }
        Ok(Schedule::Fields {
            minute: bits[0],
            hour: bits[1],
            dom: bits[2],
            month: bits[3],
            dow: bits[4],
        })
    }

    /// The first time after `after` the schedule fires, in `tz`; none within five years.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let (minute, hour, dom, month, dow) = match *self {
            Schedule::Every(seconds) => {
                let whole = Timestamp::from_second(after.as_second()).ok()?;
                return whole.checked_add(seconds.seconds()).ok();
            }
            Schedule::Fields {
                minute,
                hour,
                dom,
                month,
                dow,
            } => (minute, hour, dom, month, dow),
        };
        let has = |bits: u64, n: i64| bits & (1u64 << n) != 0;
        let day_matches = |t: &DateTime| {
            let d = has(dom, i64::from(t.day()));
            let w = has(dow, i64::from(t.weekday().to_sunday_zero_offset()));
            if dom & STAR != 0 || dow & STAR != 0 {
                d && w
            } else {
                d || w
            }
        };
        let local = after.to_zoned(tz.clone()).datetime();
        let mut t = local
            .with()
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()?
            .checked_add(1.minute())
            .ok()?;
        let last_year = t.year() + 5;
        while t.year() <= last_year {
            if !has(month, i64::from(t.month())) {
                t = t
                    .date()
                    .first_of_month()
                    .checked_add(1.month())
                    .ok()?
                    .into();
            } else if !day_matches(&t) {
                t = t.date().tomorrow().ok()?.into();
            } else if !has(hour, i64::from(t.hour())) {
                t = t
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
            } else if !has(minute, i64::from(t.minute())) {
                t = t.checked_add(1.minute()).ok()?;
            } else {
                let fired = tz.to_zoned(t).ok()?.timestamp();
                if fired > after {
                    return Some(fired);
                }
                t = t.checked_add(1.minute()).ok()?;
            }
        }
        None
    }
}

fn descriptor_schedule(descriptor: &str, spec: &str) -> Result<Schedule, String> {
    let fields = match descriptor {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => match descriptor.strip_prefix("every ") {
            Some(duration) => {
                return match go_duration_seconds(duration) {
                    // Under a second runs every second, as upstream rounds it.
                    Some(seconds) => Ok(Schedule::Every((seconds.floor() as i64).max(1))),
                    None => Err(format!(
                        "failed to parse duration {spec}: time: invalid duration \"{duration}\""
                    )),
                };
            }
            None => return Err(format!("unrecognized descriptor: {spec}")),
        },
    };
    Schedule::parse(fields)
}

/// Go's `time.ParseDuration` (`1h30m`, `90s`, `1.5h`), in seconds; none when Go refuses it.
fn go_duration_seconds(text: &str) -> Option<f64> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    };
    if body == "0" {
        return Some(0.0);
    }
    if body.is_empty() {
        return None;
    }
    let mut rest = body;
    let mut total = 0.0;
    while !rest.is_empty() {
        let number = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number == 0 || rest[..number].chars().all(|c| c == '.') {
            return None;
        }
        let value: f64 = rest[..number].parse().ok()?;
        rest = &rest[number..];
        let (unit, scale) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("μs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total += value * scale;
    }
    Some(sign * total)
}

/// The bits of one comma-separated part of a field, or why it is not a range.
fn range_bits(expr: &str, bounds: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let mut extra = 0;
    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        extra = STAR;
        (bounds.min, bounds.max)
    } else {
        let start = int_or_name(low_and_high[0], bounds)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => int_or_name(low_and_high[1], bounds)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            if single {
                end = bounds.max;
            }
            let step = int(range_and_step[1])?;
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < bounds.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            bounds.min
        ));
    }
    if end > bounds.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            bounds.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = extra;
    let mut n = start;
    while n <= end {
        bits |= 1u64 << n;
        n += step;
    }
    Ok(bits)
}

fn int_or_name(expr: &str, bounds: &Bounds) -> Result<i64, String> {
    let lower = expr.to_ascii_lowercase();
    match bounds.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(bounds.min + i as i64),
        None => int(expr),
    }
}

/// Go's `strconv.Atoi`, with the parser's message for what it refuses.
fn int(expr: &str) -> Result<i64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let parsed = match digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        true => None,
        false => expr.parse::<i64>().ok(),
    };
    match parsed {
        None => Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"
        )),
        Some(n) if n < 0 => Err(format!("negative number ({n}) not allowed: {expr}")),
        Some(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_as_upstream() {
        for ok in [
            "*/5 * * * *",
            "0 0 * * 0",
            "30 4 1,15 * MON-FRI",
            "0 9-17/2 * jan-jun ?",
            "@hourly",
            "@every 1h30m",
        ] {
            assert_eq!(parse_error(ok), None, "{ok}");
        }
        for (bad, want) in [
            ("bad", "expected exactly 5 fields, found 1: [bad]"),
            ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
            ("61 * * * *", "end of range (61) above maximum (59): 61"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            (
                "x * * * *",
                r#"failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax"#,
            ),
            ("@sometimes", "unrecognized descriptor: @sometimes"),
        ] {
            assert_eq!(parse_error(bad).as_deref(), Some(want), "{bad}");
        }
    }

    fn next(spec: &str, after: &str, tz: &str) -> String {
        let tz = TimeZone::get(tz).unwrap();
        let after: Timestamp = after.parse().unwrap();
        Schedule::parse(spec)
            .unwrap()
            .next_after(after, &tz)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn next_times_as_upstream_runs_them() {
        assert_eq!(
            next("* * * * *", "2024-01-01T10:00:30Z", "UTC"),
            "2024-01-01T10:01:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2024-01-01T10:15:00Z", "UTC"),
            "2024-01-01T10:30:00Z"
        );
        assert_eq!(
            next("0 9 * * 1", "2024-01-01T09:00:00Z", "UTC"),
            "2024-01-08T09:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2024-01-31T23:59:00Z", "UTC"),
            "2024-02-01T00:00:00Z"
        );
        // Day of month or day of week when both are restricted; both when one is `*`.
        assert_eq!(
            next("0 0 13 * 5", "2024-01-01T00:00:00Z", "UTC"),
            "2024-01-05T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2025-01-01T00:00:00Z", "UTC"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(next("0 0 30 2 *", "2025-01-01T00:00:00Z", "UTC"), "");
        // In the schedule's time zone.
        assert_eq!(
            next("0 9 * * *", "2024-06-01T00:00:00Z", "Europe/Paris"),
            "2024-06-01T07:00:00Z"
        );
        assert_eq!(
            next("@every 90s", "2024-01-01T00:00:00.5Z", "UTC"),
            "2024-01-01T00:01:30Z"
        );
        assert_eq!(Schedule::parse("@every 1.5h"), Ok(Schedule::Every(5400)));
    }
}
