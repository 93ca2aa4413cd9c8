//! The `scale` subresource: a Scale view of an object's `spec.replicas`, `status.replicas`
//! and selector, in the group version the scheme names (`autoscaling/v1` for Kubernetes kinds).

use api::scheme::{ResourceDef, Subresource};
use api::selector::format_label_selector;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::registry::object;

/// The equality part of a selector, as a label map.
fn selector_labels(selector: Option<&Value>) -> Value {
    match selector.and_then(Value::as_object) {
        Some(s) if s.contains_key("matchLabels") || s.contains_key("matchExpressions") => {
            s.get("matchLabels").cloned().unwrap_or_else(|| json!({}))
        }
        Some(s) => Value::Object(s.clone()),
        None => json!({}),
    }
}

/// The Scale view of `parent`. In `extensions/v1beta1` (OpenShift's DeploymentConfig scale)
/// the selector is a label map and its string form is `targetSelector`.
pub fn view(sub: &Subresource, parent: &Value) -> Value {
    let meta = object::metadata(parent);
    let field = |name: &str| {
        meta.and_then(|m| m.get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let api_version = sub.api_version();
    let selector = parent["spec"].get("selector");
    let status = match sub.group {
        "extensions" => json!({
            "replicas": parent["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_labels(selector),
            "targetSelector": format_label_selector(selector),
        }),
        _ => json!({
            "replicas": parent["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": format_label_selector(selector),
        }),
    };
    json!({
        "kind": "Scale",
        "apiVersion": api_version,
        "metadata": {
            "name": field("name"),
            "namespace": field("namespace"),
            "uid": field("uid"),
            "resourceVersion": field("resourceVersion"),
            "creationTimestamp": field("creationTimestamp"),
        },
        "spec": {"replicas": parent["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": status,
    })
}

/// A Scale body's types, as upstream's decoding into `autoscaling/v1` Scale checks them.
pub fn check_types(scale: &Value) -> Result<(), ApiError> {
    let replicas = &scale["spec"]["replicas"];
    let found = match replicas {
        Value::Null => return Ok(()),
        Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => return Ok(()),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    };
    Err(crate::registry::decode::field_validation::cannot_handle(
        "Scale",
        "v1",
        &format!(
            "json: cannot unmarshal {found} into Go struct field ScaleSpec.spec.replicas of type int32"
        ),
    ))
}

/// The replica count a Scale asks for.
pub fn replicas(def: &ResourceDef, name: &str, scale: &Value) -> Result<i64, ApiError> {
    match scale["spec"]["replicas"].as_i64() {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(ApiError::Invalid {
            kind: "Scale".into(),
            // A Scale is autoscaling's kind, whatever resource it scales.
            target: crate::error::Target {
                group: "autoscaling".into(),
                ..object::target(def, name)
            },
            causes: vec![api::status::StatusCause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {}: must be greater than or equal to 0",
                    scale["spec"]["replicas"]
                ),
                field: "spec.replicas".into(),
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_and_selectors() {
        let sub = Subresource {
            name: "scale",
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: &[],
        };
        let deploy = json!({"metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}},
            "status": {"replicas": 1}});
        let scale = view(&sub, &deploy);
        assert_eq!(scale["apiVersion"], "autoscaling/v1");
        assert_eq!(scale["spec"]["replicas"], 2);
        assert_eq!(scale["status"]["selector"], "app=web,tier in (a,b)");
        assert_eq!(scale["metadata"]["resourceVersion"], "7");
        let rc = json!({"spec": {"replicas": 3, "selector": {"app": "x"}}});
        assert_eq!(view(&sub, &rc)["status"]["selector"], "app=x");
        let legacy = Subresource {
            name: "scale",
            group: "extensions",
            version: "v1beta1",
            kind: "Scale",
            verbs: &[],
        };
        let dc = view(&legacy, &rc);
        assert_eq!(
            (
                &dc["apiVersion"],
                &dc["status"]["selector"],
                &dc["status"]["targetSelector"]
            ),
            (
                &json!("extensions/v1beta1"),
                &json!({"app": "x"}),
                &json!("app=x")
            )
        );
    }
}
