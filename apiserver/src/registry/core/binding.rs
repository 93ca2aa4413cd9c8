//! `pods/<name>/binding` (upstream's BindingREST): a scheduler assigns a pod to a node. The
//! pod gets `spec.nodeName`, the binding's annotations and `PodScheduled=True`; a pod already
//! assigned, or being deleted, is a Conflict on `pods/binding`.

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::object;

/// How many times a binding is tried again when the pod changed under it.
const ATTEMPTS: usize = 5;

fn binding_target(name: &str) -> Target {
    Target {
        group: String::new(),
        resource: "pods/binding".into(),
        name: name.into(),
    }
}

/// Upstream's ValidatePodBinding: an aggregate of field errors, answered as an internal error.
fn validate(binding: &Value) -> Result<(), ApiError> {
    let target = &binding["target"];
    let mut errors = Vec::new();
    if let Some(kind) = target["kind"]
        .as_str()
        .filter(|k| !k.is_empty() && *k != "Node")
    {
        errors.push(format!(
            "target.kind: Invalid value: \"{kind}\": must be empty or 'Node'"
        ));
    }
    if target["name"].as_str().unwrap_or_default().is_empty() {
        errors.push("target.name: Required value".into());
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(ApiError::Internal(errors.remove(0))),
        _ => Err(ApiError::Internal(format!("[{}]", errors.join(", ")))),
    }
}

/// `pod` bound to `node`: upstream's setPodNodeAndMetadata, or why it cannot be.
pub fn assign(
    mut pod: Value,
    node: &str,
    annotations: Option<&serde_json::Map<String, Value>>,
    now: &str,
) -> Result<Value, String> {
    let name = object::meta_str(&pod, "name").to_string();
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        return Err(format!(
            "pod {name} is being deleted, cannot be assigned to a host"
        ));
    }
    let current = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    if !current.is_empty() {
        return Err(format!(
            "pod {name} is already assigned to node \"{current}\""
        ));
    }
    pod["spec"]["nodeName"] = json!(node);
    if let Some(annotations) = annotations.filter(|a| !a.is_empty()) {
        let meta = &mut pod["metadata"];
        if !meta["annotations"].is_object() {
            meta["annotations"] = json!({});
        }
        for (k, v) in annotations {
            meta["annotations"][k] = v.clone();
        }
    }
    set_scheduled(&mut pod["status"], now);
    Ok(pod)
}

/// `PodScheduled=True`, keeping the transition time of a condition already true.
fn set_scheduled(status: &mut Value, now: &str) {
    if !status.is_object() {
        *status = json!({});
    }
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let wanted = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null,
        "lastTransitionTime": now});
    let Some(conditions) = status["conditions"].as_array_mut() else {
        return;
    };
    match conditions.iter_mut().find(|c| c["type"] == "PodScheduled") {
        Some(c) if c["status"] == "True" => {}
        Some(c) => *c = wanted,
        None => conditions.push(wanted),
    }
}

pub async fn create(
    server: &ApiServer,
    namespace: &str,
    name: &str,
    binding: Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    if object::meta_str(&binding, "name") != name {
        return Err(ApiError::BadRequest(
            "name in URL does not match name in Binding object".into(),
        ));
    }
    validate(&binding)?;
    let def = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    let node = binding["target"]["name"].as_str().unwrap_or_default();
    let uid = object::meta_str(&binding, "uid");
    let annotations = binding["metadata"]["annotations"].as_object();
    for _ in 0..ATTEMPTS {
        let pod = server
            .get_object(def, Some(namespace), name)
            .await?
            .ok_or_else(|| ApiError::NotFound(object::target(def, name)))?;
        let pod_uid = object::meta_str(&pod, "uid");
        if !uid.is_empty() && uid != pod_uid {
            return Err(ApiError::ConflictBecause {
                target: binding_target(name),
                reason: format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {pod_uid}"
                ),
            });
        }
        let bound = assign(pod, node, annotations, &object::now()).map_err(|reason| {
            ApiError::ConflictBecause {
                target: binding_target(name),
                reason,
            }
        })?;
        if dry_run {
            return Ok(());
        }
        match server.update_object(def, bound).await {
            Ok(_) => return Ok(()),
            Err(ApiError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::Conflict(binding_target(name)))
}

/// The `binding` subresource of pods.
pub struct Bindings;

#[async_trait::async_trait]
impl crate::registry::rest::Rest for Bindings {
    async fn create(
        &self,
        call: &crate::registry::rest::Call<'_>,
        body: bytes::Bytes,
    ) -> Result<axum::response::Response, ApiError> {
        let binding: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid Binding: {e}")))?;
        let namespace = call.namespace.unwrap_or_default();
        let dry_run = call.params.dry_run.iter().any(|d| d == "All");
        create(call.server, namespace, call.name, binding, dry_run).await?;
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "code": 201});
        Ok(crate::registry::response::json_response(
            axum::http::StatusCode::CREATED,
            &status,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_once_and_marks_the_pod_scheduled() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {},
            "status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}});
        let mut ann = serde_json::Map::new();
        ann.insert("a".into(), json!("b"));
        let bound = assign(pod, "n1", Some(&ann), "T").unwrap();
        assert_eq!(bound["spec"]["nodeName"], "n1");
        assert_eq!(bound["metadata"]["annotations"]["a"], "b");
        assert_eq!(
            bound["status"]["conditions"],
            json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "T"}])
        );
        assert_eq!(
            assign(bound, "n2", None, "T").unwrap_err(),
            "pod p is already assigned to node \"n1\""
        );
        let deleted = json!({"metadata": {"name": "q", "deletionTimestamp": "x"}, "spec": {}});
        assert_eq!(
            assign(deleted, "n", None, "T").unwrap_err(),
            "pod q is being deleted, cannot be assigned to a host"
        );
    }

    #[test]
    fn a_binding_names_a_node() {
        assert!(validate(&json!({"target": {"name": "n", "kind": "Node"}})).is_ok());
        assert_eq!(
            validate(&json!({"target": {"kind": "Pod"}})).unwrap_err(),
            ApiError::Internal(
                "[target.kind: Invalid value: \"Pod\": must be empty or 'Node', target.name: Required value]".into()
            )
        );
    }
}
