//! Per-resource behaviour on top of the generic registry: defaults and resets that one kind
//! needs and others do not. Generic handlers call in here; they hold no per-kind logic.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

/// Defaults of a new object of `def`'s kind (after the generic system fields are set).
pub fn prepare_create(def: &ResourceDef, obj: &mut Value) {
    if def.group.is_empty() && def.plural == "namespaces" {
        namespace_defaults(obj);
    }
    prepare_write(def, obj);
}

/// Normalization of an updated object of `def`'s kind (before it is validated and stored).
pub fn prepare_update(def: &ResourceDef, obj: &mut Value) {
    prepare_write(def, obj);
}

fn prepare_write(def: &ResourceDef, obj: &mut Value) {
    if def.group.is_empty() && def.plural == "secrets" {
        secret_defaults(obj);
    }
}

/// A secret's `stringData` is write-only: merged into `data` (base64, overriding keys of the
/// same name) and dropped; the type defaults to `Opaque`.
fn secret_defaults(obj: &mut Value) {
    use base64::Engine;
    if let Some(Value::Object(strings)) = obj.as_object_mut().and_then(|o| o.remove("stringData")) {
        if !obj["data"].is_object() {
            obj["data"] = json!({});
        }
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    if obj["type"].as_str().is_none_or(str::is_empty) {
        obj["type"] = json!("Opaque");
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
    fn secrets_fold_string_data_and_default_their_type() {
        let def = *api::Scheme::builtin().lookup("", "v1", "secrets").unwrap();
        let mut secret = json!({"metadata": {"name": "s"}, "data": {"a": "eA==", "b": "eQ=="},
            "stringData": {"b": "hunter2", "c": "z"}});
        prepare_create(&def, &mut secret);
        assert_eq!(
            secret["data"],
            json!({"a": "eA==", "b": "aHVudGVyMg==", "c": "eg=="})
        );
        assert!(secret.get("stringData").is_none());
        assert_eq!(secret["type"], "Opaque");
        let mut typed = json!({"type": "kubernetes.io/tls", "stringData": {"x": "1"}});
        prepare_update(&def, &mut typed);
        assert_eq!(typed["type"], "kubernetes.io/tls");
        assert_eq!(typed["data"]["x"], "MQ==");
    }

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
