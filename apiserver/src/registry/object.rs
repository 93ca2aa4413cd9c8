//! What the generic registry does to every object, whatever its kind: type checks, name and
//! namespace rules, system fields (uid, creationTimestamp, generation), and the mapping of
//! `metadata.resourceVersion` to the store's mod revision (never stored in the value).

use api::names;
use api::scheme::{NameRule, ResourceDef};
use api::status::StatusCause;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use storage::KeyValue;

use crate::error::{ApiError, Target};

/// The characters upstream appends to `generateName` (no vowels, no look-alikes).
const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const GENERATE_SUFFIX: usize = 5;

pub fn target(def: &ResourceDef, name: &str) -> Target {
    Target {
        group: def.group.to_string(),
        resource: def.plural.to_string(),
        name: name.to_string(),
    }
}

/// The stored value of `kv` as the API shows it, with its resourceVersion.
pub fn from_store(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::Internal(format!("stored object {} is not JSON: {e}", kv.key)))?;
    set_resource_version(&mut obj, kv.mod_revision);
    Ok(obj)
}

pub fn set_resource_version(obj: &mut Value, revision: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), json!(revision.to_string()));
    }
}

/// The bytes to store: the object without its resourceVersion, with `apiVersion`, `kind`
/// and `metadata` first (so that `encoded::with_resource_version` finds metadata at once).
/// Written field by field, without copying the object.
pub fn to_store(obj: &Value) -> Bytes {
    let Some(fields) = obj.as_object() else {
        return Bytes::from(obj.to_string());
    };
    const FIRST: [&str; 3] = ["apiVersion", "kind", "metadata"];
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, k: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        // Strings always serialize.
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
    };
    for k in FIRST {
        match (k, fields.get(k)) {
            ("metadata", Some(Value::Object(meta))) => {
                key(&mut out, k);
                out.push(b'{');
                let mut inner_first = true;
                for (mk, mv) in meta.iter().filter(|(mk, _)| *mk != "resourceVersion") {
                    if !std::mem::take(&mut inner_first) {
                        out.push(b',');
                    }
                    let _ = serde_json::to_writer(&mut out, mk);
                    out.push(b':');
                    let _ = serde_json::to_writer(&mut out, mv);
                }
                out.push(b'}');
            }
            (_, Some(v)) => {
                key(&mut out, k);
                let _ = serde_json::to_writer(&mut out, v);
            }
            (_, None) => {}
        }
    }
    for (k, v) in fields.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())) {
        key(&mut out, k);
        let _ = serde_json::to_writer(&mut out, v);
    }
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
#[test]
fn stored_bytes_put_type_and_metadata_first() {
    let obj = json!({"data": {"a": "b"}, "metadata": {"name": "n", "resourceVersion": "5"},
        "kind": "ConfigMap", "apiVersion": "v1"});
    assert_eq!(
        to_store(&obj),
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n"},"data":{"a":"b"}}"#
    );
}

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Parses a request body into an object of `def`'s kind, filling in `apiVersion` and `kind`
/// when absent and refusing other ones, as upstream.
pub fn parse_body(def: &ResourceDef, body: &[u8]) -> Result<Value, ApiError> {
    let mut obj: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the object provided is unrecognized: {e}")))?;
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "the object provided is unrecognized: not a JSON object".into(),
        ));
    };
    let api_version = def.api_version();
    match map.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => drop(map.insert("apiVersion".into(), json!(api_version))),
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
    }
    match map.get("kind").and_then(Value::as_str) {
        None | Some("") => drop(map.insert("kind".into(), json!(def.kind))),
        Some(k) if k == def.kind => {}
        Some(k) => {
            return Err(ApiError::BadRequest(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                def.kind
            )));
        }
    }
    match map.get("metadata") {
        None => drop(map.insert("metadata".into(), json!({}))),
        Some(Value::Object(_)) => {}
        Some(_) => return Err(ApiError::BadRequest("metadata must be an object".into())),
    }
    Ok(obj)
}

fn meta_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    let map = obj.as_object_mut().ok_or_else(|| {
        ApiError::BadRequest("the object provided is unrecognized: not a JSON object".into())
    })?;
    map.entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| ApiError::BadRequest("metadata must be an object".into()))
}

fn invalid(def: &ResourceDef, name: &str, field: &str, reason: &str, message: String) -> ApiError {
    ApiError::Invalid {
        kind: def.kind.to_string(),
        target: target(def, name),
        causes: vec![StatusCause {
            reason: reason.into(),
            message,
            field: field.into(),
        }],
    }
}

/// `prefix` and upstream's five random characters.
pub(crate) fn generated_name(prefix: &str) -> String {
    let suffix: String = (0..GENERATE_SUFFIX)
        .map(|_| GENERATE_ALPHABET[rand::random_range(0..GENERATE_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

/// Checks the object's namespace against the request's, and its name against the URL's
/// (for updates) and the naming rules.
pub fn check_identity(
    def: &ResourceDef,
    obj: &mut Value,
    namespace: Option<&str>,
    url_name: Option<&str>,
) -> Result<String, ApiError> {
    let meta = meta_mut(obj)?;
    if def.namespaced() {
        let request_ns = namespace.unwrap_or_default();
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => drop(meta.insert("namespace".into(), json!(request_ns))),
            Some(ns) if ns == request_ns => {}
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ));
            }
        }
    } else {
        meta.remove("namespace");
    }
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(url_name) = url_name {
        if name.is_empty() {
            name = url_name.to_string();
            meta.insert("name".into(), json!(name));
        } else if name != url_name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({name}) does not match the name on the URL ({url_name})"
            )));
        }
    }
    if name.is_empty() {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                name = generated_name(prefix);
                meta.insert("name".into(), json!(name));
            }
            _ => {
                return Err(invalid(
                    def,
                    "",
                    "metadata.name",
                    "FieldValueRequired",
                    "Required value: name or generateName is required".into(),
                ));
            }
        }
    }
    let problems = match def.names {
        NameRule::Label => names::dns1123_label(&name),
        NameRule::Subdomain => names::dns1123_subdomain(&name),
        NameRule::PathSegment => names::path_segment(&name),
    };
    if let Some(problem) = problems.first() {
        return Err(invalid(
            def,
            &name,
            "metadata.name",
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": {problem}"),
        ));
    }
    Ok(name)
}

/// The current time in whole seconds, truncated as upstream's: rounding could date an
/// object up to half a second in the future (and make lifetimes counted from it longer).
pub fn now() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// System fields of a new object of `def`.
pub fn prepare_create(def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let has_spec = obj.get("spec").is_some() && def.tracks_generation();
    let meta = meta_mut(obj)?;
    for field in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(field);
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    if has_spec {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    Ok(())
}

/// System fields of an updated object, carried over from `current`; `generation` moves on
/// when the spec changed.
pub fn prepare_update(obj: &mut Value, current: &Value) -> Result<(), ApiError> {
    let spec_changed = obj.get("spec") != current.get("spec");
    let generation = metadata(current)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64);
    let meta = meta_mut(obj)?;
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match metadata(current).and_then(|m| m.get(field)) {
            Some(v) => drop(meta.insert(field.into(), v.clone())),
            None => drop(meta.remove(field)),
        }
    }
    match generation {
        Some(g) => drop(meta.insert(
            "generation".into(),
            json!(if spec_changed { g + 1 } else { g }),
        )),
        None => drop(meta.remove("generation")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn creation_times_never_lie_in_the_future() {
        for _ in 0..50 {
            let stamped: jiff::Timestamp = now().parse().unwrap();
            assert!(stamped <= jiff::Timestamp::now());
            std::thread::sleep(std::time::Duration::from_millis(7));
        }
    }

    use super::*;
    use api::Scheme;

    fn cm() -> ResourceDef {
        *Scheme::builtin().lookup("", "v1", "configmaps").unwrap()
    }

    #[test]
    fn bodies_get_their_type_filled_and_checked() {
        let obj = parse_body(&cm(), br#"{"metadata":{"name":"a"}}"#).unwrap();
        assert_eq!(
            (obj["apiVersion"].as_str(), obj["kind"].as_str()),
            (Some("v1"), Some("ConfigMap"))
        );
        let err = parse_body(&cm(), br#"{"apiVersion":"apps/v1","kind":"ConfigMap"}"#).unwrap_err();
        assert_eq!(
            err.status().message,
            "the API version in the data (apps/v1) does not match the expected API version (v1)"
        );
        assert!(matches!(
            parse_body(&cm(), b"[1]"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_body(&cm(), b"{"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn identity_rules() {
        let def = cm();
        let mut obj = json!({"metadata": {"generateName": "web-"}});
        let name = check_identity(&def, &mut obj, Some("ns"), None).unwrap();
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert_eq!(obj["metadata"]["namespace"], "ns");
        let mut bad = json!({"metadata": {"name": "Bad_Name"}});
        let err = check_identity(&def, &mut bad, Some("ns"), None)
            .unwrap_err()
            .status();
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(err.message.starts_with("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
        let mut other_ns = json!({"metadata": {"name": "a", "namespace": "x"}});
        assert!(matches!(
            check_identity(&def, &mut other_ns, Some("ns"), None),
            Err(ApiError::BadRequest(_))
        ));
        let mut renamed = json!({"metadata": {"name": "a"}});
        assert!(matches!(
            check_identity(&def, &mut renamed, Some("ns"), Some("b")),
            Err(ApiError::BadRequest(_))
        ));
        let mut nameless = json!({"metadata": {}});
        let err = check_identity(&def, &mut nameless, Some("ns"), None)
            .unwrap_err()
            .status();
        assert!(
            err.message
                .contains("metadata.name: Required value: name or generateName is required"),
            "{}",
            err.message
        );
    }

    #[test]
    fn system_fields_and_resource_version() {
        let mut obj = json!({"metadata": {"name": "a", "resourceVersion": "9"}, "spec": {"x": 1}});
        prepare_create(&cm(), &mut obj).unwrap();
        assert_eq!(obj["metadata"]["generation"], 1);
        assert!(obj["metadata"]["resourceVersion"].is_null());
        let stored = to_store(&obj);
        let kv = KeyValue {
            key: "/k".into(),
            value: stored,
            create_revision: 5,
            mod_revision: 7,
            version: 2,
        };
        let current = from_store(&kv).unwrap();
        assert_eq!(current["metadata"]["resourceVersion"], "7");
        let mut next = json!({"metadata": {"name": "a", "uid": "forged"}, "spec": {"x": 2}});
        prepare_update(&mut next, &current).unwrap();
        assert_eq!(next["metadata"]["uid"], current["metadata"]["uid"]);
        assert_eq!(next["metadata"]["generation"], 2);
    }

    #[test]
    fn pods_and_services_count_no_generation_as_upstream() {
        let scheme = Scheme::builtin();
        for plural in ["pods", "services"] {
            let def = scheme.lookup("", "v1", plural).unwrap();
            let mut obj = json!({"metadata": {"name": "a", "generation": 4}, "spec": {}});
            prepare_create(def, &mut obj).unwrap();
            assert!(obj["metadata"].get("generation").is_none(), "{plural}");
            let mut next = json!({"metadata": {"name": "a"}, "spec": {"x": 1}});
            prepare_update(&mut next, &obj).unwrap();
            assert!(next["metadata"].get("generation").is_none(), "{plural}");
        }
        let deployments = scheme.lookup("apps", "v1", "deployments").unwrap();
        let mut obj = json!({"metadata": {"name": "a"}, "spec": {}});
        prepare_create(deployments, &mut obj).unwrap();
        assert_eq!(obj["metadata"]["generation"], 1);
    }
}
