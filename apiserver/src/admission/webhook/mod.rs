//! Admission webhooks (`MutatingAdmissionWebhook`, `ValidatingAdmissionWebhook`): the
//! webhooks of the stored configurations that match a request are called with an
//! AdmissionReview — mutating ones one after the other, each seeing the previous one's
//! patch, then once more for those with `reinvocationPolicy: IfNeeded` when a later one
//! changed the object; validating ones all at once. Failures follow each webhook's
//! `failurePolicy`; messages are upstream's.

pub(crate) mod client;
mod config;
mod metrics;
pub(crate) mod resolve;
mod review;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{Value, json};

pub use config::Hooks;
pub use metrics::WebhookMetrics;

use crate::ApiServer;
use crate::admission::{Admitted, Attributes, Operation, cel, matching};
use crate::error::ApiError;
use config::Hook;
use metrics::Outcome;

/// The plugins' names, as `--disable-admission-plugins` takes them.
pub const MUTATING: &str = "MutatingAdmissionWebhook";
pub const VALIDATING: &str = "ValidatingAdmissionWebhook";

/// The configurations' webhooks, compiled once per change.
#[derive(Default)]
pub struct State {
    mutating: Hooks,
    validating: Hooks,
}

/// What one call decided.
enum Verdict {
    Allowed(review::Response),
    /// The webhook was not called: it does not match, or failed open.
    Skipped,
}

/// The mutating webhooks, in order, on `obj`.
pub async fn mutate(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &mut Value,
) -> Result<Admitted, ApiError> {
    let mut admitted = Admitted::default();
    if matching::exempt(a) {
        return Ok(admitted);
    }
    let state = &server.admission.state.webhooks;
    let hooks = state
        .mutating
        .current(server, "mutatingwebhookconfigurations")
        .await?;
    if hooks.is_empty() {
        return Ok(admitted);
    }
    let ns_labels = matching::namespace_labels(server, a, Some(obj)).await?;
    // The index of each webhook that ran, and the mutation count when it did.
    let mut ran: Vec<(usize, usize)> = Vec::new();
    let mut mutations = 0;
    for (i, hook) in hooks.iter().enumerate() {
        if let Verdict::Allowed(r) = call(server, hook, a, obj, ns_labels.as_ref(), true).await? {
            mutations += apply(hook, r, obj, &mut admitted)?;
            ran.push((i, mutations));
        }
    }
    // Upstream reinvokes IfNeeded webhooks (once) when a later webhook changed the object.
    for (i, seen) in ran {
        let hook = &hooks[i];
        if hook.reinvoke && seen < mutations {
            let ns_labels = matching::namespace_labels(server, a, Some(obj)).await?;
            if let Verdict::Allowed(r) =
                call(server, hook, a, obj, ns_labels.as_ref(), true).await?
            {
                apply(hook, r, obj, &mut admitted)?;
            }
        }
    }
    Ok(admitted)
}

/// The validating webhooks, all at once, on `obj` (a deletion's: the object deleted).
pub async fn validate(
    server: &ApiServer,
    a: &Attributes<'_>,
    obj: &Value,
) -> Result<Admitted, ApiError> {
    let mut admitted = Admitted::default();
    if matching::exempt(a) {
        return Ok(admitted);
    }
    let state = &server.admission.state.webhooks;
    let hooks = state
        .validating
        .current(server, "validatingwebhookconfigurations")
        .await?;
    if hooks.is_empty() {
        return Ok(admitted);
    }
    let ns_labels = matching::namespace_labels(server, a, Some(obj)).await?;
    let calls = hooks
        .iter()
        .map(|hook| call(server, hook, a, obj, ns_labels.as_ref(), false));
    let verdicts = futures::future::join_all(calls).await;
    // Every webhook's warnings count; the first failure in the configured order answers.
    let mut first_error = None;
    for (hook, verdict) in hooks.iter().zip(verdicts) {
        match verdict {
            Ok(Verdict::Allowed(r)) => {
                note(hook, &r, &mut admitted);
            }
            Ok(Verdict::Skipped) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(admitted),
    }
}

/// Applies a mutating webhook's patch; returns 1 if it changed the object.
fn apply(
    hook: &Hook,
    r: review::Response,
    obj: &mut Value,
    admitted: &mut Admitted,
) -> Result<usize, ApiError> {
    note(hook, &r, admitted);
    let Some(patch) = r.patch else {
        return Ok(0);
    };
    let before = obj.clone();
    json_patch::patch(obj, &patch).map_err(|e| {
        *obj = before.clone();
        ApiError::Internal(format!(
            "failed calling webhook \"{}\": JSON patch could not be applied: {e}",
            hook.name
        ))
    })?;
    Ok(usize::from(*obj != before))
}

/// A webhook's warnings for the client and its audit annotations for the event.
fn note(hook: &Hook, r: &review::Response, admitted: &mut Admitted) {
    admitted.warnings.extend(r.warnings.iter().cloned());
    for (key, value) in &r.audit_annotations {
        if let Some(value) = value.as_str() {
            crate::audit::annotate_current(&format!("{}/{key}", hook.name), value);
        }
    }
}

/// Calls `hook` if it matches; a denial or a failure under failurePolicy Fail is the error.
async fn call(
    server: &ApiServer,
    hook: &Arc<Hook>,
    a: &Attributes<'_>,
    obj: &Value,
    ns_labels: Option<&serde_json::Map<String, Value>>,
    mutating: bool,
) -> Result<Verdict, ApiError> {
    let object = (a.operation != Operation::Delete).then_some(obj);
    if !hook.rules.iter().any(|r| r.matches(a, hook.equivalent))
        || ns_labels.is_some_and(|l| !hook.namespace_selector.matches(Some(l)))
        || !matching::object_matches(&hook.object_selector, object, a)
    {
        return Ok(Verdict::Skipped);
    }
    match conditions_hold(hook, a, object) {
        Ok(true) => {}
        Ok(false) => return Ok(Verdict::Skipped),
        Err(e) => return fail(server, hook, a, e),
    }
    if a.dry_run && !hook.dry_run_safe {
        return Err(ApiError::BadRequest(format!(
            "admission webhook \"{}\" does not support dry run",
            hook.name
        )));
    }
    let started = Instant::now();
    let uid = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string();
    let outcome = exchange(server, hook, a, object, &uid, mutating).await;
    let operation = a.operation.as_str();
    let seconds = started.elapsed().as_secs_f64();
    let m = &server.metrics.webhooks;
    match outcome {
        Err(e) => {
            m.observe(
                &hook.name,
                mutating,
                operation,
                seconds,
                &Outcome::CallFailed,
            );
            fail(server, hook, a, e)
        }
        Ok(r) if r.allowed => {
            m.observe(&hook.name, mutating, operation, seconds, &Outcome::Allowed);
            Ok(Verdict::Allowed(r))
        }
        Ok(r) => {
            let status = denial(&hook.name, r.status);
            m.observe(
                &hook.name,
                mutating,
                operation,
                seconds,
                &Outcome::Denied(status.code),
            );
            Err(ApiError::Status(Box::new(status)))
        }
    }
}

/// A failed call: an error under failurePolicy Fail; else skipped, and noted in the audit
/// event as upstream does.
fn fail(
    server: &ApiServer,
    hook: &Hook,
    a: &Attributes<'_>,
    reason: String,
) -> Result<Verdict, ApiError> {
    let _ = server;
    let message = format!("failed calling webhook \"{}\": {reason}", hook.name);
    if hook.fail_closed {
        return Err(ApiError::Internal(message));
    }
    tracing::warn!(webhook = %hook.name, operation = a.operation.as_str(), "{message}; failing open");
    crate::audit::annotate_current(
        &format!(
            "failed-open.validating.webhook.admission.k8s.io/{}",
            hook.name
        ),
        &hook.name,
    );
    Ok(Verdict::Skipped)
}

/// The webhook's `matchConditions`, all of which must hold.
fn conditions_hold(
    hook: &Hook,
    a: &Attributes<'_>,
    object: Option<&Value>,
) -> Result<bool, String> {
    if let Some(broken) = &hook.broken {
        return Err(broken.clone());
    }
    if hook.conditions.is_empty() {
        return Ok(true);
    }
    let mut vars = cel::Activation::default();
    vars.set("object", cel::from_optional(object));
    vars.set("oldObject", cel::from_optional(a.old));
    vars.set("request", cel::from_json(&request_variable(a)));
    for (name, expr) in &hook.conditions {
        match expr.eval_bool(&vars) {
            Ok(true) => {}
            Ok(false) => return Ok(false),
            Err(e) => return Err(format!("failed evaluating match condition {name:?}: {e}")),
        }
    }
    Ok(true)
}

/// The `request` CEL expressions see: the AdmissionReview's request without the objects.
pub fn request_variable(a: &Attributes<'_>) -> Value {
    let mut review = review::request(a, "", None);
    let mut request = review["request"].take();
    if let Some(r) = request.as_object_mut() {
        r.remove("object");
        r.remove("oldObject");
    }
    request
}

/// One round trip: the review sent, the answer read and checked, within the timeout.
async fn exchange(
    server: &ApiServer,
    hook: &Hook,
    a: &Attributes<'_>,
    object: Option<&Value>,
    uid: &str,
    mutating: bool,
) -> Result<review::Response, String> {
    let client = hook.client.as_ref().map_err(Clone::clone)?;
    let target = hook.target.as_ref().map_err(Clone::clone)?;
    let mut to = resolve::destination(server, target).await?;
    let query = format!("timeout={}s", hook.timeout.as_secs());
    to.path = match to.path.contains('?') {
        true => format!("{}&{query}", to.path),
        false => format!("{}?{query}", to.path),
    };
    let host = match to.server_name.contains(':') {
        true => format!("[{}]", to.server_name),
        false => to.server_name.clone(),
    };
    let url = format!("https://{host}:{}{}", to.addr.port(), to.path);
    let body = serde_json::to_vec(&review::request(a, uid, object)).map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(hook.timeout, client.post(&to, Bytes::from(body))).await;
    let (code, body) = match answer {
        Err(_) => {
            return Err(format!(
                "failed to call webhook: Post \"{url}\": context deadline exceeded"
            ));
        }
        Ok(Err(e)) => return Err(format!("failed to call webhook: Post \"{url}\": {e}")),
        Ok(Ok(answer)) => answer,
    };
    if code != 200 {
        return Err(format!(
            "failed to call webhook: the server responded with the status code {code} but did not return more information"
        ));
    }
    review::response(&body, uid, mutating)
}

/// A denial as upstream reports it: `admission webhook "x" denied the request: <message>`,
/// with the webhook's code (400 at least) and reason.
fn denial(name: &str, status: Option<Value>) -> api::status::Status {
    let status = status.unwrap_or_else(|| json!({}));
    let denied = format!("admission webhook \"{name}\" denied the request");
    let message = status["message"].as_str().filter(|m| !m.is_empty());
    let reason = status["reason"].as_str().unwrap_or_default();
    let message = match (message, reason) {
        (Some(m), _) => format!("{denied}: {m}"),
        (None, r) if !r.is_empty() => format!("{denied}: {r}"),
        _ => format!("{denied} without explanation"),
    };
    let code = status["code"].as_u64().filter(|c| *c >= 400).unwrap_or(400) as u16;
    let mut out = api::status::Status::failure(code, reason, message);
    if let Some(details) = status
        .get("details")
        .and_then(|d| serde_json::from_value(d.clone()).ok())
    {
        out.details = Some(details);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_in_upstream_words() {
        let d = denial(
            "deny.example.com",
            Some(json!({"message": "no", "code": 403})),
        );
        assert_eq!(
            d.message,
            "admission webhook \"deny.example.com\" denied the request: no"
        );
        assert_eq!(d.code, 403);
        let d = denial("x", None);
        assert_eq!(
            d.message,
            "admission webhook \"x\" denied the request without explanation"
        );
        assert_eq!(d.code, 400);
        let d = denial("x", Some(json!({"reason": "Forbidden", "code": 200})));
        assert_eq!(
            d.message,
            "admission webhook \"x\" denied the request: Forbidden"
        );
        assert_eq!((d.code, d.reason.as_str()), (400, "Forbidden"));
    }
}
