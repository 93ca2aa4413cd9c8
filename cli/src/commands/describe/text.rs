//! The pieces kubectl's describers are written with: tab-separated `Label:\tvalue` lines
//! (aligned afterwards), multi-line labels and annotations, readable field labels
//! (`creationTimestamp` → `Creation Timestamp`), any JSON value as nested labelled lines,
//! and ages.

use serde_json::Value;

/// A JSON string's text ("" for anything else), as the describers read fields.
pub fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const MAX_ANNOTATION: usize = 140;

/// Two spaces per level.
pub fn indent(level: usize) -> String {
    "  ".repeat(level)
}

/// `Title:\tk=v` then `\tk2=v2` lines (sorted), or `<none>`.
pub fn labels(out: &mut String, title: &str, labels: &Value) {
    out.push_str(&format!("{title}:\t"));
    let mut pairs: Vec<(&String, &Value)> = labels.as_object().into_iter().flatten().collect();
    if pairs.is_empty() {
        out.push_str("<none>\n");
        return;
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        out.push_str(&format!("{k}={}\n", v.as_str().unwrap_or_default()));
    }
}

/// Annotations as kubectl prints them: the last-applied configuration left out, long or
/// multi-line values on lines of their own, each cut at 140 characters.
pub fn annotations(out: &mut String, title: &str, annotations: &Value) {
    out.push_str(&format!("{title}:\t"));
    let mut pairs: Vec<(&String, &Value)> = annotations
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != LAST_APPLIED)
        .collect();
    if pairs.is_empty() {
        out.push_str("<none>\n");
        return;
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        let value = v.as_str().unwrap_or_default().trim_end_matches('\n');
        if value.len() + k.len() + 2 > MAX_ANNOTATION || value.contains('\n') {
            out.push_str(&format!("{k}:\n"));
            for line in value.split('\n') {
                out.push_str(&format!("\t  {}\n", shorten(line, MAX_ANNOTATION - 2)));
            }
        } else {
            out.push_str(&format!("{k}: {value}\n"));
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

/// `creationTimestamp` → `Creation Timestamp`, `apiVersion` → `API Version`; names with
/// characters other than letters and `-` are kept as they are.
pub fn smart_label(field: &str) -> String {
    if field.chars().any(|c| !c.is_alphabetic() && c != '-') {
        return field.to_string();
    }
    camel_words(field)
        .into_iter()
        .map(|part| {
            let upper = part.to_uppercase();
            if ["API", "URL", "UID", "OSB", "GUID"].contains(&upper.as_str()) {
                return upper;
            }
            let mut chars = part.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words of a camel-case name (`podIPs` → `pod`, `I`, `Ps`; `URLPath` → `URL`, `Path`).
fn camel_words(field: &str) -> Vec<String> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Lower,
        Upper,
        Other,
    }
    let class = |c: char| match c {
        c if c.is_lowercase() => Class::Lower,
        c if c.is_uppercase() => Class::Upper,
        _ => Class::Other,
    };
    let mut runs: Vec<(Class, String)> = Vec::new();
    for c in field.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some((last, run)) if *last == k => run.push(c),
            _ => runs.push((k, c.to_string())),
        }
    }
    // An upper-case run followed by a lower-case one gives its last letter to it.
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i].0 == Class::Upper
            && runs[i + 1].0 == Class::Lower
            && let Some(c) = runs[i].1.pop()
        {
            runs[i + 1].1.insert(0, c);
        }
    }
    runs.into_iter()
        .map(|(_, r)| r)
        .filter(|r| !r.is_empty())
        .collect()
}

/// A scalar as Go's `%v` prints it.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Every field of `content` (sorted), nested maps and lists indented under their label;
/// `skip` holds the dotted paths (`.metadata.name`) to leave out.
pub fn content(out: &mut String, level: usize, content: &Value, prefix: &str, skip: &[&str]) {
    let mut fields: Vec<(&String, &Value)> = content.as_object().into_iter().flatten().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, value) in fields {
        let path = format!("{prefix}.{field}");
        if skip.contains(&path.as_str()) {
            continue;
        }
        let pad = indent(level);
        match value {
            Value::Object(_) => {
                out.push_str(&format!("{pad}{}:\n", smart_label(field)));
                self::content(out, level + 1, value, &path, skip);
            }
            Value::Array(items) => {
                out.push_str(&format!("{pad}{}:\n", smart_label(field)));
                for item in items {
                    match item {
                        Value::Object(_) => self::content(out, level + 1, item, &path, skip),
                        other => out.push_str(&format!("{}{}\n", indent(level + 1), scalar(other))),
                    }
                }
            }
            other => out.push_str(&format!(
                "{pad}{}:\t{}\n",
                smart_label(field),
                scalar(other)
            )),
        }
    }
}

/// How long ago an RFC 3339 time was, as kubectl's ages read (`5s`, `3m2s`, `4h`, `12d`).
pub fn age(time: &str) -> String {
    let Ok(then) = time.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let seconds = jiff::Timestamp::now().as_second() - then.as_second();
    human_duration(seconds)
}

pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// An RFC 3339 time as kubectl's describers print it (`Mon, 23 Nov 2026 19:20:01 +0000`, in
/// the local time zone).
pub fn timestamp(time: &str) -> String {
    match time.parse::<jiff::Timestamp>() {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%a, %d %b %Y %H:%M:%S %z")
            .to_string(),
        Err(_) => time.to_string(),
    }
}

/// How long ago an RFC 3339 time was, as `oc`'s own describers say it (`5 minutes ago`).
pub fn relative(time: &str) -> String {
    let Ok(then) = time.parse::<jiff::Timestamp>() else {
        return time.to_string();
    };
    let seconds = jiff::Timestamp::now().as_second() - then.as_second();
    format!("{} ago", spoken_duration(seconds))
}

/// A duration in words (`Less than a second`, `About a minute`, `3 hours`, `2 weeks`).
pub fn spoken_duration(seconds: i64) -> String {
    let minutes = seconds / 60;
    let hours = (seconds as f64 / 3600.0).round() as i64;
    match seconds {
        s if s < 1 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 14 => format!("{} days", hours / 24),
        _ if hours < 24 * 60 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_as_kubectl_words_them() {
        assert_eq!(smart_label("creationTimestamp"), "Creation Timestamp");
        assert_eq!(smart_label("apiVersion"), "API Version");
        assert_eq!(smart_label("uid"), "UID");
        assert_eq!(
            smart_label("dockerImageRepository"),
            "Docker Image Repository"
        );
        assert_eq!(smart_label("podIPs"), "Pod I Ps");
        assert_eq!(smart_label("x509"), "x509");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(3600 * 5 + 60), "5h1m");
        assert_eq!(human_duration(86400 * 3), "3d");
        assert_eq!(spoken_duration(0), "Less than a second");
        assert_eq!(spoken_duration(65), "About a minute");
        assert_eq!(spoken_duration(7200), "2 hours");
        assert_eq!(spoken_duration(86400 * 3), "3 days");
    }

    #[test]
    fn nested_content() {
        let mut out = String::new();
        content(
            &mut out,
            0,
            &json!({"spec": {"lookupPolicy": {"local": false}}, "tags": ["a"], "metadata": {"name": "x"}}),
            "",
            &[".metadata.name"],
        );
        assert_eq!(
            out,
            "Metadata:\nSpec:\n  Lookup Policy:\n    Local:\tfalse\nTags:\n  a\n"
        );
        let mut out = String::new();
        labels(&mut out, "Labels", &json!({"b": "2", "a": "1"}));
        assert_eq!(out, "Labels:\ta=1\n\tb=2\n");
    }
}
