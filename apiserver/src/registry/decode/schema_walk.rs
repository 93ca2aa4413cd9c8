//! An object walked against its kind's OpenAPI schema as upstream decodes a body into its Go
//! types: fields the schema does not know are dropped (and reported), and a value of the wrong
//! JSON type or out of its format's range is reported in the words of Go's decoder, e.g.
//! `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
//! int32`. Upstream stores nothing its types cannot hold; neither does this server, so typed
//! clients and controllers can always read what was stored.
//!
//! Go names the innermost struct and the JSON path of struct fields from the root (map keys
//! and list indices are not part of it); the type is the Go type the value was meant for.
//! The schemas' definition names (`io.k8s.api.core.v1.Container`) give those Go names
//! (`v1.Container`). Quantities, int-or-strings, times and byte strings are parsed as their
//! Go types parse them.

use base64::Engine;
use serde_json::{Map, Value};

use super::field_path::{FieldPath, Step};

/// The outcome of a walk: the unknown fields dropped, and the first type error (Go's decoder
/// keeps the first one and reads on).
#[derive(Debug, Default)]
pub struct Walked {
    pub unknown: Vec<String>,
    pub type_error: Option<TypeError>,
}

/// A value its type cannot hold: Go's message, and for a plain mismatch what the JSON held
/// (as Go's generic decoding types it) and the Go type it was meant for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeError {
    pub message: String,
    pub mismatch: Option<(&'static str, String)>,
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Walks `value` against the component schema `root` (named `root_name`).
pub fn walk(
    components: &Map<String, Value>,
    root_name: &str,
    root: &Value,
    value: &mut Value,
) -> Walked {
    let mut walker = Walker {
        components,
        walked: Walked::default(),
    };
    walker.value(root, Some(root_name), value, &Place::ROOT);
    walker.walked
}

/// Where the walk is: the path (`field_path`), and the innermost Go struct, by its short
/// name, that Go's decoder would report.
struct Place<'p> {
    path: FieldPath<'p>,
    go_struct: &'p str,
}

impl Place<'_> {
    const ROOT: Place<'static> = Place {
        path: FieldPath::ROOT,
        go_struct: "",
    };

    /// The field `key` of the struct `go_struct`.
    fn field<'c>(&'c self, go_struct: &'c str, key: &'c str) -> Place<'c> {
        Place {
            path: self.path.then(Step::Field(key)),
            go_struct,
        }
    }

    /// A map entry or list item: Go's context does not change.
    fn entry<'c>(&'c self, step: Step<'c>) -> Place<'c> {
        Place {
            path: self.path.then(step),
            go_struct: self.go_struct,
        }
    }
}

struct Walker<'a> {
    components: &'a Map<String, Value>,
    walked: Walked,
}

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Duration";

/// The members of a schema the walk reads, found in one pass over it. Schemas have a few
/// members each: comparing their names costs less than hashing each name looked up.
#[derive(Default)]
struct Keys<'a> {
    reference: Option<&'a Value>,
    compositions: [Option<&'a Value>; 3],
    int_or_string: bool,
    preserve_unknown: bool,
    kind: Option<&'a str>,
    format: Option<&'a str>,
    items: Option<&'a Value>,
    properties: Option<&'a Value>,
    additional: Option<&'a Value>,
}

impl<'a> Keys<'a> {
    fn of(schema: &'a Value) -> Keys<'a> {
        let mut keys = Keys::default();
        for (key, v) in schema.as_object().into_iter().flatten() {
            match key.as_str() {
                "$ref" => keys.reference = Some(v),
                "allOf" => keys.compositions[0] = Some(v),
                "anyOf" => keys.compositions[1] = Some(v),
                "oneOf" => keys.compositions[2] = Some(v),
                "x-kubernetes-int-or-string" => keys.int_or_string = *v == true,
                "x-kubernetes-preserve-unknown-fields" => keys.preserve_unknown = *v == true,
                "type" => keys.kind = v.as_str(),
                "format" => keys.format = v.as_str(),
                "items" => keys.items = Some(v),
                "properties" => keys.properties = Some(v),
                "additionalProperties" => keys.additional = Some(v),
                _ => {}
            }
        }
        keys
    }
}

impl<'a> Walker<'a> {
    /// The schema a reference (or a one-element composition around it) stands for, the
    /// name of the last definition followed, and the members of the schema it comes to.
    fn resolve(
        &self,
        mut schema: &'a Value,
        mut name: Option<&'a str>,
    ) -> (&'a Value, Option<&'a str>, Keys<'a>) {
        let mut keys = Keys::of(schema);
        for _ in 0..8 {
            if let Some(next) = keys
                .reference
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                match self.components.get(next) {
                    Some(found) => (schema, name) = (found, Some(next)),
                    None => break,
                }
            } else if let Some(next) = keys
                .compositions
                .iter()
                .flatten()
                .find_map(|c| c.as_array()?.iter().find(|s| s["type"] != "null"))
            {
                schema = next;
            } else {
                break;
            }
            keys = Keys::of(schema);
        }
        (schema, name, keys)
    }

    fn fail(&mut self, message: String) {
        self.fail_with(message, None);
    }

    fn fail_with(&mut self, message: String, mismatch: Option<(&'static str, String)>) {
        if self.walked.type_error.is_none() {
            self.walked.type_error = Some(TypeError { message, mismatch });
        }
    }

    /// Go's UnmarshalTypeError for `found` (what the JSON held) meant for `go_type`.
    fn mismatch(&mut self, place: &Place, found: &str, go_type: &str, value: &Value) {
        let message = match place.path.go_fields().as_str() {
            "" => format!("json: cannot unmarshal {found} into Go value of type {go_type}"),
            fields => format!(
                "json: cannot unmarshal {found} into Go struct field {}.{fields} of type {go_type}",
                place.go_struct
            ),
        };
        let held = crate::registry::go_fmt::type_name(value);
        self.fail_with(message, Some((held, go_type.to_string())));
    }

    fn value(
        &mut self,
        schema: &'a Value,
        name: Option<&'a str>,
        value: &mut Value,
        place: &Place,
    ) {
        let (schema, name, keys) = self.resolve(schema, name);
        // Null is every Go type's zero value.
        if value.is_null() {
            return;
        }
        match name {
            Some(QUANTITY) => return self.quantity(value),
            Some(INT_OR_STRING) => return self.int_or_string(value),
            Some(TIME) | Some(MICRO_TIME) => return self.time(value, place, name),
            Some(DURATION) => return self.duration(value, place),
            _ => {}
        }
        if keys.int_or_string {
            return self.int_or_string(value);
        }
        match keys.kind {
            Some("object") => self.object(schema, name, &keys, value, place),
            Some("array") => match value {
                Value::Array(items) => {
                    if let Some(item) = keys.items {
                        for (i, v) in items.iter_mut().enumerate() {
                            if v.is_null() {
                                // Go decodes a null element as its type's zero value.
                                *v = self.zero_of(item);
                                continue;
                            }
                            self.value(item, None, v, &place.entry(Step::Index(i)));
                        }
                    }
                }
                other => {
                    let go = self.go_type(schema, name);
                    self.mismatch(place, json_kind(other), &go, other);
                }
            },
            Some("string") => match value {
                Value::String(s) => {
                    if keys.format == Some("byte")
                        && let Err(e) = base64::engine::general_purpose::STANDARD.decode(s)
                    {
                        self.fail(base64_message(&e));
                    }
                }
                other => {
                    let go = self.go_type(schema, name);
                    self.mismatch(place, json_kind(other), &go, other);
                }
            },
            Some("integer") => self.integer(keys.format, value, place),
            Some("number") => {
                if !value.is_number() {
                    self.mismatch(place, json_kind(value), "float64", value);
                }
            }
            Some("boolean") => {
                if !value.is_boolean() {
                    self.mismatch(place, json_kind(value), "bool", value);
                }
            }
            // No type: anything goes (preserved or open values), but known fields are still
            // walked.
            _ => {
                if keys.properties.is_some() {
                    self.object(schema, name, &keys, value, place);
                }
            }
        }
    }

    fn object(
        &mut self,
        schema: &'a Value,
        name: Option<&'a str>,
        keys: &Keys<'a>,
        value: &mut Value,
        place: &Place,
    ) {
        let Value::Object(map) = value else {
            let go = self.go_type(schema, name);
            return self.mismatch(place, json_kind(value), &go, value);
        };
        let properties = keys.properties.and_then(Value::as_object);
        let extra = keys.additional.filter(|e| e.is_object());
        let preserve = keys.preserve_unknown;
        if properties.is_none() && extra.is_none() {
            return;
        }
        let go_struct = name.map(short_name).unwrap_or(place.go_struct);
        let mut dropped = Vec::new();
        let mut nulls = Vec::new();
        for (key, v) in map.iter_mut() {
            match (properties.and_then(|p| p.get(key)), extra) {
                // A null field is its zero value, which upstream leaves out when it encodes.
                (Some(_), _) if v.is_null() => nulls.push(key.clone()),
                (Some(s), _) => self.value(s, None, v, &place.field(go_struct, key)),
                // A null map entry holds its element type's zero value, as Go decodes it.
                (None, Some(s)) if v.is_null() => *v = self.zero_of(s),
                (None, Some(s)) => self.value(s, None, v, &place.entry(Step::Key(key))),
                (None, None) if preserve => {}
                (None, None) => dropped.push(key.clone()),
            }
        }
        for key in nulls {
            map.remove(&key);
        }
        for key in dropped {
            self.walked
                .unknown
                .push(place.path.then(Step::Key(&key)).dotted());
            map.remove(&key);
        }
    }

    /// The zero value of the Go type `schema` describes, as JSON (`""`, `0`, `false`, `{}`);
    /// null where the type has none worth writing (an open value).
    fn zero_of(&self, schema: &'a Value) -> Value {
        let (_, name, keys) = self.resolve(schema, None);
        match name {
            // Upstream's zero quantity is `0`, its zero int-or-string the integer 0; a zero
            // time is written as null.
            Some(QUANTITY) => return Value::String("0".into()),
            Some(INT_OR_STRING) => return Value::from(0),
            Some(TIME) | Some(MICRO_TIME) => return Value::Null,
            _ => {}
        }
        match keys.kind {
            Some("string") => Value::String(String::new()),
            Some("integer") | Some("number") => Value::from(0),
            Some("boolean") => Value::Bool(false),
            Some("object") if keys.properties.is_some() => Value::Object(Map::new()),
            _ => Value::Null,
        }
    }

    fn integer(&mut self, format: Option<&str>, value: &Value, place: &Place) {
        let (go, min, max) = match format {
            Some("int32") => ("int32", i32::MIN as i64, i32::MAX as i64),
            _ => ("int64", i64::MIN, i64::MAX),
        };
        let Value::Number(n) = value else {
            return self.mismatch(place, json_kind(value), go, value);
        };
        match n.as_i64() {
            Some(i) if (min..=max).contains(&i) => {}
            _ => self.mismatch(place, &format!("number {n}"), go, value),
        }
    }

    /// Go's name of the type `schema` describes.
    fn go_type(&self, schema: &'a Value, name: Option<&str>) -> String {
        if let Some(name) = name {
            return qualified_name(name);
        }
        let keys = Keys::of(schema);
        match keys.kind {
            Some("integer") => match keys.format {
                Some("int32") => "int32".into(),
                _ => "int64".into(),
            },
            Some("number") => "float64".into(),
            Some("boolean") => "bool".into(),
            Some("string") if keys.format == Some("byte") => "[]uint8".into(),
            Some("string") => "string".into(),
            Some("array") => {
                let item = keys.items.map(|i| {
                    let (s, n, _) = self.resolve(i, None);
                    self.go_type(s, n)
                });
                format!("[]{}", item.unwrap_or_else(|| "interface {}".into()))
            }
            Some("object") => match keys.additional.filter(|e| e.is_object()) {
                Some(v) => {
                    let (s, n, _) = self.resolve(v, None);
                    format!("map[string]{}", self.go_type(s, n))
                }
                None => "map[string]interface {}".into(),
            },
            _ => "interface {}".into(),
        }
    }

    fn quantity(&mut self, value: &Value) {
        let text = match value {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            // Go's Quantity parses the raw JSON of anything else and fails on its format.
            _ => String::new(),
        };
        if let Err(message) = api::quantity::parse(&text) {
            self.fail(message.to_string());
        }
    }

    fn int_or_string(&mut self, value: &Value) {
        match value {
            Value::String(_) => {}
            Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => {}
            Value::Number(n) => self.fail(format!(
                "json: cannot unmarshal number {n} into Go value of type int32"
            )),
            other => self.fail(format!(
                "json: cannot unmarshal {} into Go value of type int32",
                json_kind(other)
            )),
        }
    }

    fn time(&mut self, value: &Value, place: &Place, name: Option<&str>) {
        let Value::String(s) = value else {
            let go = qualified_name(name.unwrap_or(TIME));
            return self.mismatch(place, json_kind(value), &go, value);
        };
        // An empty string is the zero time, as upstream's Time reads it.
        if !s.is_empty() && s.parse::<jiff::Timestamp>().is_err() {
            self.fail(format!(
                    "parsing time {s:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {s:?} as \"2006\""
                ),
            );
        }
    }

    fn duration(&mut self, value: &Value, place: &Place) {
        let Value::String(s) = value else {
            return self.mismatch(place, json_kind(value), "string", value);
        };
        if api::quantity::parse_go_duration(s).is_none() {
            self.fail(format!("time: invalid duration {s:?}"));
        }
    }
}

/// What Go's decoder calls a JSON value it could not store.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `v1.Container` for `io.k8s.api.core.v1.Container`: Go's package-qualified type name.
fn qualified_name(definition: &str) -> String {
    let mut parts = definition.rsplit('.');
    match (parts.next(), parts.next()) {
        (Some(kind), Some(package)) => format!("{package}.{kind}"),
        _ => definition.to_string(),
    }
}

/// `Container` for `io.k8s.api.core.v1.Container`: the struct name Go reports.
fn short_name(definition: &str) -> &str {
    definition.rsplit('.').next().unwrap_or(definition)
}

/// Go's base64 error: `illegal base64 data at input byte N`.
fn base64_message(error: &base64::DecodeError) -> String {
    let at = match error {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            *at
        }
        base64::DecodeError::InvalidLength(at) => *at,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

#[cfg(test)]
mod tests;
