//! A kube `Client` over an in-process handler instead of a server, for the controllers' tests.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use kube::Client;
use kube::client::Body;
use serde_json::Value;

/// A request as the handler sees it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Request {
    pub fn is_watch(&self) -> bool {
        self.query.split('&').any(|p| p == "watch=true")
    }
}

/// What the handler answers.
pub enum Reply {
    Json(u16, Value),
    /// A response whose body never ends (a watch with nothing to say).
    Open,
    /// A watch that sends these events once the future is ready, then stays open.
    Events(futures::future::BoxFuture<'static, ()>, Vec<Value>),
}

/// A `Status` answer.
pub fn status(code: u16, reason: &str) -> Reply {
    Reply::Json(
        code,
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": reason, "code": code, "message": reason}),
    )
}

pub type Log = Arc<Mutex<Vec<Request>>>;

/// A client whose requests `handler` answers; every request is logged.
pub fn client(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> (Client, Log) {
    let log: Log = Arc::default();
    let handler = Arc::new(handler);
    let seen = log.clone();
    let service = tower::service_fn(move |req: http::Request<Body>| {
        let (handler, seen) = (handler.clone(), seen.clone());
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let request = Request {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            seen.lock().unwrap().push(request.clone());
            let (code, body): (u16, UnsyncBoxBody<Bytes, Infallible>) = match handler(&request) {
                Reply::Json(code, value) => (
                    code,
                    http_body_util::Full::new(Bytes::from(value.to_string())).boxed_unsync(),
                ),
                Reply::Open => (
                    200,
                    http_body_util::StreamBody::new(futures::stream::pending()).boxed_unsync(),
                ),
                Reply::Events(when, events) => {
                    let frames: Vec<Result<_, Infallible>> = events
                        .into_iter()
                        .map(|e| Ok(http_body::Frame::data(Bytes::from(format!("{e}\n")))))
                        .collect();
                    let stream = futures::stream::once(async move {
                        when.await;
                        futures::stream::iter(frames)
                    })
                    .flatten()
                    .chain(futures::stream::pending());
                    (200, http_body_util::StreamBody::new(stream).boxed_unsync())
                }
            };
            let response = http::Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(body)
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    });
    (Client::new(service, "default"), log)
}

/// A list answer.
pub fn list(items: Vec<Value>) -> Reply {
    Reply::Json(
        200,
        serde_json::json!({"apiVersion": "v1", "kind": "List",
            "metadata": {"resourceVersion": "1"}, "items": items}),
    )
}
