//! `GET /containerLogs/{namespace}/{pod}/{container}`: the query read as the kubelet reads
//! `PodLogOptions` (and checked as it checks them), the runtime's log streamed back as
//! `text/plain`, chunk by chunk while following, cut at `limitBytes`.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::container_io::LogOptions;

/// Upstream's query booleans: false only when absent, empty, `0` or `false`.
fn boolean(value: &str) -> bool {
    !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false"))
}

fn integer(name: &str, value: &str) -> Result<i64, String> {
    value
        .parse::<i64>()
        .map_err(|_| format!("{name}: Invalid value: {value:?}: must be an integer"))
}

/// The options of a log request; `now` anchors `sinceSeconds`. The error is the kubelet's
/// 422 text.
pub fn parse_query(query: Option<&str>, now: SystemTime) -> Result<LogOptions, String> {
    let mut options = LogOptions::default();
    let mut since_seconds = None;
    let mut since_time = None;
    let mut seen = std::collections::HashSet::new();
    let pairs = form_urlencoded(query.unwrap_or_default());
    for (key, value) in pairs {
        // As Go's parameter codec: the first of a repeated parameter counts.
        if !seen.insert(key.clone()) {
            continue;
        }
        match key.as_str() {
            "follow" => options.follow = boolean(&value),
            "previous" => options.previous = boolean(&value),
            "timestamps" => options.timestamps = boolean(&value),
            "tailLines" => options.tail_lines = Some(integer("tailLines", &value)?),
            "limitBytes" => options.limit_bytes = Some(integer("limitBytes", &value)?),
            "sinceSeconds" => since_seconds = Some(integer("sinceSeconds", &value)?),
            "sinceTime" => {
                let at: jiff::Timestamp = value.parse().map_err(|_| {
                    format!("sinceTime: Invalid value: {value:?}: must be an RFC 3339 time")
                })?;
                since_time = Some(SystemTime::from(at));
            }
            _ => {}
        }
    }
    let mut errors = Vec::new();
    if let Some(n) = options.tail_lines
        && n < 0
    {
        errors.push(format!(
            "tailLines: Invalid value: {n}: must be greater than or equal to 0"
        ));
    }
    if let Some(n) = options.limit_bytes
        && n < 1
    {
        errors.push(format!(
            "limitBytes: Invalid value: {n}: must be greater than 0"
        ));
    }
    if since_seconds.is_some() && since_time.is_some() {
        errors.push("at most one of `sinceTime` or `sinceSeconds` may be specified".into());
    }
    if let Some(s) = since_seconds {
        if s < 1 {
            errors.push(format!(
                "sinceSeconds: Invalid value: {s}: must be greater than 0"
            ));
        } else {
            options.since = now.checked_sub(Duration::from_secs(s as u64));
        }
    }
    if since_time.is_some() {
        options.since = since_time;
    }
    match errors.len() {
        0 => Ok(options),
        1 => Err(format!("invalid request: {}", errors[0])),
        _ => Err(format!("invalid request: [{}]", errors.join(", "))),
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_urlencoded(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// `log` cut after `limit` bytes (none: all of it).
pub fn limited(
    log: BoxStream<'static, std::io::Result<Bytes>>,
    limit: Option<i64>,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let Some(limit) = limit.and_then(|l| u64::try_from(l).ok()) else {
        return log;
    };
    log.scan(limit, |left, chunk| {
        let chunk = match chunk {
            Ok(_) if *left == 0 => return futures::future::ready(None),
            Ok(mut chunk) => {
                if chunk.len() as u64 > *left {
                    chunk.truncate(*left as usize);
                }
                *left -= chunk.len() as u64;
                Ok(chunk)
            }
            Err(e) => Err(e),
        };
        futures::future::ready(Some(chunk))
    })
    .boxed()
}

/// A plain-text error, as the kubelet writes them.
pub fn plain(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.into(),
    )
        .into_response()
}

/// The 200 answer streaming `log`.
pub fn streamed(log: BoxStream<'static, std::io::Result<Bytes>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(log),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn every_option_is_read() {
        let options = parse_query(
            Some("follow=true&limitBytes=10&previous=true&sinceSeconds=60&tailLines=5&timestamps=true"),
            at(1000),
        )
        .unwrap();
        assert_eq!(
            options,
            LogOptions {
                follow: true,
                tail_lines: Some(5),
                since: Some(at(940)),
                timestamps: true,
                previous: true,
                limit_bytes: Some(10),
            }
        );
        assert_eq!(parse_query(None, at(0)).unwrap(), LogOptions::default());
        assert!(!parse_query(Some("follow=false"), at(0)).unwrap().follow);
        assert!(!parse_query(Some("follow=0"), at(0)).unwrap().follow);
    }

    #[test]
    fn since_time_is_rfc3339() {
        let options = parse_query(Some("sinceTime=1970-01-01T00%3A16%3A40Z"), at(0)).unwrap();
        assert_eq!(options.since, Some(at(1000)));
        assert!(parse_query(Some("sinceTime=yesterday"), at(0)).is_err());
    }

    #[test]
    fn invalid_options_are_refused_as_the_kubelet_does() {
        assert_eq!(
            parse_query(Some("tailLines=-1"), at(0)).unwrap_err(),
            "invalid request: tailLines: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            parse_query(
                Some("sinceSeconds=5&sinceTime=1970-01-01T00:00:00Z"),
                at(100)
            )
            .unwrap_err(),
            "invalid request: at most one of `sinceTime` or `sinceSeconds` may be specified"
        );
        assert_eq!(
            parse_query(Some("limitBytes=0&sinceSeconds=0"), at(100)).unwrap_err(),
            "invalid request: [limitBytes: Invalid value: 0: must be greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0]"
        );
        assert!(parse_query(Some("tailLines=x"), at(0)).is_err());
    }

    #[tokio::test]
    async fn logs_are_cut_at_the_byte_limit() {
        let chunks = vec![
            Ok(Bytes::from("hello ")),
            Ok(Bytes::from("world")),
            Ok(Bytes::from("!")),
        ];
        let log = futures::stream::iter(chunks).boxed();
        let cut: Vec<_> = limited(log, Some(8)).map(|c| c.unwrap()).collect().await;
        assert_eq!(cut, vec![Bytes::from("hello "), Bytes::from("wo")]);
        let log = futures::stream::iter(vec![Ok(Bytes::from("ab"))]).boxed();
        let all: Vec<_> = limited(log, None).map(|c| c.unwrap()).collect().await;
        assert_eq!(all, vec![Bytes::from("ab")]);
    }
}
