//! The audit context of one request: what the parts of the server that handle it add to its
//! event (annotations, the impersonated user, the request body as read). It rides in the
//! request's extensions while the request is audited; a request that is not audited has none,
//! and adding to it is then a no-op.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::Extensions;
use bytes::Bytes;

use super::event::UserInfo;

/// A handle on the event being recorded for a request; cheap to clone and to keep.
#[derive(Clone, Default)]
pub struct AuditContext {
    recorded: Arc<Mutex<Recorded>>,
}

#[derive(Default)]
pub(super) struct Recorded {
    pub annotations: BTreeMap<String, String>,
    pub impersonated: Option<UserInfo>,
    /// The whole request body, once the handler has read it.
    pub request_body: Option<Bytes>,
}

impl AuditContext {
    /// The context of the request these are the extensions of, if it is audited.
    pub fn of(extensions: &Extensions) -> Option<AuditContext> {
        extensions.get::<AuditContext>().cloned()
    }

    /// Adds `key: value` to the event's annotations. Keys name the component that sets them
    /// (`imagepolicy.image.openshift.io/decision`); values are short. As upstream, the first
    /// value set for a key stays: a different one is refused (and logged). Annotations added
    /// after the response is complete are not recorded.
    pub fn annotate(&self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        self.with(|r| match r.annotations.get(&key) {
            Some(set) if *set != value => {
                tracing::warn!(%key, %value, %set, "audit annotation already set; kept as it was");
            }
            _ => drop(r.annotations.insert(key, value)),
        });
    }

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Recorded) -> R) -> R {
        f(&mut self.recorded.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Adds `key: value` to the audit event of the request `extensions` belong to, if it is
/// audited (see [`AuditContext::annotate`]).
pub fn annotate(extensions: &Extensions, key: &str, value: &str) {
    if let Some(context) = extensions.get::<AuditContext>() {
        context.annotate(key, value);
    }
}

tokio::task_local! {
    /// The audit context of the request a registry handler serves, for the parts of the
    /// server that see no request (admission).
    static CURRENT: Option<AuditContext>;
}

/// Runs `work` (a request's handling) with `context` as the current request's.
pub async fn scope<F: std::future::Future>(context: Option<AuditContext>, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// Adds `key: value` to the current request's event, if it is audited.
pub fn annotate_current(key: &str, value: &str) {
    let _ = CURRENT.try_with(|c| {
        if let Some(c) = c {
            c.annotate(key, value);
        }
    });
}

/// Whether the current request is audited: what only its event would show need not be made.
pub fn audited() -> bool {
    CURRENT.try_with(Option::is_some).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_of_an_annotation_stays() {
        let mut extensions = Extensions::new();
        annotate(&extensions, "a", "ignored: not audited");
        let context = AuditContext::default();
        extensions.insert(context.clone());
        annotate(&extensions, "example.com/decision", "allow");
        annotate(&extensions, "example.com/decision", "allow");
        annotate(&extensions, "example.com/decision", "deny");
        AuditContext::of(&extensions)
            .unwrap()
            .annotate("example.com/reason", "signed");
        let annotations = context.with(|r| r.annotations.clone());
        assert_eq!(
            annotations.into_iter().collect::<Vec<_>>(),
            [
                ("example.com/decision".into(), "allow".into()),
                ("example.com/reason".into(), "signed".into())
            ]
        );
    }
}
