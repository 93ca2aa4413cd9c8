//! build.openshift.io: BuildConfigs and Builds. The strategies (upstream's defaults in
//! `defaults.rs`, its rules in `validation.rs`), and the subresources with handlers of their
//! own: `instantiate` and `clone` (a new build from a config or from a build, made by
//! `generator.rs`), `instantiatebinary` (the same with an uploaded source, `binary.rs`),
//! `webhooks` (a build on a push, `webhooks/`), `details` (what the builder reports, `details.rs`)
//! and `log` (the build pod's containers' logs in order, `log.rs`).

#[cfg(test)]
mod api_tests;
pub mod binary;
mod defaults;
pub mod details;
pub mod generator;
pub mod instantiate;
pub mod keys;
pub mod log;
mod validation;
pub mod webhooks;

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::registry::object;
use crate::registry::strategy::{Strategy, Writer};
use crate::registry::validation::FieldErrors;

pub struct BuildConfigs;

#[async_trait::async_trait]
impl Strategy for BuildConfigs {
    fn prepare(&self, obj: &mut Value) {
        defaults::config(obj);
    }

    fn prepare_create(&self, obj: &mut Value) {
        defaults::config_on_create(obj);
        obj["status"] = json!({"lastVersion": 0});
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::config(obj, errors);
    }

    /// `status.lastVersion` never goes back (upstream restores it silently).
    async fn resolve(
        &self,
        _writer: &Writer<'_>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        if let Some(old) = old {
            let before = old["status"]["lastVersion"].as_i64().unwrap_or(0);
            if obj["status"]["lastVersion"].as_i64().unwrap_or(0) < before {
                obj["status"]["lastVersion"] = json!(before);
            }
        }
        Ok(())
    }
}

pub struct Builds;

/// One condition per phase reached: the current one True with its reason and message, the
/// others False (upstream's manageConditions).
fn manage_conditions(build: &mut Value) {
    let status = &build["status"];
    let phase = status["phase"].as_str().unwrap_or_default().to_string();
    if phase.is_empty() {
        return;
    }
    let reason = status["reason"].clone();
    let message = status["message"].clone();
    let now = object::now();
    let mut conditions: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    for c in conditions.iter_mut() {
        if c["type"] != phase.as_str() && c["status"] == "True" {
            *c = json!({"type": c["type"], "status": "False",
                "lastUpdateTime": now, "lastTransitionTime": now});
        }
    }
    match conditions.iter_mut().find(|c| c["type"] == phase.as_str()) {
        Some(c) if c["status"] == "True" => {
            c["reason"] = reason;
            c["message"] = message;
        }
        Some(c) => {
            *c = json!({"type": phase, "status": "True", "reason": reason, "message": message,
                "lastUpdateTime": now, "lastTransitionTime": now});
        }
        None => conditions.push(json!({"type": phase, "status": "True", "reason": reason,
            "message": message, "lastUpdateTime": now, "lastTransitionTime": now})),
    }
    for c in conditions.iter_mut() {
        if let Some(map) = c.as_object_mut() {
            map.retain(|_, v| !v.is_null() && *v != json!(""));
        }
    }
    build["status"]["conditions"] = json!(conditions);
}

impl Builds {
    /// What a build the server makes gets before it is stored (its conditions).
    pub fn prepare_created(&self, build: &mut Value) {
        defaults::build(build);
        manage_conditions(build);
    }
}

#[async_trait::async_trait]
impl Strategy for Builds {
    fn prepare(&self, obj: &mut Value) {
        defaults::build(obj);
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        validation::build(obj, old, errors);
    }

    /// A Failed build keeps its reason and message (but for an out-of-memory kill); the
    /// conditions follow the phase.
    async fn resolve(
        &self,
        _writer: &Writer<'_>,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        if let Some(old) = old
            && old["status"]["phase"] == "Failed"
            && obj["status"]["reason"] != "OutOfMemoryKilled"
        {
            obj["status"]["reason"] = old["status"]["reason"].clone();
            obj["status"]["message"] = old["status"]["message"].clone();
        }
        manage_conditions(obj);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_follow_the_phase() {
        let mut b = json!({"status": {"phase": "New"}});
        manage_conditions(&mut b);
        assert_eq!(b["status"]["conditions"][0]["type"], "New");
        b["status"]["phase"] = json!("Failed");
        b["status"]["reason"] = json!("GenericBuildFailed");
        manage_conditions(&mut b);
        let c = &b["status"]["conditions"];
        assert_eq!(c[0]["status"], "False");
        assert_eq!(c[1]["type"], "Failed");
        assert_eq!(c[1]["reason"], "GenericBuildFailed");
    }
}
