//! OpenShift's project node selector (`scheduling.openshift.io/OriginPodNodeEnvironment`):
//! a new pod's nodeSelector gets its namespace's `openshift.io/node-selector` (labels
//! `key=value,...`) merged in; a pod asking for another value of one of those labels is
//! refused with upstream's message.

use api::field::Field;
use serde_json::{Map, Value};

use super::Attributes;
use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "scheduling.openshift.io/OriginPodNodeEnvironment";

/// The namespace annotation that holds a project's node selector.
pub const ANNOTATION: &str = "openshift.io/node-selector";

pub fn applies(a: &Attributes<'_>) -> bool {
    a.creates_pod()
}

/// `key=value,key2=value2` as a map; upstream's error for anything else.
pub(super) fn parse(selector: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels = Vec::new();
    for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once("==")
            .or_else(|| part.split_once('='))
            .ok_or_else(|| format!("invalid label selector: {selector:?}"))?;
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.contains(['=', '!']) {
            return Err(format!("invalid label selector: {selector:?}"));
        }
        labels.push((key.to_string(), value.to_string()));
    }
    Ok(labels)
}

/// A pod's nodeSelector asks another value of a label the namespace's selector fixes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Conflict;

/// Merges `project` into the pod's nodeSelector, unless they conflict.
pub(super) fn merge(project: &[(String, String)], pod: &mut Value) -> Result<(), Conflict> {
    let current = pod
        .field("spec")
        .field("nodeSelector")
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut merged: Map<String, Value> = current.clone();
    for (key, value) in project {
        match current.get(key).and_then(Value::as_str) {
            Some(v) if v != value => return Err(Conflict),
            _ => {
                merged.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    if !merged.is_empty() && pod["spec"].is_object() {
        pod["spec"]["nodeSelector"] = Value::Object(merged);
    }
    Ok(())
}

pub async fn admit(
    server: &ApiServer,
    a: &Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let Some(ns) = a.namespace_object(server, namespace).await? else {
        return Ok(());
    };
    let Some(selector) = ns
        .field("metadata")
        .field("annotations")
        .field(ANNOTATION)
        .as_str()
    else {
        return Ok(());
    };
    let project = parse(selector).map_err(|e| a.forbidden(pod, e))?;
    merge(&project, pod).map_err(|_| {
        a.forbidden(
            pod,
            "pod node label selector conflicts with its project node label selector",
        )
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_project_selector_is_merged_into_the_pods() {
        let project = parse("region=east, tier==web").unwrap_or_default();
        let mut pod = json!({"spec": {"nodeSelector": {"disk": "ssd", "region": "east"}}});
        assert_eq!(merge(&project, &mut pod), Ok(()));
        assert_eq!(
            pod["spec"]["nodeSelector"],
            json!({"disk": "ssd", "region": "east", "tier": "web"})
        );
        let mut west = json!({"spec": {"nodeSelector": {"region": "west"}}});
        assert!(merge(&project, &mut west).is_err());
        assert!(parse("region").is_err());
        assert_eq!(parse("").map(|l| l.len()), Ok(0));
    }
}
