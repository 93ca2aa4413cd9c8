//! `deploymentconfigs/<name>/instantiate` (a DeploymentRequest): upstream's way to start a
//! deployment by hand (`oc rollout latest`). With `latest`, the image change triggers take
//! their tags' current images first; then a deployment starts if something caused one
//! (`force`: always, as a manual change), as `latestVersion + 1` with `status.details`
//! saying why. Nothing to do: 204, as upstream's Status with that code.

use api::status::StatusCause;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::keys;
use super::tags;
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::object;
use crate::registry::rest::{Call, Rest};

const ATTEMPTS: usize = 5;

pub(super) fn invalid(kind: &str, name: &str, field: &str, message: String) -> ApiError {
    ApiError::Invalid {
        kind: kind.into(),
        target: Target {
            group: "apps.openshift.io".into(),
            resource: String::new(),
            name: name.into(),
        },
        causes: vec![StatusCause {
            reason: "FieldValueInvalid".into(),
            message,
            field: field.into(),
        }],
    }
}

/// The image change triggers of `dc`.
fn image_triggers(dc: &Value) -> impl Iterator<Item = &Value> {
    dc["spec"]["triggers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == "ImageChange")
        .map(|t| &t["imageChangeParams"])
}

/// Points the containers a trigger names (and init containers) at `image`.
pub(super) fn set_images(template_spec: &mut Value, names: &[&str], image: &str) {
    for list in ["initContainers", "containers"] {
        for c in template_spec[list].as_array_mut().into_iter().flatten() {
            if names.contains(&c["name"].as_str().unwrap_or_default()) {
                c["image"] = json!(image);
            }
        }
    }
}

/// `latest`: each image trigger takes its tag's current image (upstream's processTriggers).
async fn take_latest_images(
    server: &ApiServer,
    dc: &mut Value,
    force: bool,
    excluded: &[&str],
) -> Result<(), ApiError> {
    if excluded.contains(&"ImageChange") {
        return Ok(());
    }
    let Some(streams) = server
        .scheme
        .lookup("image.openshift.io", "v1", "imagestreams")
    else {
        return Ok(());
    };
    let paused = dc["spec"]["paused"] == true;
    let namespace = object::meta_str(dc, "namespace").to_string();
    let count = image_triggers(dc).count();
    for i in 0..count {
        let Some(params) = image_triggers(dc).nth(i).cloned() else {
            continue;
        };
        if !force && (paused || params["automatic"] != true) {
            continue;
        }
        let from = &params["from"];
        let ns = from["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(&namespace);
        let (stream, tag) = from["name"]
            .as_str()
            .unwrap_or_default()
            .split_once(':')
            .unwrap_or_default();
        let Some(found) = server.get_object(streams, Some(ns), stream).await? else {
            continue;
        };
        let Some(image) = tags::resolve(&found, tag) else {
            continue;
        };
        if params["lastTriggeredImage"] == image.as_str() {
            continue;
        }
        let names: Vec<&str> = params["containerNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        set_images(&mut dc["spec"]["template"]["spec"], &names, &image);
        if let Some(trigger) = dc["spec"]["triggers"]
            .as_array_mut()
            .and_then(|t| t.iter_mut().filter(|t| t["type"] == "ImageChange").nth(i))
        {
            trigger["imageChangeParams"]["lastTriggeredImage"] = json!(image);
        }
    }
    Ok(())
}

/// Why a deployment starts now (upstream's canTrigger), given the config its latest
/// deployment was made from; empty when nothing does. Err: images still unresolved.
pub fn causes(dc: &Value, deployed: Option<&Value>, force: bool) -> Result<Vec<Value>, String> {
    let name = object::meta_str(dc, "name");
    if image_triggers(dc).any(|p| {
        p["lastTriggeredImage"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    }) {
        return Err(format!(
            "cannot trigger a deployment for \"{name}\" because it contains unresolved images"
        ));
    }
    if force {
        return Ok(vec![json!({"type": "Manual"})]);
    }
    let first = dc["status"]["latestVersion"].as_i64().unwrap_or(0) == 0;
    let mut causes = Vec::new();
    for params in image_triggers(dc).filter(|p| p["automatic"] == true) {
        let before = deployed.and_then(|d| {
            image_triggers(d).find(|p| {
                p["from"]["name"] == params["from"]["name"]
                    && p["from"]["namespace"] == params["from"]["namespace"]
            })
        });
        let fired =
            first || before.is_none_or(|b| b["lastTriggeredImage"] != params["lastTriggeredImage"]);
        if fired {
            causes.push(json!({"type": "ImageChange", "imageTrigger": {"from": {
                "kind": "ImageStreamTag", "name": params["from"]["name"],
                "namespace": params["from"]["namespace"]}}}));
        }
    }
    let config_trigger = dc["spec"]["triggers"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["type"] == "ConfigChange"));
    if causes.is_empty()
        && config_trigger
        && (first || deployed.is_none_or(|d| d["spec"]["template"] != dc["spec"]["template"]))
    {
        causes.push(json!({"type": "ConfigChange"}));
    }
    Ok(causes)
}

/// The message of `status.details` for a deployment's first cause.
pub fn details_message(cause: &Value) -> &'static str {
    match cause["type"].as_str() {
        Some("ImageChange") => "image change",
        Some("Manual") => "manual change",
        _ => "config change",
    }
}

/// The config the latest deployment of `dc` was made from.
async fn deployed(server: &ApiServer, dc: &Value) -> Result<Option<Value>, ApiError> {
    let version = dc["status"]["latestVersion"].as_i64().unwrap_or(0);
    if version == 0 {
        return Ok(None);
    }
    let def = server
        .scheme
        .lookup("", "v1", "replicationcontrollers")
        .ok_or(ApiError::PathNotFound)?;
    let rc_name = format!("{}-{version}", object::meta_str(dc, "name"));
    let rc = server
        .get_object(def, Some(object::meta_str(dc, "namespace")), &rc_name)
        .await?
        .ok_or_else(|| ApiError::NotFound(object::target(def, &rc_name)))?;
    Ok(rc["metadata"]["annotations"][keys::ENCODED_CONFIG]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok()))
}

pub struct Instantiate;

#[async_trait::async_trait]
impl Rest for Instantiate {
    async fn create(&self, call: &Call<'_>, body: bytes::Bytes) -> Result<Response, ApiError> {
        let request: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid DeploymentRequest: {e}")))?;
        let name = request["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            return Err(invalid(
                "DeploymentRequest",
                name,
                "name",
                "Invalid value: \"\": name of the deployment config is missing".into(),
            ));
        }
        let latest = request["latest"] == true;
        let force = request["force"] == true;
        let excluded: Vec<&str> = request["excludeTriggers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let namespace = call.namespace.unwrap_or_default();
        for _ in 0..ATTEMPTS {
            let mut dc = call
                .server
                .get_object(call.def, Some(namespace), call.name)
                .await?
                .ok_or_else(|| ApiError::NotFound(object::target(call.def, call.name)))?;
            if dc["spec"]["paused"] == true {
                return Err(invalid(
                    "DeploymentRequest",
                    name,
                    "spec.paused",
                    format!(
                        "Invalid value: true: deployment config {:?} is paused - unpause to request a new deployment",
                        call.name
                    ),
                ));
            }
            let spec_before = dc["spec"].clone();
            if latest {
                take_latest_images(call.server, &mut dc, force, &excluded).await?;
            }
            let deployed = deployed(call.server, &dc).await?;
            let causes = causes(&dc, deployed.as_ref(), force).map_err(ApiError::BadRequest)?;
            let Some(first) = causes.first() else {
                return Ok(StatusCode::NO_CONTENT.into_response());
            };
            let message = details_message(first);
            let version = dc["status"]["latestVersion"].as_i64().unwrap_or(0) + 1;
            dc["status"]["details"] = json!({"message": message, "causes": causes});
            dc["status"]["latestVersion"] = json!(version);
            if dc["spec"] != spec_before {
                let generation = dc["metadata"]["generation"].as_i64().unwrap_or(0);
                dc["metadata"]["generation"] = json!(generation + 1);
            }
            match call.server.update_object(call.def, dc).await {
                Ok(stored) => return Ok(call.out.respond(StatusCode::CREATED, call.def, stored)),
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

    fn dc(version: i64, image: &str) -> Value {
        json!({"metadata": {"name": "web"}, "status": {"latestVersion": version},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}},
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {
                "automatic": true, "containerNames": ["web"], "lastTriggeredImage": image,
                "from": {"kind": "ImageStreamTag", "name": "web:latest", "namespace": "p"}}}]}})
    }

    #[test]
    fn what_starts_a_deployment() {
        assert_eq!(
            causes(&dc(0, ""), None, false).unwrap_err(),
            "cannot trigger a deployment for \"web\" because it contains unresolved images"
        );
        let first = causes(&dc(0, "a"), None, false).unwrap();
        assert_eq!(first[0]["type"], "ImageChange");
        assert_eq!(
            causes(&dc(1, "a"), Some(&dc(1, "a")), false).unwrap(),
            Vec::<Value>::new()
        );
        let moved = causes(&dc(1, "b"), Some(&dc(1, "a")), false).unwrap();
        assert_eq!(moved[0]["imageTrigger"]["from"]["name"], "web:latest");
        assert_eq!(
            causes(&dc(1, "a"), Some(&dc(1, "a")), true).unwrap(),
            vec![json!({"type": "Manual"})]
        );
        assert_eq!(details_message(&json!({"type": "Manual"})), "manual change");
    }

    #[test]
    fn a_template_change_is_a_config_change() {
        let mut plain = json!({"metadata": {"name": "web"}, "status": {"latestVersion": 1},
            "spec": {"triggers": [{"type": "ConfigChange"}], "template": {"spec": {"containers": []}}}});
        let before = plain.clone();
        assert!(causes(&plain, Some(&before), false).unwrap().is_empty());
        plain["spec"]["template"]["metadata"] = json!({"labels": {"a": "b"}});
        assert_eq!(
            causes(&plain, Some(&before), false).unwrap(),
            vec![json!({"type": "ConfigChange"})]
        );
    }
}
