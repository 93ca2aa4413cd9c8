//! Field errors as upstream's `field.Error` words them (`Invalid value: -5: must be greater
//! than or equal to 0`), gathered into one 422 Invalid.

use api::scheme::ResourceDef;
use api::status::StatusCause;
use serde_json::Value;

use crate::error::ApiError;

/// A bad value as upstream prints it: strings quoted, numbers and booleans bare.
#[derive(Clone, Debug)]
pub enum Bad<'a> {
    Str(&'a str),
    Int(i64),
    /// Anything already in Go's `%#v` form (maps, lists).
    Go(String),
}

impl std::fmt::Display for Bad<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bad::Str(s) => write!(f, "{s:?}"),
            Bad::Int(i) => write!(f, "{i}"),
            Bad::Go(text) => f.write_str(text),
        }
    }
}

/// A JSON value as a bad value.
pub fn bad(value: &Value) -> Bad<'_> {
    match value {
        Value::String(s) => Bad::Str(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Bad::Int(i),
            None => Bad::Go(n.to_string()),
        },
        Value::Object(map) if map.values().all(Value::is_string) => {
            // Go prints a map[string]string with its keys sorted.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default()))
                .collect();
            Bad::Go(format!("map[string]string{{{}}}", inner.join(", ")))
        }
        other => Bad::Go(other.to_string()),
    }
}

/// The problems found in one object.
#[derive(Debug, Default)]
pub struct FieldErrors {
    causes: Vec<StatusCause>,
}

impl FieldErrors {
    fn push(&mut self, reason: &str, field: &str, message: String) {
        self.causes.push(StatusCause {
            reason: reason.into(),
            message,
            field: field.into(),
        });
    }

    pub fn invalid(&mut self, field: &str, value: Bad<'_>, detail: &str) {
        self.push(
            "FieldValueInvalid",
            field,
            format!("Invalid value: {value}: {detail}"),
        );
    }

    /// A value of the wrong type (or format) for its schema: worded as Invalid, but a reason
    /// of its own, as upstream's `field.TypeInvalid`.
    pub fn type_invalid(&mut self, field: &str, value: Bad<'_>, detail: &str) {
        self.push(
            "FieldValueTypeInvalid",
            field,
            format!("Invalid value: {value}: {detail}"),
        );
    }

    /// Whether any problem has one of these reasons.
    pub fn has_reason(&self, reasons: &[&str]) -> bool {
        self.causes
            .iter()
            .any(|c| reasons.contains(&c.reason.as_str()))
    }

    pub fn required(&mut self, field: &str, detail: &str) {
        let message = match detail {
            "" => "Required value".to_string(),
            d => format!("Required value: {d}"),
        };
        self.push("FieldValueRequired", field, message);
    }

    pub fn forbidden(&mut self, field: &str, detail: &str) {
        self.push("FieldValueForbidden", field, format!("Forbidden: {detail}"));
    }

    pub fn not_found(&mut self, field: &str, value: Bad<'_>) {
        self.push("FieldValueNotFound", field, format!("Not found: {value}"));
    }

    pub fn internal(&mut self, field: &str, detail: &str) {
        self.push("InternalError", field, format!("Internal error: {detail}"));
    }

    /// Adds what `other` found.
    pub fn extend(&mut self, other: FieldErrors) {
        self.causes.extend(other.causes);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.causes.is_empty()
    }

    /// The problems as upstream's aggregate prints them: one alone, several in brackets.
    pub fn summary(&self) -> String {
        let all: Vec<String> = self
            .causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        match all.len() {
            1 => all.join(""),
            _ => format!("[{}]", all.join(", ")),
        }
    }

    pub fn duplicate(&mut self, field: &str, value: Bad<'_>) {
        self.push(
            "FieldValueDuplicate",
            field,
            format!("Duplicate value: {value}"),
        );
    }

    pub fn not_supported(&mut self, field: &str, value: Bad<'_>, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.push(
            "FieldValueNotSupported",
            field,
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        );
    }

    /// A list with more items than allowed.
    pub fn too_many(&mut self, field: &str, actual: usize, max: usize) {
        self.push(
            "FieldValueTooMany",
            field,
            format!("Too many: {actual}: must have at most {max} items"),
        );
    }

    pub fn too_long(&mut self, field: &str, max_bytes: usize) {
        self.push(
            "FieldValueTooLong",
            field,
            format!("Too long: may not be more than {max_bytes} bytes"),
        );
    }

    /// 422 Invalid naming the object, if anything was found.
    pub fn into_result(self, def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
        if self.causes.is_empty() {
            return Ok(());
        }
        Err(ApiError::Invalid {
            kind: def.kind.to_string(),
            target: crate::registry::object::target(
                def,
                crate::registry::object::meta_str(obj, "name"),
            ),
            causes: self.causes,
        })
    }
}

/// `base[i]`.
pub fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}

/// `base[key]`, as upstream names map entries.
pub fn key(base: &str, key: &str) -> String {
    format!("{base}[{key}]")
}
