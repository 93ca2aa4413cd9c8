//! `builds/<name>/details`: what the builder reports of its build (upstream's details
//! strategy): the revision it built (set once), a terminal phase, the reason and message, the
//! stages and the pushed image's digest. Everything else stays as stored.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::keys;
use crate::error::ApiError;
use crate::registry::object;
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::{Bad, FieldErrors};

const ATTEMPTS: usize = 5;

/// `current` with what `reported` may change; Err: the revision cannot be set again.
pub fn merge(current: &Value, reported: &Value, errors: &mut FieldErrors) -> Value {
    let mut next = current.clone();
    let revision = &reported["spec"]["revision"];
    if revision.is_object() {
        if current["spec"]["revision"].is_object() && current["spec"]["revision"] != *revision {
            errors.duplicate("spec.revision", Bad::Go("\"\"".into()));
        } else if revision.as_object().is_some_and(|r| r.is_empty()) {
            errors.invalid(
                "spec.revision",
                Bad::Go("\"\"".into()),
                "cannot set an empty revision in build spec",
            );
        } else {
            next["spec"]["revision"] = revision.clone();
        }
    }
    let status = &reported["status"];
    if !next["status"].is_object() {
        next["status"] = json!({});
    }
    if let Some(phase) = status["phase"].as_str().filter(|p| keys::is_terminal(p))
        && !keys::is_terminal(current["status"]["phase"].as_str().unwrap_or_default())
    {
        next["status"]["phase"] = json!(phase);
    }
    for field in ["reason", "message", "stages"] {
        if !status[field].is_null() {
            next["status"][field] = status[field].clone();
        }
    }
    if status["output"]["to"].is_object() {
        next["status"]["output"]["to"] = status["output"]["to"].clone();
    }
    next
}

pub struct Details;

#[async_trait::async_trait]
impl Rest for Details {
    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let reported: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid Build: {e}")))?;
        let namespace = call.namespace.unwrap_or_default();
        for _ in 0..ATTEMPTS {
            let current = call
                .server
                .get_object(call.def, Some(namespace), call.name)
                .await?
                .ok_or_else(|| ApiError::NotFound(object::target(call.def, call.name)))?;
            let mut errors = FieldErrors::default();
            let mut next = merge(&current, &reported, &mut errors);
            errors.into_result(call.def, &current)?;
            super::Builds.prepare_created(&mut next);
            match call.server.update_object(call.def, next).await {
                Ok(stored) => return Ok(call.out.respond(StatusCode::OK, call.def, stored)),
                Err(ApiError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Conflict(object::target(call.def, call.name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_sets_its_revision_once_and_only_a_final_phase() {
        let current = json!({"spec": {}, "status": {"phase": "Running"}});
        let reported = json!({"spec": {"revision": {"git": {"commit": "abc"}}},
            "status": {"phase": "Running", "reason": "X", "output": {"to": {"imageDigest": "sha256:1"}}}});
        let mut errors = FieldErrors::default();
        let next = merge(&current, &reported, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(next["status"]["phase"], "Running");
        assert_eq!(next["status"]["output"]["to"]["imageDigest"], "sha256:1");
        let again = json!({"spec": {"revision": {"git": {"commit": "def"}}}, "status": {"phase": "Failed"}});
        let mut errors = FieldErrors::default();
        let after = merge(&next, &again, &mut errors);
        assert_eq!(errors.summary(), "spec.revision: Duplicate value: \"\"");
        assert_eq!(after["status"]["phase"], "Failed");
    }
}
