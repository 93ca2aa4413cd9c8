//! A container log as timestamped lines, and the selection a log request makes of them
//! (`sinceSeconds`/`sinceTime`, `tailLines`, `timestamps`), for runtimes that keep their logs
//! as lines. Timestamps are written as Go's `RFC3339Nano` writes them (trailing zeros of the
//! fraction trimmed) and a space, as the kubelet prefixes them.

use std::time::SystemTime;

use bytes::Bytes;

use crate::container_io::LogOptions;

/// One line of a log, with its newline if it had one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub at: SystemTime,
    pub line: Bytes,
}

/// `at` as Go's `time.RFC3339Nano` in UTC.
pub fn rfc3339_nano(at: SystemTime) -> String {
    match jiff::Timestamp::try_from(at) {
        // jiff writes the fraction with as few digits as it needs, as Go's format does.
        Ok(t) => t.to_string(),
        Err(_) => "1970-01-01T00:00:00Z".into(),
    }
}

/// The lines of `log` the options select (not cut at `limitBytes`), each prefixed with its
/// timestamp when asked.
pub fn select(log: &[LogLine], options: &LogOptions) -> Vec<Bytes> {
    let recent = log
        .iter()
        .filter(|l| options.since.is_none_or(|since| l.at >= since));
    let recent: Vec<&LogLine> = recent.collect();
    let skip = match options.tail_lines {
        Some(n) => recent.len().saturating_sub(usize::try_from(n).unwrap_or(0)),
        None => 0,
    };
    recent[skip..]
        .iter()
        .map(|l| format_line(l, options.timestamps))
        .collect()
}

/// One line as a log response carries it.
pub fn format_line(line: &LogLine, timestamps: bool) -> Bytes {
    if !timestamps {
        return line.line.clone();
    }
    let mut out = rfc3339_nano(line.at).into_bytes();
    out.push(b' ');
    out.extend_from_slice(&line.line);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn line(seconds: u64, nanos: u32, text: &str) -> LogLine {
        LogLine {
            at: SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos),
            line: Bytes::from(format!("{text}\n")),
        }
    }

    fn log() -> Vec<LogLine> {
        vec![
            line(10, 0, "one"),
            line(20, 500_000_000, "two"),
            line(30, 123_456_789, "three"),
        ]
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let options = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(
            select(&log(), &options),
            vec![Bytes::from("two\n"), Bytes::from("three\n")]
        );
        let options = LogOptions {
            tail_lines: Some(0),
            ..Default::default()
        };
        assert!(select(&log(), &options).is_empty());
        let options = LogOptions {
            tail_lines: Some(10),
            ..Default::default()
        };
        assert_eq!(select(&log(), &options).len(), 3);
    }

    #[test]
    fn since_drops_older_lines_before_the_tail() {
        let since = SystemTime::UNIX_EPOCH + Duration::from_secs(20);
        let options = LogOptions {
            since: Some(since),
            tail_lines: Some(5),
            ..Default::default()
        };
        assert_eq!(
            select(&log(), &options),
            vec![Bytes::from("two\n"), Bytes::from("three\n")]
        );
    }

    #[test]
    fn timestamps_are_rfc3339_nano() {
        let options = LogOptions {
            timestamps: true,
            ..Default::default()
        };
        assert_eq!(
            select(&log(), &options),
            vec![
                Bytes::from("1970-01-01T00:00:10Z one\n"),
                Bytes::from("1970-01-01T00:00:20.5Z two\n"),
                Bytes::from("1970-01-01T00:00:30.123456789Z three\n"),
            ]
        );
    }
}
