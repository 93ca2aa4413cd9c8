//! What upstream's admission plugins do to claims: `DefaultStorageClass` gives a new claim
//! without a class the default one; `PersistentVolumeClaimResize` lets a claim grow only when
//! it is bound and its class allows expansion.

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{self, ApiError, Target};

const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT_CLASS: &str = "storageclass.beta.kubernetes.io/is-default-class";
const BETA_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

async fn storage_classes(server: &ApiServer) -> Result<Vec<Value>, ApiError> {
    let Some(def) = server
        .scheme
        .lookup("storage.k8s.io", "v1", "storageclasses")
    else {
        return Ok(Vec::new());
    };
    let listed = server
        .store
        .list(&def.key_prefix(), storage::ListOptions::default())
        .await
        .map_err(|e| error::from_storage(e, Target::default()))?;
    listed
        .kvs
        .iter()
        .map(crate::registry::object::from_store)
        .collect()
}

fn is_default(class: &Value) -> bool {
    let annotations = &class["metadata"]["annotations"];
    [DEFAULT_CLASS, BETA_DEFAULT_CLASS]
        .iter()
        .any(|a| annotations[*a] == "true")
}

/// The default class among `classes`: the newest marked default (then by name), as 1.32.
pub fn default_of(classes: &[Value]) -> Option<&Value> {
    classes.iter().filter(|c| is_default(c)).max_by(|a, b| {
        let created = |c: &Value| {
            c["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_owned)
        };
        let name = |c: &Value| c["metadata"]["name"].as_str().map(str::to_owned);
        created(a)
            .cmp(&created(b))
            .then_with(|| name(b).cmp(&name(a)))
    })
}

/// A new claim naming no class (neither field nor beta annotation) gets the default one.
pub async fn default_class(server: &ApiServer, claim: &mut Value) -> Result<(), ApiError> {
    let named = !claim["spec"]["storageClassName"].is_null()
        || claim["metadata"]["annotations"][BETA_CLASS].is_string();
    if named {
        return Ok(());
    }
    let classes = storage_classes(server).await?;
    if let Some(name) = default_of(&classes).and_then(|c| c["metadata"]["name"].as_str()) {
        claim["spec"]["storageClassName"] = json!(name);
    }
    Ok(())
}

fn forbidden(claim: &Value, message: &str) -> ApiError {
    ApiError::Forbidden {
        target: Target {
            group: String::new(),
            resource: "persistentvolumeclaims".into(),
            name: claim["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .into(),
        },
        message: message.into(),
    }
}

/// A claim asking for more than before: only when bound, and only if its class allows it.
pub async fn resize(server: &ApiServer, claim: &Value, old: &Value) -> Result<(), ApiError> {
    let (Some(now), Some(was)) = (super::rules::requested(claim), super::rules::requested(old))
    else {
        return Ok(());
    };
    if now <= was {
        return Ok(());
    }
    if old["status"]["phase"] != "Bound" {
        return Err(forbidden(
            claim,
            "Only bound persistent volume claims can be expanded",
        ));
    }
    let class = claim["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default();
    let expandable = match server
        .scheme
        .lookup("storage.k8s.io", "v1", "storageclasses")
    {
        Some(def) if !class.is_empty() => server
            .get_object(def, None, class)
            .await?
            .is_some_and(|c| c["allowVolumeExpansion"] == true),
        _ => false,
    };
    if !expandable {
        return Err(forbidden(
            claim,
            "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_default_class_wins() {
        let class = |name: &str, created: &str, default: bool| {
            json!({"metadata": {"name": name, "creationTimestamp": created,
                "annotations": {DEFAULT_CLASS: default.to_string()}}})
        };
        let classes = vec![
            class("old", "2024-01-01T00:00:00Z", true),
            class("new", "2025-01-01T00:00:00Z", true),
            class("newest", "2026-01-01T00:00:00Z", false),
        ];
        assert_eq!(
            default_of(&classes).map(|c| &c["metadata"]["name"]),
            Some(&json!("new"))
        );
        assert!(default_of(&classes[2..]).is_none());
    }
}
