//! The bodies that let audit see what passes without holding it up: the request body as the
//! handler reads it, and the response body as it is sent, each copied (by reference to its
//! chunks) up to a bound. Frames, lengths and streaming are unchanged.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;

use super::captured::Captured;
use super::completion::Completion;
use super::context::AuditContext;
use super::sink::Sink;

/// A request body that hands what the handler read to the audit context once it is read
/// to the end.
pub(super) struct RequestTee {
    inner: Body,
    captured: Captured,
    context: Option<AuditContext>,
}

impl RequestTee {
    pub fn new(inner: Body, limit: usize, context: AuditContext) -> Self {
        RequestTee {
            inner,
            captured: Captured::new(limit),
            context: Some(context),
        }
    }

    fn read_to_end(&mut self) {
        if let Some(context) = self.context.take()
            && let Some(bytes) = std::mem::take(&mut self.captured).bytes()
        {
            context.with(|r| r.request_body = Some(bytes));
        }
    }
}

impl http_body::Body for RequestTee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    this.captured.keep(data);
                }
                if this.inner.is_end_stream() {
                    this.read_to_end();
                }
            }
            None => this.read_to_end(),
            Some(Err(_)) => this.context = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type Room = Pin<Box<dyn Future<Output = Option<OwnedSemaphorePermit>> + Send>>;

/// A response body that records the request's last event when it ends: once sent in full
/// (waiting, before it ends, for room in the audit queue), or when dropped early.
pub(super) struct Tracked {
    inner: Body,
    captured: Captured,
    completion: Option<Completion>,
    /// The last event, waiting for room in the queue.
    waiting: Option<(Vec<u8>, Room)>,
    sink: Sink,
    ended: bool,
}

impl Tracked {
    pub fn new(inner: Body, limit: usize, completion: Completion) -> Self {
        Tracked {
            inner,
            captured: Captured::new(limit),
            sink: completion.sink.clone(),
            completion: Some(completion),
            waiting: None,
            ended: false,
        }
    }

    fn last_line(&mut self, complete: bool) -> Option<Vec<u8>> {
        let completion = self.completion.take()?;
        completion.line(std::mem::take(&mut self.captured), complete)
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some((_, room)) = &mut this.waiting {
                let room = ready!(room.as_mut().poll(cx));
                if let Some((line, _)) = this.waiting.take() {
                    this.sink.push(line, room);
                }
                this.ended = true;
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        this.captured.keep(data);
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Some(Err(e)) => {
                    if let Some(line) = this.last_line(false) {
                        this.sink.send_later(line);
                    }
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => match this.last_line(true) {
                    Some(line) => {
                        let room = Box::pin(this.sink.room_for(line.len()));
                        this.waiting = Some((line, room));
                    }
                    None => this.ended = true,
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        // Not before the last event is queued: the client is answered after it.
        self.ended
            || (self.completion.is_none() && self.waiting.is_none() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some((line, _)) = self.waiting.take() {
            self.sink.send_later(line);
        }
        if let Some(line) = self.last_line(false) {
            self.sink.send_later(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_body_reaches_the_context_once_read() {
        let context = AuditContext::default();
        let tee = RequestTee::new(Body::from("{\"a\":1}"), 1024, context.clone());
        let read = crate::http::body::read(Body::new(tee)).await.unwrap();
        assert_eq!(read, "{\"a\":1}");
        let kept = context.with(|r| r.request_body.clone());
        assert_eq!(kept.unwrap(), "{\"a\":1}");
    }
}
