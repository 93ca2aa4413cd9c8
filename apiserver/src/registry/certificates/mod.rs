//! certificates.k8s.io: CertificateSigningRequests as kube-apiserver 1.32 keeps them. The
//! requester (`username`, `uid`, `groups`, `extra`) is taken from who creates one, never from
//! the body; the spec never changes after creation; conditions change through `approval`
//! (Approved, Denied) or `status` (Failed and others, with the certificate), each write
//! judged by `validation.rs`. Who may approve or sign for a signer is admission's
//! (`admission/certificates.rs`).

pub mod validation;

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::object;
use crate::registry::strategy::Strategy;
use crate::registry::validation::FieldErrors;
use validation::Write;

pub struct CertificateSigningRequests;

/// The conditions of `obj` (an empty list when it has none).
fn conditions_mut(obj: &mut Value) -> Option<&mut Vec<Value>> {
    obj["status"]["conditions"].as_array_mut()
}

/// Upstream's `populateConditionTimestamps`: a condition without `lastUpdateTime` gets now;
/// one without `lastTransitionTime` keeps the stored one of its type when its status did not
/// change, else gets now.
fn populate_timestamps(obj: &mut Value, old: &Value) {
    let now = object::now();
    let before: Vec<Value> = old["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in conditions_mut(obj).into_iter().flatten() {
        if c["lastUpdateTime"].as_str().is_none_or(str::is_empty) {
            c["lastUpdateTime"] = json!(now);
        }
        if c["lastTransitionTime"].as_str().is_none_or(str::is_empty) {
            let kept = before
                .iter()
                .find(|o| o["type"] == c["type"])
                .filter(|o| o["status"] == c["status"])
                .and_then(|o| o["lastTransitionTime"].as_str())
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            c["lastTransitionTime"] = json!(kept.unwrap_or_else(|| now.clone()));
        }
    }
}

/// Upstream's `preserveConditionInstances`: conditions of `kind` stay as stored when the write
/// has as many of them (a changed count is left for validation to refuse).
fn preserve_conditions(obj: &mut Value, old: &Value, kind: &str) {
    let stored: Vec<Value> = old["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == kind)
        .cloned()
        .collect();
    let Some(conditions) = conditions_mut(obj) else {
        return;
    };
    let positions: Vec<usize> = conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| c["type"] == kind)
        .map(|(i, _)| i)
        .collect();
    if positions.len() == stored.len() {
        for (i, c) in positions.into_iter().zip(stored) {
            conditions[i] = c;
        }
    }
}

fn judge(def: &ResourceDef, obj: &Value, old: &Value, write: Write) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    validation::validate(obj, Some(old), write, &mut errors);
    errors.into_result(def, obj)
}

#[async_trait]
impl Strategy for CertificateSigningRequests {
    fn prepare_create(&self, obj: &mut Value) {
        // Users cannot create pre-approved (or pre-signed) requests.
        if let Some(map) = obj.as_object_mut() {
            map.remove("status");
        }
    }

    async fn assign(
        &self,
        _server: &ApiServer,
        _def: &ResourceDef,
        user: Option<&User>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        if let Some(old) = old {
            // Immutable after creation but through the subresources.
            obj["spec"] = old["spec"].clone();
            return Ok(());
        }
        if !obj["spec"].is_object() {
            obj["spec"] = json!({});
        }
        let spec = &mut obj["spec"];
        if let Some(map) = spec.as_object_mut() {
            for field in ["username", "uid", "groups", "extra"] {
                map.remove(field);
            }
        }
        if let Some(user) = user.map(crate::authz::authorizer::user_info) {
            spec["username"] = json!(user.name);
            if !user.uid.is_empty() {
                spec["uid"] = json!(user.uid);
            }
            if !user.groups.is_empty() {
                spec["groups"] = json!(user.groups);
            }
            if !user.extra.is_empty() {
                let extra: Map<String, Value> = user
                    .extra
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                spec["extra"] = Value::Object(extra);
            }
        }
        Ok(())
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::validate(obj, old, Write::Object, errors);
    }

    fn prepare_status(&self, obj: &mut Value, old: &Value) {
        obj["spec"] = old["spec"].clone();
        preserve_conditions(obj, old, "Approved");
        preserve_conditions(obj, old, "Denied");
        populate_timestamps(obj, old);
    }

    async fn assign_status(
        &self,
        _server: &ApiServer,
        def: &ResourceDef,
        obj: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        judge(def, obj, old, Write::Status)
    }

    fn assign_approval(
        &self,
        def: &ResourceDef,
        obj: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        populate_timestamps(obj, old);
        judge(def, obj, old, Write::Approval)
    }
}

#[cfg(test)]
mod tests;
