//! Cron schedules as upstream parses them (`cron.ParseStandard` of robfig/cron v3): five
//! fields (minute, hour, day of month, month, day of week) or a descriptor (`@daily`,
//! `@every 1h`...). Only whether it parses matters here, and the parser's own message when
//! it does not, which is what upstream returns to the client.

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

/// Why `spec` is not a schedule, in the parser's words; `None` when it parses.
pub fn parse_error(spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some("empty spec string".into());
    }
    if let Some(descriptor) = spec.strip_prefix('@') {
        return descriptor_error(descriptor, spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Some(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    fields
        .iter()
        .zip(FIELDS.iter())
        .find_map(|(field, bounds)| field.split(',').find_map(|r| range_error(r, bounds)))
}

fn descriptor_error(descriptor: &str, spec: &str) -> Option<String> {
    const NAMED: &[&str] = &[
        "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
    ];
    if NAMED.contains(&descriptor) {
        return None;
    }
    match descriptor.strip_prefix("every ") {
        Some(duration) if go_duration_parses(duration) => None,
        Some(duration) => Some(format!(
            "failed to parse duration {spec}: time: invalid duration \"{duration}\""
        )),
        None => Some(format!("unrecognized descriptor: {spec}")),
    }
}

/// Whether Go's `time.ParseDuration` accepts `text` (`1h30m`, `90s`, `1.5h`).
fn go_duration_parses(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body == "0" {
        return true;
    }
    let mut rest = body;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number == 0 || rest[..number].chars().all(|c| c == '.') {
            return false;
        }
        rest = &rest[number..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Why one comma-separated part of a field is not a range.
fn range_error(expr: &str, bounds: &Bounds) -> Option<String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (bounds.min, bounds.max)
    } else {
        let start = match int_or_name(low_and_high[0], bounds) {
            Ok(n) => n,
            Err(e) => return Some(e),
        };
        let end = match low_and_high.len() {
            1 => start,
            2 => match int_or_name(low_and_high[1], bounds) {
                Ok(n) => n,
                Err(e) => return Some(e),
            },
            _ => return Some(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            if single {
                end = bounds.max;
            }
            match int(range_and_step[1]) {
                Ok(n) => n,
                Err(e) => return Some(e),
            }
        }
        _ => return Some(format!("too many slashes: {expr}")),
    };
    if start < bounds.min {
        return Some(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            bounds.min
        ));
    }
    if end > bounds.max {
        return Some(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            bounds.max
        ));
    }
    if start > end {
        return Some(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Some(format!("step of range should be a positive number: {expr}"));
    }
    None
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
    use super::parse_error;

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
}
