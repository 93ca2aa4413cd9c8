//! A StatefulSet pod's identity and storage: its name `<set>-<ordinal>`, upstream's labels
//! (pod name, pod index, revision), hostname and subdomain, and one claim per volume claim
//! template named `<template>-<set>-<ordinal>` mounted in place of any volume of that name.

use serde_json::{Map, Value, json};

use crate::selector::Labels;

pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// What identifies the set its pods and claims belong to.
pub struct Owner<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub uid: &'a str,
    pub service_name: Option<&'a str>,
    /// The selector's `matchLabels`, which claims carry.
    pub selector_labels: &'a Labels,
    pub claim_templates: &'a [Value],
}

impl Owner<'_> {
    fn reference(&self, controller: bool) -> Value {
        let mut r = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "name": self.name, "uid": self.uid});
        if controller {
            r["controller"] = json!(true);
            r["blockOwnerDeletion"] = json!(true);
        }
        r
    }
}

pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The ordinal of a pod of `set` named `<set>-<ordinal>`; none for any other name.
pub fn ordinal_of(set: &str, pod: &str) -> Option<i32> {
    let digits = pod.strip_prefix(set)?.strip_prefix('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

fn template_name(claim_template: &Value) -> Option<&str> {
    claim_template
        .pointer("/metadata/name")
        .and_then(Value::as_str)
}

/// The claims of the pod at `ordinal`: `(name, body)`. With `owned` (the retention policy's
/// `whenDeleted: Delete`) the set owns them, so that they go with it.
pub fn claims(owner: &Owner, ordinal: i32, owned: bool) -> Vec<(String, Value)> {
    owner
        .claim_templates
        .iter()
        .filter_map(|t| {
            let template = template_name(t)?;
            let name = claim_name(template, owner.name, ordinal);
            let mut meta = t["metadata"].as_object().cloned().unwrap_or_default();
            let mut labels = meta
                .get("labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in owner.selector_labels {
                labels.insert(k.clone(), json!(v));
            }
            meta.insert("name".into(), json!(name));
            meta.insert("namespace".into(), json!(owner.namespace));
            if !labels.is_empty() {
                meta.insert("labels".into(), Value::Object(labels));
            }
            if owned {
                meta.insert("ownerReferences".into(), json!([owner.reference(false)]));
            }
            for server_owned in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "generateName",
            ] {
                meta.remove(server_owned);
            }
            let body = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": meta, "spec": t["spec"]});
            Some((name, body))
        })
        .collect()
}

/// The pod at `ordinal`, from `template` (of the revision `revision`).
pub fn pod(owner: &Owner, template: &Value, ordinal: i32, revision: &str) -> Value {
    let name = pod_name(owner.name, ordinal);
    let meta = template["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut labels = meta
        .get("labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), json!(name));
    labels.insert(POD_INDEX_LABEL.into(), json!(ordinal.to_string()));
    labels.insert(REVISION_LABEL.into(), json!(revision));
    let mut spec = template["spec"].as_object().cloned().unwrap_or_default();
    spec.insert("hostname".into(), json!(name));
    if let Some(service) = owner.service_name.filter(|s| !s.is_empty()) {
        spec.insert("subdomain".into(), json!(service));
    }
    // Claims first, then the template's other volumes (a volume named as a claim template
    // is replaced by the claim).
    let claim_volumes: Vec<Value> = owner
        .claim_templates
        .iter()
        .filter_map(template_name)
        .map(|t| {
            json!({"name": t, "persistentVolumeClaim":
                {"claimName": claim_name(t, owner.name, ordinal)}})
        })
        .collect();
    if !claim_volumes.is_empty() {
        let mut volumes = claim_volumes.clone();
        for v in spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !claim_volumes.iter().any(|c| c["name"] == v["name"]) {
                volumes.push(v.clone());
            }
        }
        spec.insert("volumes".into(), Value::Array(volumes));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    metadata.insert("namespace".into(), json!(owner.namespace));
    metadata.insert("labels".into(), Value::Object(labels));
    for kept in ["annotations", "finalizers"] {
        if let Some(v) = meta.get(kept) {
            metadata.insert(kept.into(), v.clone());
        }
    }
    metadata.insert("ownerReferences".into(), json!([owner.reference(true)]));
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ordinals() {
        assert_eq!(ordinal_of("web", "web-12"), Some(12));
        assert_eq!(ordinal_of("web", "web-x"), None);
        assert_eq!(ordinal_of("web", "web-"), None);
        assert_eq!(ordinal_of("web", "webby-1"), None);
        assert_eq!(ordinal_of("web", "web-1-2"), None);
        assert_eq!(ordinal_of("web-1", "web-1-2"), Some(2));
        assert_eq!(claim_name("data", "web", 0), "data-web-0");
    }

    #[test]
    fn pods_carry_identity_and_claims() {
        let labels: Labels = [("app".to_string(), "db".to_string())].into();
        let templates = [
            json!({"metadata": {"name": "data", "labels": {"tier": "x"}},
            "spec": {"accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Pending"}}),
        ];
        let owner = Owner {
            name: "db",
            namespace: "ns",
            uid: "u1",
            service_name: Some("db"),
            selector_labels: &labels,
            claim_templates: &templates,
        };
        let template = json!({"metadata": {"labels": {"app": "db"}},
            "spec": {"containers": [{"name": "c"}],
                "volumes": [{"name": "data", "emptyDir": {}}, {"name": "conf", "emptyDir": {}}]}});
        let pod = pod(&owner, &template, 2, "db-abc");
        assert_eq!(pod["metadata"]["name"], "db-2");
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "db", POD_NAME_LABEL: "db-2", POD_INDEX_LABEL: "2",
                REVISION_LABEL: "db-abc"})
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["hostname"], "db-2");
        assert_eq!(pod["spec"]["subdomain"], "db");
        assert_eq!(
            pod["spec"]["volumes"],
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-2"}},
                {"name": "conf", "emptyDir": {}}])
        );
        let claims = claims(&owner, 2, true);
        assert_eq!(claims.len(), 1);
        let (name, body) = &claims[0];
        assert_eq!(name, "data-db-2");
        assert_eq!(
            body["metadata"]["labels"],
            json!({"app": "db", "tier": "x"})
        );
        assert_eq!(
            body["metadata"]["ownerReferences"][0]["kind"],
            "StatefulSet"
        );
        assert!(body.get("status").is_none());
    }
}
