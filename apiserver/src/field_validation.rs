//! Field validation (`fieldValidation=Strict|Warn|Ignore`): fields a kind's schema does not
//! know are dropped, as upstream's decoding drops them, and reported; so are fields given
//! twice in a JSON body. `Strict` refuses such a write (400, upstream's "strict decoding
//! error" message), `Warn` (the default) answers with one `Warning` header per field, `Ignore`
//! says nothing. Where a schema preserves unknown fields (the OpenShift kinds' top level,
//! specs and statuses, for now) unknown fields stay, while the fields it knows (their
//! metadata) are still checked, as upstream checks structural schemas.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use api::Scheme;
use api::scheme::ResourceDef;
use axum::http::HeaderValue;
use axum::response::Response;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::ApiError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    Strict,
    #[default]
    Warn,
    Ignore,
}

impl Mode {
    pub fn parse(value: Option<&str>) -> Result<Mode, ApiError> {
        match value {
            None | Some("") | Some("Warn") => Ok(Mode::Warn),
            Some("Strict") => Ok(Mode::Strict),
            Some("Ignore") => Ok(Mode::Ignore),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// The component schemas of each group version, built when a write first needs them (the
/// whole OpenAPI documents are not needed for this).
#[derive(Default)]
pub struct Schemas {
    by_group_version: RwLock<HashMap<String, Arc<Map<String, Value>>>>,
}

impl Schemas {
    fn components(&self, scheme: &Scheme, def: &ResourceDef) -> Arc<Map<String, Value>> {
        let key = crate::openapi::gv_path(def.group, def.version);
        // Every write reads; only the first write of a group version builds.
        if let Some(built) = self
            .by_group_version
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return built.clone();
        }
        let mut built = self
            .by_group_version
            .write()
            .unwrap_or_else(|e| e.into_inner());
        built
            .entry(key)
            .or_insert_with(|| {
                Arc::new(crate::openapi::component_schemas(
                    scheme,
                    def.group,
                    def.version,
                ))
            })
            .clone()
    }

    /// Removes the fields of `obj` its kind does not know; their paths.
    pub fn prune(&self, scheme: &Scheme, def: &ResourceDef, obj: &mut Value) -> Vec<String> {
        let components = self.components(scheme, def);
        let mut unknown = Vec::new();
        if let Some(root) = components.get(&crate::openapi::schema_name(def)) {
            walk(&components, root, obj, "", &mut unknown);
        }
        unknown
    }
}

/// The schema a reference (or a one-element composition around it) stands for.
fn resolve<'a>(components: &'a Map<String, Value>, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            match components.get(name) {
                Some(next) => schema = next,
                None => return schema,
            }
        } else if let Some(next) = ["allOf", "anyOf", "oneOf"]
            .iter()
            .find_map(|k| schema[*k].as_array()?.iter().find(|s| s["type"] != "null"))
        {
            schema = next;
        } else {
            return schema;
        }
    }
    schema
}

fn join(path: &str, key: &str) -> String {
    match path {
        "" => key.to_string(),
        p => format!("{p}.{key}"),
    }
}

fn walk(
    components: &Map<String, Value>,
    schema: &Value,
    value: &mut Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    let schema = resolve(components, schema);
    let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
    match value {
        Value::Object(map) => {
            let properties = schema["properties"].as_object();
            let extra = schema.get("additionalProperties").filter(|e| e.is_object());
            if properties.is_none() && extra.is_none() {
                return;
            }
            let mut dropped = Vec::new();
            for (key, v) in map.iter_mut() {
                match (properties.and_then(|p| p.get(key)), extra) {
                    (Some(s), _) | (None, Some(s)) => {
                        walk(components, s, v, &join(path, key), unknown)
                    }
                    (None, None) if preserve => {}
                    (None, None) => dropped.push(key.clone()),
                }
            }
            for key in dropped {
                unknown.push(join(path, &key));
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    walk(components, item, v, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// The paths of the fields a JSON document gives twice in one object.
pub fn duplicates(raw: &[u8]) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(raw);
    let _ = Duplicates {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de);
    found.into_inner()
}

struct Duplicates<'a> {
    path: String,
    found: &'a RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for Duplicates<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Duplicates<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            if !seen.insert(key) {
                self.found.borrow_mut().push(path.clone());
            }
            map.next_value_seed(Duplicates {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Duplicates {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Applies `mode` to a write of `obj` (from the JSON body `raw`, when there is one): drops
/// unknown fields; refuses the write (Strict) or returns the warnings to send (Warn).
pub fn check(
    schemas: &Schemas,
    scheme: &Scheme,
    def: &ResourceDef,
    mode: Mode,
    raw: Option<&[u8]>,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let mut problems: Vec<String> = raw
        .map(duplicates)
        .unwrap_or_default()
        .into_iter()
        .map(|p| format!("duplicate field {p:?}"))
        .collect();
    problems.extend(
        schemas
            .prune(scheme, def, obj)
            .into_iter()
            .map(|p| format!("unknown field {p:?}")),
    );
    match mode {
        Mode::Strict if !problems.is_empty() => Err(ApiError::BadRequest(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            problems.join(", "),
            kind = def.kind,
            version = def.version,
        ))),
        Mode::Warn => Ok(problems),
        _ => Ok(Vec::new()),
    }
}

/// Adds one `Warning` header per message, as upstream (`299 - "message"`).
pub fn warn(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let text = format!("299 - {}", serde_json::Value::String(w.clone()));
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(group: &str, plural: &str) -> ResourceDef {
        *api::Scheme::builtin().lookup(group, "v1", plural).unwrap()
    }

    #[test]
    fn unknown_fields_are_found_and_dropped() {
        let (s, scheme) = (Schemas::default(), api::Scheme::builtin());
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"a": "b"}, "bogus": 1},
            "spec": {"replicas": 1, "replicaz": 2, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicyy": "x",
                        "resources": {"limits": {"cpu": "1"}}}]}}}});
        let mut unknown = s.prune(&scheme, &def("apps", "deployments"), &mut d);
        unknown.sort();
        assert_eq!(
            unknown,
            [
                "metadata.bogus",
                "spec.replicaz",
                "spec.template.spec.containers[0].imagePullPolicyy"
            ]
        );
        assert!(d["spec"].get("replicaz").is_none());
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
            "1"
        );
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"any": "key"}, "binaryData": {}});
        assert!(s.prune(&scheme, &def("", "configmaps"), &mut cm).is_empty());
    }

    #[test]
    fn modes() {
        let (s, scheme) = (Schemas::default(), api::Scheme::builtin());
        let cm = def("", "configmaps");
        let raw = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","a":"2"},"extra":true}"#;
        let obj = || serde_json::from_slice::<Value>(raw).unwrap();
        let err = check(&s, &scheme, &cm, Mode::Strict, Some(raw), &mut obj()).unwrap_err();
        assert_eq!(
            err.status().message,
            r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "data.a", unknown field "extra""#
        );
        let mut o = obj();
        assert_eq!(
            check(&s, &scheme, &cm, Mode::Warn, Some(raw), &mut o).unwrap(),
            [r#"duplicate field "data.a""#, r#"unknown field "extra""#]
        );
        assert!(o.get("extra").is_none());
        assert!(
            check(&s, &scheme, &cm, Mode::Ignore, Some(raw), &mut obj())
                .unwrap()
                .is_empty()
        );
        assert!(Mode::parse(Some("Loose")).is_err());
    }
}
