//! The in-flight limits, as upstream's `--max-requests-inflight` (400 read-only) and
//! `--max-mutating-requests-inflight` (200): past them a request is refused at once with
//! upstream's 429 and `Retry-After: 1`, so overload pushes back instead of growing memory.
//! Watches (long-running) and `system:masters` are not limited, as upstream.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::ApiServer;
use crate::http::serve::User;

/// The two pools of request slots.
pub struct InFlight {
    read_only: Arc<Semaphore>,
    mutating: Arc<Semaphore>,
}

impl InFlight {
    pub fn new(read_only: usize, mutating: usize) -> Self {
        InFlight {
            read_only: Arc::new(Semaphore::new(read_only)),
            mutating: Arc::new(Semaphore::new(mutating)),
        }
    }
}

const TOO_MANY: &str = "Too many requests, please try again later.\n";

pub async fn limit(State(server): State<Arc<ApiServer>>, request: Request, next: Next) -> Response {
    let info = crate::http::request_info::of(&request);
    let exempt = crate::http::timeout::long_running(&info)
        || request
            .extensions()
            .get::<User>()
            .is_some_and(|u| u.groups.iter().any(|g| g == "system:masters"));
    if exempt {
        return next.run(request).await;
    }
    let pool = match crate::metrics::is_mutating(&info) {
        true => &server.in_flight.mutating,
        false => &server.in_flight.read_only,
    };
    let Ok(_slot) = pool.clone().try_acquire_owned() else {
        server.metrics.rejected(crate::metrics::is_mutating(&info));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::RETRY_AFTER, "1"),
            ],
            TOO_MANY,
        )
            .into_response();
    };
    next.run(request).await
}
