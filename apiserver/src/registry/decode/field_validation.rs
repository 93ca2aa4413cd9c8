//! Field validation (`fieldValidation=Strict|Warn|Ignore`): fields a kind's schema does not
//! know are dropped, as upstream's decoding drops them, and reported; so are fields given
//! twice in a JSON body. `Strict` refuses such a write (400, upstream's "strict decoding
//! error" message), `Warn` (the default) answers with one `Warning` header per field, `Ignore`
//! says nothing. Where a schema preserves unknown fields, unknown fields stay, while the fields
//! it knows are still checked, as upstream checks structural schemas; a custom kind's unknown
//! fields are those its structural schema prunes. Whatever the mode, a
//! value its type cannot hold (`schema_walk`) fails the write with upstream's 400.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use api::Scheme;
use api::scheme::ResourceDef;
use axum::http::HeaderValue;
use axum::response::Response;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::field_path::{FieldPath, Step};

use crate::error::ApiError;
use crate::registry::decode::schema_walk::{TypeError, Walked};

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
    /// The component schemas of `def`'s group version.
    pub(crate) fn components(&self, scheme: &Scheme, def: &ResourceDef) -> Arc<Map<String, Value>> {
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

    /// Walks `obj` against its kind's schema: drops the fields the kind does not know and
    /// finds the first value its type cannot hold.
    pub fn walk(&self, scheme: &Scheme, def: &ResourceDef, obj: &mut Value) -> Walked {
        let components = self.components(scheme, def);
        let name = crate::openapi::schema_name(def);
        match components.get(&name) {
            Some(root) => crate::registry::decode::schema_walk::walk(&components, &name, root, obj),
            None => Walked::default(),
        }
    }
}

/// The paths of the fields a JSON document gives twice in one object.
pub fn duplicates(raw: &[u8]) -> Vec<String> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(raw);
    let _ = Duplicates {
        at: FieldPath::ROOT,
        found: &found,
    }
    .deserialize(&mut de);
    found.into_inner()
}

struct Duplicates<'a> {
    at: FieldPath<'a>,
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
        // The body is the client's: a seeded hash, cheaper than the standard one.
        let mut seen = HashSet::with_hasher(foldhash::quality::RandomState::default());
        while let Some(key) = map.next_key::<String>()? {
            let at = self.at.then(Step::Key(&key));
            if seen.contains(&key) {
                self.found.borrow_mut().push(at.dotted());
            }
            map.next_value_seed(Duplicates {
                at,
                found: self.found,
            })?;
            seen.insert(key);
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(Duplicates {
                at: self.at.then(Step::Index(i)),
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

/// Where the object of a write came from, which decides how upstream words a type error.
#[derive(Clone, Copy, Debug)]
pub enum Decoded<'a> {
    /// A create's or update's body.
    Body,
    /// The result of a JSON or merge patch.
    Patched,
    /// The result of this strategic merge patch.
    Strategic(&'a Value),
    /// A server-side apply's configuration.
    Applied,
}

/// The schema a write is decoded by: a built-in kind's, or a custom kind's structural schema
/// (whose pruning is what it reports as unknown fields, as upstream's).
#[derive(Clone, Copy)]
pub enum KindSchema<'a> {
    Builtin(&'a Schemas, &'a Scheme),
    Custom(&'a Value),
}

impl KindSchema<'_> {
    fn walk(self, def: &ResourceDef, obj: &mut Value) -> Walked {
        match self {
            KindSchema::Builtin(schemas, scheme) => schemas.walk(scheme, def, obj),
            KindSchema::Custom(schema) => Walked {
                unknown: crate::custom_resources::schema::prune::reporting(schema, obj),
                type_error: None,
            },
        }
    }
}

/// Applies `mode` to a write of `obj` (from the JSON body `raw`, when there is one): drops
/// unknown fields; refuses the write (Strict) or returns the warnings to send (Warn).
pub fn check(
    schema: KindSchema<'_>,
    def: &ResourceDef,
    mode: Mode,
    raw: Option<&[u8]>,
    decoded: Decoded<'_>,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    let mut problems: Vec<String> = raw
        .map(duplicates)
        .unwrap_or_default()
        .into_iter()
        .map(|p| format!("duplicate field {p:?}"))
        .collect();
    // Upstream quotes a patched object whole when it cannot decode it.
    let before = match decoded {
        Decoded::Patched => Some(obj.to_string()),
        _ => None,
    };
    let walked = schema.walk(def, obj);
    // A value its type cannot hold fails the write whatever the mode, as upstream's decoding.
    if let Some(error) = walked.type_error {
        return Err(type_refusal(def, decoded, before.as_deref(), &error));
    }
    problems.extend(
        walked
            .unknown
            .into_iter()
            .map(|p| format!("unknown field {p:?}")),
    );
    match mode {
        Mode::Strict if !problems.is_empty() => Err(cannot_handle(
            def.kind,
            def.version,
            &format!("strict decoding error: {}", problems.join(", ")),
        )),
        Mode::Warn => Ok(problems),
        _ => Ok(Vec::new()),
    }
}

/// A type error as upstream reports it for the way the object was decoded: 400 for a body,
/// 422 on the `patch` field for patches (quoting the patched object, or the strategic patch
/// with the unstructured converter's words), 400 for an applied configuration.
fn type_refusal(
    def: &ResourceDef,
    decoded: Decoded<'_>,
    patched: Option<&str>,
    error: &TypeError,
) -> ApiError {
    let on_patch = |value: String, message: String| ApiError::Invalid {
        kind: String::new(),
        target: crate::error::Target::default(),
        causes: vec![api::status::StatusCause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value:?}: {message}"),
            field: "patch".into(),
        }],
    };
    match decoded {
        Decoded::Body => cannot_handle(def.kind, def.version, &error.message),
        Decoded::Patched => on_patch(
            patched.unwrap_or_default().to_string(),
            error.message.clone(),
        ),
        Decoded::Strategic(patch) => on_patch(
            crate::registry::go_fmt::value(patch),
            converter_message(error),
        ),
        Decoded::Applied => ApiError::BadRequest(format!(
            "failed to create typed patch object ({}, Kind={}): {}",
            def.api_version(),
            def.kind,
            error.message
        )),
    }
}

/// How upstream's unstructured converter words a value it cannot put into a Go type.
fn converter_message(error: &TypeError) -> String {
    let Some((held, go_type)) = &error.mismatch else {
        return error.message.clone();
    };
    let held_kind = match *held {
        "[]interface {}" => "slice",
        "map[string]interface {}" => "map",
        other => other,
    };
    let basic = ["int32", "int64", "float64", "bool", "string"];
    if go_type.starts_with("[]") && held_kind != "slice" {
        format!("cannot restore slice from {held_kind}")
    } else if go_type.starts_with("map[") && held_kind != "map" {
        format!("cannot restore map from {held_kind}")
    } else if !basic.contains(&go_type.as_str()) {
        format!("cannot restore struct from: {held_kind}")
    } else {
        // Go converts between numbers, and numbers to strings; nothing else.
        let numeric = |t: &str| matches!(t, "int32" | "int64" | "float64");
        let convertible = (numeric(held) && (numeric(go_type) || go_type == "string"))
            || (*held == "string" && go_type == "string");
        match convertible {
            true => format!("cannot convert {held} to {go_type}"),
            false => format!("unrecognized type: {go_type}"),
        }
    }
}

/// Upstream's 400 for a body its decoder refused.
pub fn cannot_handle(kind: &str, version: &str, error: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: {error}"
    ))
}

/// Adds one `Warning` header per message, as upstream (`299 - "message"`).
pub fn warn(mut response: Response, warnings: &[String]) -> Response {
    for w in warnings {
        if let Some(value) = warning_header(w) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

/// Warning headers rendered, by their text, at most `RENDERED_MAX`: the pods of one workload
/// draw the same warnings (Pod Security's), and quoting a long warning cost more than the
/// rest of answering.
static RENDERED: std::sync::LazyLock<
    std::sync::Mutex<HashMap<String, HeaderValue, foldhash::fast::RandomState>>,
> = std::sync::LazyLock::new(Default::default);
const RENDERED_MAX: usize = 1024;

/// `299 - "text"`, the text quoted as a JSON string; None if it cannot be a header.
fn warning_header(text: &str) -> Option<HeaderValue> {
    if let Ok(rendered) = RENDERED.lock()
        && let Some(value) = rendered.get(text)
    {
        return Some(value.clone());
    }
    let mut header = Vec::with_capacity(text.len() + 32);
    header.extend_from_slice(b"299 - ");
    // A string always serializes.
    serde_json::to_writer(&mut header, text).ok()?;
    let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(header)).ok()?;
    if let Ok(mut rendered) = RENDERED.lock() {
        if rendered.len() >= RENDERED_MAX {
            rendered.clear();
        }
        rendered.insert(text.to_string(), value.clone());
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(group: &str, plural: &str) -> ResourceDef {
        *api::Scheme::builtin().lookup(group, "v1", plural).unwrap()
    }

    #[test]
    fn warning_headers_quote_their_text_and_repeat_alike() {
        let text = "would violate PodSecurity \"restricted:latest\": a\tb";
        let first = warning_header(text).unwrap();
        assert_eq!(
            first.to_str().unwrap(),
            r#"299 - "would violate PodSecurity \"restricted:latest\": a\tb""#
        );
        assert_eq!(warning_header(text), Some(first));
        // A text that cannot be a header value (a control character JSON leaves as it is).
        assert_eq!(warning_header("del \u{7f}"), None);
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
        let mut unknown = s.walk(&scheme, &def("apps", "deployments"), &mut d).unknown;
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
        assert!(
            s.walk(&scheme, &def("", "configmaps"), &mut cm)
                .unknown
                .is_empty()
        );
    }

    #[test]
    fn duplicates_are_named_by_their_paths() {
        let body = br#"{"a":{"b":1,"c":[{"x":1,"x":2},{"y":{"z":0,"z":1}}],"b":2},"a":0}"#;
        assert_eq!(duplicates(body), ["a.c[0].x", "a.c[1].y.z", "a.b", "a"]);
        assert!(duplicates(br#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#).is_empty());
    }

    #[test]
    fn modes() {
        let (s, scheme) = (Schemas::default(), api::Scheme::builtin());
        let cm = def("", "configmaps");
        let raw = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","a":"2"},"extra":true}"#;
        let obj = || serde_json::from_slice::<Value>(raw).unwrap();
        let err = check(
            KindSchema::Builtin(&s, &scheme),
            &cm,
            Mode::Strict,
            Some(raw),
            Decoded::Body,
            &mut obj(),
        )
        .unwrap_err();
        assert_eq!(
            err.status().message,
            r#"ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: duplicate field "data.a", unknown field "extra""#
        );
        let mut o = obj();
        assert_eq!(
            check(
                KindSchema::Builtin(&s, &scheme),
                &cm,
                Mode::Warn,
                Some(raw),
                Decoded::Body,
                &mut o
            )
            .unwrap(),
            [r#"duplicate field "data.a""#, r#"unknown field "extra""#]
        );
        assert!(o.get("extra").is_none());
        assert!(
            check(
                KindSchema::Builtin(&s, &scheme),
                &cm,
                Mode::Ignore,
                Some(raw),
                Decoded::Body,
                &mut obj()
            )
            .unwrap()
            .is_empty()
        );
        assert!(Mode::parse(Some("Loose")).is_err());
    }

    #[test]
    fn type_errors_are_worded_by_how_the_object_came() {
        let (s, scheme) = (Schemas::default(), api::Scheme::builtin());
        let d = def("apps", "deployments");
        let obj = || {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": "abc"}})
        };
        let refused = |decoded| {
            check(
                KindSchema::Builtin(&s, &scheme),
                &d,
                Mode::Warn,
                None,
                decoded,
                &mut obj(),
            )
            .unwrap_err()
            .status()
        };
        let body = refused(Decoded::Body);
        assert_eq!(
            (body.code, body.message.as_str()),
            (
                400,
                "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
        let patched = refused(Decoded::Patched);
        assert_eq!(patched.code, 422);
        assert!(
            patched
                .message
                .starts_with(" \"\" is invalid: patch: Invalid value: \"{\\\"apiVersion\\\""),
            "{}",
            patched.message
        );
        let patch = json!({"spec": {"replicas": "abc"}});
        let strategic = refused(Decoded::Strategic(&patch));
        assert_eq!(
            strategic.message,
            " \"\" is invalid: patch: Invalid value: \"map[spec:map[replicas:abc]]\": unrecognized type: int32"
        );
        let cm = def("", "configmaps");
        let mut data = json!({"metadata": {"name": "c"}, "data": {"a": 5}});
        let patch = json!({"data": {"a": 5}});
        let err = check(
            KindSchema::Builtin(&s, &scheme),
            &cm,
            Mode::Warn,
            None,
            Decoded::Strategic(&patch),
            &mut data,
        )
        .unwrap_err();
        assert!(
            err.status()
                .message
                .ends_with(": cannot convert int64 to string"),
            "{}",
            err.status().message
        );
    }
}
