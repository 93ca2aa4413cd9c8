//! `deploymentconfigs/<name>/rollback` (a DeploymentConfigRollback): the config that rolls
//! back to an earlier deployment, generated, not stored (the client writes it back). It takes
//! the earlier deployment's template (and, if asked, its replicas and selector, triggers and
//! strategy), turns every image trigger to manual so the rollback sticks, and moves
//! `latestVersion` on by one.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::instantiate::invalid;
use super::keys;
use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

const KIND: &str = "DeploymentConfigRollback";

/// The generated config: `current` rolled back to `target` (the config a deployment was
/// made from), as `spec` asks.
pub fn generate(current: &Value, target: &Value, spec: &Value) -> Value {
    let mut dc = current.clone();
    if spec["includeTemplate"] == true {
        dc["spec"]["template"] = target["spec"]["template"].clone();
    }
    if spec["includeReplicationMeta"] == true {
        dc["spec"]["replicas"] = target["spec"]["replicas"].clone();
        dc["spec"]["selector"] = target["spec"]["selector"].clone();
    }
    if spec["includeTriggers"] == true {
        dc["spec"]["triggers"] = target["spec"]["triggers"].clone();
    }
    if spec["includeStrategy"] == true {
        dc["spec"]["strategy"] = target["spec"]["strategy"].clone();
    }
    for trigger in dc["spec"]["triggers"].as_array_mut().into_iter().flatten() {
        if trigger["type"] == "ImageChange" {
            trigger["imageChangeParams"]["automatic"] = json!(false);
        }
    }
    let version = current["status"]["latestVersion"].as_i64().unwrap_or(0);
    dc["status"]["latestVersion"] = json!(version + 1);
    dc
}

pub struct Rollback;

#[async_trait::async_trait]
impl Rest for Rollback {
    async fn create(&self, call: &Call<'_>, body: bytes::Bytes) -> Result<Response, ApiError> {
        let request: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid {KIND}: {e}")))?;
        let name = request["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(
                KIND,
                name,
                "name",
                "Required value: name of the deployment config is missing".into(),
            ));
        }
        let revision = request["spec"]["revision"].as_i64().unwrap_or(0);
        if revision < 0 {
            return Err(invalid(
                KIND,
                name,
                "spec.revision",
                format!("Invalid value: {revision}: must be non-negative"),
            ));
        }
        let refuse = |why: String| {
            invalid(
                KIND,
                name,
                "name",
                format!("Invalid value: {name:?}: {why}"),
            )
        };
        let namespace = call.namespace.unwrap_or_default();
        let current = match call
            .server
            .get_object(call.def, Some(namespace), name)
            .await?
        {
            Some(dc) => dc,
            None => {
                return Err(refuse(format!(
                    "cannot get deployment config {name:?}: deploymentconfigs.apps.openshift.io {name:?} not found"
                )));
            }
        };
        let latest = current["status"]["latestVersion"].as_i64().unwrap_or(0);
        match latest {
            0 => return Err(refuse("cannot rollback an undeployed config".into())),
            1 => {
                return Err(refuse(format!(
                    "no previous deployment exists for \"{namespace}/{name}\""
                )));
            }
            _ => {}
        }
        if revision == latest {
            return Err(refuse(format!("version {latest} is already the latest")));
        }
        let revision = if revision == 0 { latest - 1 } else { revision };
        let rcs = call
            .server
            .scheme
            .lookup("", "v1", "replicationcontrollers")
            .ok_or(ApiError::PathNotFound)?;
        let rc_name = format!("{name}-{revision}");
        let Some(rc) = call
            .server
            .get_object(rcs, Some(namespace), &rc_name)
            .await?
        else {
            return Err(refuse(format!(
                "replicationcontrollers {rc_name:?} not found"
            )));
        };
        let target: Value = rc["metadata"]["annotations"][keys::ENCODED_CONFIG]
            .as_str()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or_else(|| {
                refuse(
                    "couldn't decode deployment config from deployment: no encoded config".into(),
                )
            })?;
        let mut generated = generate(&current, &target, &request["spec"]);
        if let Some(extra) = request["updatedAnnotations"].as_object() {
            if !generated["metadata"]["annotations"].is_object() {
                generated["metadata"]["annotations"] = json!({});
            }
            for (k, v) in extra {
                generated["metadata"]["annotations"][k] = v.clone();
            }
        }
        Ok(call.out.respond(StatusCode::CREATED, call.def, generated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_template_with_manual_image_triggers() {
        let current = json!({"spec": {"replicas": 3, "template": {"v": 2},
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"automatic": true}}]},
            "status": {"latestVersion": 2}});
        let target = json!({"spec": {"replicas": 1, "template": {"v": 1}}});
        let dc = generate(&current, &target, &json!({"includeTemplate": true}));
        assert_eq!(dc["spec"]["template"], json!({"v": 1}));
        assert_eq!(dc["spec"]["replicas"], 3);
        assert_eq!(
            dc["spec"]["triggers"][0]["imageChangeParams"]["automatic"],
            false
        );
        assert_eq!(dc["status"]["latestVersion"], 3);
    }
}
