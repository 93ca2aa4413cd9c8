//! Per-resource behaviour on top of the generic registry: defaults and resets that one kind
//! needs and others do not. Generic handlers call in here; they hold no per-kind logic.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

/// Defaults of a new object of `def`'s kind (after the generic system fields are set).
pub fn prepare_create(def: &ResourceDef, obj: &mut Value) {
    if def.group.is_empty() && def.plural == "namespaces" {
        namespace_defaults(obj);
    }
}

/// A namespace starts `Active`, carries the `kubernetes` finalizer, and is labelled with its
/// own name (`kubernetes.io/metadata.name`), as upstream.
fn namespace_defaults(obj: &mut Value) {
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !obj["metadata"]["labels"].is_object() {
        obj["metadata"]["labels"] = json!({});
    }
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    if !obj["spec"]["finalizers"].is_array() {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
    }
    obj["status"] = json!({"phase": "Active"});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_start_active_and_labelled() {
        let def = *api::Scheme::builtin()
            .lookup("", "v1", "namespaces")
            .unwrap();
        let mut ns = json!({"metadata": {"name": "team-a"}});
        prepare_create(&def, &mut ns);
        assert_eq!(ns["status"]["phase"], "Active");
        assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "team-a"
        );
    }
}
