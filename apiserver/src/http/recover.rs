//! A handler that panics answers 500 with a Status (and is counted), instead of dropping the
//! connection; the panic's message goes to the log, not to the client.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;

use crate::ApiServer;
use crate::error::ApiError;

pub async fn recover(
    State(server): State<Arc<ApiServer>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    match std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%path, panic = %what, "a request handler panicked");
            server.metrics.panicked();
            ApiError::Internal(
                "the request caused the server to panic; the server log has the details".into(),
            )
            .into_response()
        }
    }
}
