//! The audit layer. It sits after authentication and before impersonation and
//! authorization, as upstream's: the policy sees the authenticated user, and requests
//! refused later (impersonation or RBAC denied, 429) are recorded with their answer.
//!
//! For a request the policy audits it writes `RequestReceived` before handing it on,
//! `ResponseStarted` once a watch's headers are out, `ResponseComplete` once the response
//! body has been sent (a request that ends without an answer, past its deadline or with its
//! client gone, gets one too), and `Panic` if the handler panicked, each unless the policy
//! omits it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::FutureExt;

use super::body::{RequestTee, Tracked};
use super::completion::Completion;
use super::context::AuditContext;
use super::event::{
    Event, MicroTime, ObjectReference, ResponseStatus, UserInfo, source_ips, user_agent,
};
use super::policy::{Attributes, Level, Stage};
use super::request_body::RequestBody;
use crate::ApiServer;
use crate::http::request_info::RequestInfo;
use crate::http::serve::User;

/// Largest response recorded as the response object (upstream's default bound on an event
/// batch); a larger one is left out and the event annotated as truncated.
const MAX_RESPONSE_OBJECT: usize = 10 * 1024 * 1024;
/// Largest error or deletion answer read for its Status.
const MAX_STATUS: usize = 64 * 1024;
const AUDIT_ID: &str = "audit-id";
/// How much earlier than this layer the request's deadline may have started counting.
const DEADLINE_SLACK: Duration = Duration::from_millis(500);

pub async fn record(
    State(server): State<Arc<ApiServer>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(audit) = server.audit.clone() else {
        return next.run(request).await;
    };
    let (received, started) = (MicroTime::now(), Instant::now());
    let info = crate::http::request_info::of(&request);
    let user = request
        .extensions()
        .get::<User>()
        .map(UserInfo::from)
        .unwrap_or_default();
    let audit_id = audit_id(&request);
    let config = audit.policy.evaluate(&Attributes {
        user: &user.username,
        groups: &user.groups,
        verb: &info.verb,
        resource_request: info.is_resource,
        api_group: &info.group,
        resource: &info.resource,
        subresource: info.subresource.as_deref().unwrap_or_default(),
        namespace: info.namespace.as_deref().unwrap_or_default(),
        name: info.name.as_deref().unwrap_or_default(),
        path: request.uri().path(),
    });
    if config.level == Level::None {
        let mut response = next.run(request).await;
        set_audit_id(&mut response, &audit_id);
        return response;
    }

    let mut event = Event::new(config.level, audit_id.clone(), received);
    describe(&mut event, &request, &info, user);
    let context = AuditContext::default();
    request.extensions_mut().insert(context.clone());
    if config.records(Stage::RequestReceived) {
        audit.sink.send(event.line()).await;
    }
    let body = RequestBody::of(&info, config.level, &request);
    if body.capture {
        let ctx = context.clone();
        request =
            request.map(|b| Body::new(RequestTee::new(b, crate::http::body::MAX_BODY_BYTES, ctx)));
    }
    let long_running = crate::http::timeout::long_running(&info);
    let limit = server.limits.request_timeout;
    let mut unanswered = Unanswered {
        deadline: (!long_running).then(|| {
            crate::http::timeout::requested(request.uri().query(), limit).unwrap_or(limit)
        }),
        started,
        completion: Some(Completion::new(
            audit.sink.clone(),
            event,
            config,
            context,
            body,
        )),
    };

    let answer = std::panic::AssertUnwindSafe(next.run(request))
        .catch_unwind()
        .await;
    let Some(mut completion) = unanswered.completion.take() else {
        return answer.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    };
    let mut response = match answer {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let status =
                ResponseStatus::failure(500, "InternalError", format!("APIServer panic'd: {what}"));
            if let Some(line) = completion.last(Stage::Panic, status) {
                audit.sink.send(line).await;
            }
            // The recovery layer outside answers it.
            std::panic::resume_unwind(panic);
        }
    };
    set_audit_id(&mut response, &audit_id);
    completion.code = response.status().as_u16();
    if long_running && config.records(Stage::ResponseStarted) {
        let line = completion.started_line();
        audit.sink.send(line).await;
    }
    if !config.records(Stage::ResponseComplete) {
        return response;
    }
    completion.response_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    completion.response_object =
        config.level >= Level::RequestResponse && info.is_resource && !long_running;
    let status_answer = completion.code >= 400 || info.verb.starts_with("delete");
    let limit = match (completion.response_object, status_answer) {
        (true, _) => MAX_RESPONSE_OBJECT,
        (false, true) => MAX_STATUS,
        (false, false) => 0,
    };
    response.map(|b| Body::new(Tracked::new(b, limit, completion)))
}

/// The `Audit-ID` the client sent (upstream keeps a caller's), else a new random UUID.
fn audit_id(request: &Request) -> String {
    request
        .headers()
        .get(AUDIT_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map_or_else(
            || {
                let random = uuid::Builder::from_random_bytes(rand::random());
                random.into_uuid().to_string()
            },
            str::to_string,
        )
}

/// Who asked what, from where, about which object.
fn describe(event: &mut Event, request: &Request, info: &RequestInfo, user: UserInfo) {
    event.request_uri = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path(), |p| p.as_str())
        .to_string();
    event.verb = info.verb.clone();
    event.user = user;
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    event.source_ips = source_ips(request.headers(), peer);
    event.user_agent = user_agent(request.headers());
    event.object_ref = info.is_resource.then(|| object_ref(info));
}

/// Every answer carries its audit ID, audited or not, as upstream's.
fn set_audit_id(response: &mut Response, audit_id: &str) {
    if !response.headers().contains_key(AUDIT_ID)
        && let Ok(id) = HeaderValue::from_str(audit_id)
    {
        response.headers_mut().insert(AUDIT_ID, id);
    }
}

/// Notes the impersonated user on the request's event; runs just inside impersonation.
pub async fn note_impersonation(request: Request, next: Next) -> Response {
    if request.headers().contains_key("impersonate-user")
        && let (Some(context), Some(user)) = (
            request.extensions().get::<AuditContext>(),
            request.extensions().get::<User>(),
        )
    {
        let user = UserInfo::from(user);
        context.with(|r| r.impersonated = Some(user));
    }
    next.run(request).await
}

fn object_ref(info: &RequestInfo) -> ObjectReference {
    ObjectReference {
        resource: info.resource.clone(),
        namespace: info.namespace.clone().unwrap_or_default(),
        name: info.name.clone().unwrap_or_default(),
        api_group: info.group.clone(),
        api_version: info.version.clone(),
        subresource: info.subresource.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// The request's last event until its response is produced: if the request is dropped
/// before that (its deadline passed, or its client went away), it is recorded as such.
struct Unanswered {
    deadline: Option<Duration>,
    started: Instant,
    completion: Option<Completion>,
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        let Some(completion) = self.completion.take() else {
            return;
        };
        let status = match self.deadline {
            // The deadline layer's clock started a little before this one.
            Some(deadline) if self.started.elapsed() + DEADLINE_SLACK >= deadline => {
                ResponseStatus::failure(
                    504,
                    "Timeout",
                    "Timeout: request did not complete within the allotted timeout".into(),
                )
            }
            _ => ResponseStatus {
                status: "Failure".into(),
                message: "the client went away before the response was sent".into(),
                ..Default::default()
            },
        };
        let sink = completion.sink.clone();
        if let Some(line) = completion.last(Stage::ResponseComplete, status) {
            sink.send_later(line);
        }
    }
}
