//! The request deadline, as upstream's: a request that is not long-running (a watch) gets
//! `?timeout=` when it is shorter than the server's limit (60 s by default), else the limit;
//! past it the answer is upstream's 504.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::request_info::RequestInfo;

/// Whether a request may outlive the deadline (and is not counted in flight): watches and
/// the pods' streams, as upstream's long-running check (verbs `watch`, `proxy`; subresources
/// `attach`, `exec`, `proxy`, `log`, `portforward`).
pub fn long_running(info: &RequestInfo) -> bool {
    matches!(info.verb.as_str(), "watch" | "proxy")
        || matches!(
            info.subresource.as_deref(),
            Some("attach" | "exec" | "proxy" | "log" | "portforward")
        )
}

/// The deadline `?timeout=` asks for, capped by `limit`; upstream's 400 if it cannot be read.
pub fn requested(query: Option<&str>, limit: Duration) -> Result<Duration, ApiError> {
    let value = query.unwrap_or_default().split('&').find_map(|kv| {
        kv.strip_prefix("timeout=").map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    let Some(value) = value else {
        return Ok(limit);
    };
    let nanos = api::quantity::parse_go_duration(&value).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "invalid timeout specified in the request URL - time: invalid duration {value:?}"
        ))
    })?;
    let asked = u64::try_from(nanos).ok().map(Duration::from_nanos);
    Ok(match asked {
        Some(d) if !d.is_zero() && d < limit => d,
        _ => limit,
    })
}

/// Upstream's body for a request past its deadline (written as it writes it: no kind).
const TIMED_OUT: &str = r#"{"metadata":{},"status":"Failure","message":"Timeout: request did not complete within the allotted timeout","reason":"Timeout","details":{},"code":504}"#;

pub async fn deadline(
    State(server): State<Arc<ApiServer>>,
    request: Request,
    next: Next,
) -> Response {
    let info = crate::http::request_info::of(&request);
    if long_running(&info) {
        return next.run(request).await;
    }
    let limit = requested(request.uri().query(), server.limits.request_timeout);
    let limit = match limit {
        Ok(limit) => limit,
        Err(e) => return e.into_response(),
    };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            StatusCode::GATEWAY_TIMEOUT,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{TIMED_OUT}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_streams_are_long_running() {
        let info = |verb: &str, subresource: Option<&str>| RequestInfo {
            is_resource: true,
            verb: verb.into(),
            resource: "pods".into(),
            subresource: subresource.map(str::to_string),
            ..Default::default()
        };
        for sub in ["log", "exec", "attach", "portforward"] {
            assert!(long_running(&info("get", Some(sub))), "{sub}");
            assert!(long_running(&info("create", Some(sub))), "{sub}");
        }
        assert!(long_running(&info("watch", None)));
        assert!(!long_running(&info("get", None)));
        assert!(!long_running(&info("update", Some("status"))));
    }

    #[test]
    fn requested_deadlines_are_capped_by_the_limit() {
        let limit = Duration::from_secs(60);
        assert_eq!(requested(None, limit).unwrap(), limit);
        assert_eq!(
            requested(Some("timeout=5s"), limit).unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(requested(Some("timeout=2m"), limit).unwrap(), limit);
        assert_eq!(requested(Some("timeout=0s"), limit).unwrap(), limit);
        assert_eq!(
            requested(Some("timeout=abc"), limit)
                .unwrap_err()
                .status()
                .message,
            "invalid timeout specified in the request URL - time: invalid duration \"abc\""
        );
    }
}
