//! Request bodies, bounded. A body over the limit is answered with upstream's 413 Status,
//! after the rest of it is read and dropped (up to a bound): a client still sending when the
//! server closes would lose the answer to a connection reset.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use crate::error::ApiError;

/// Largest request body accepted, as upstream.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// How much of an oversized body is read and dropped before answering.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The whole body, if it is within `MAX_BODY_BYTES`.
pub async fn read(body: Body) -> Result<Bytes, ApiError> {
    let mut body = body;
    let mut collected = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if collected.len() + data.len() > MAX_BODY_BYTES {
            drain(body, collected.len() + data.len()).await;
            return Err(ApiError::RequestEntityTooLarge(format!(
                "limit is {MAX_BODY_BYTES}"
            )));
        }
        collected.extend_from_slice(&data);
    }
    Ok(collected.freeze())
}

/// Reads and drops what is left of an oversized body, within bounds.
async fn drain(mut body: Body, mut read: usize) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while read < DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => return,
            }
        }
    })
    .await;
}

/// `body` holding `guard` until it is done or dropped (what it counts lasts as long as the
/// response is being sent); the body's length and frames are unchanged.
pub fn guarded<G: Send + Sync + Unpin + 'static>(body: Body, guard: G) -> Body {
    Body::new(Guarded {
        inner: body,
        _guard: guard,
    })
}

struct Guarded<G> {
    inner: Body,
    _guard: G,
}

impl<G: Unpin> http_body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused_with_upstreams_message() {
        let big = Body::from(vec![b'x'; MAX_BODY_BYTES + 1]);
        let err = read(big).await.unwrap_err();
        let status = err.status();
        assert_eq!(status.code, 413);
        assert_eq!(status.message, "Request entity too large: limit is 3145728");
        let ok = read(Body::from("{}")).await.unwrap();
        assert_eq!(&ok[..], b"{}");
    }
}
