//! What processing refuses, as upstream's field errors: a field path, a type and a detail,
//! worded as `Required value: <detail>` or `Invalid value: <value>: <detail>`.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldError {
    Required {
        field: String,
        detail: String,
    },
    /// `value` is already in Go's notation (`"x"`, `v1.Parameter{...}`).
    Invalid {
        field: String,
        value: String,
        detail: String,
    },
}

impl FieldError {
    pub fn field(&self) -> &str {
        match self {
            FieldError::Required { field, .. } | FieldError::Invalid { field, .. } => field,
        }
    }

    /// The cause's reason in a Status.
    pub fn reason(&self) -> &'static str {
        match self {
            FieldError::Required { .. } => "FieldValueRequired",
            FieldError::Invalid { .. } => "FieldValueInvalid",
        }
    }

    /// The cause's message in a Status.
    pub fn message(&self) -> String {
        match self {
            FieldError::Required { detail, .. } if detail.is_empty() => "Required value".into(),
            FieldError::Required { detail, .. } => format!("Required value: {detail}"),
            FieldError::Invalid { value, detail, .. } => {
                format!("Invalid value: {value}: {detail}")
            }
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field(), self.message())
    }
}

/// A parameter as Go's `%#v` prints upstream's `v1.Parameter` (the bad value of generator
/// errors).
pub fn go_parameter(p: &Value) -> String {
    let s = |k: &str| format!("{:?}", p[k].as_str().unwrap_or_default());
    format!(
        "v1.Parameter{{Name:{}, DisplayName:{}, Description:{}, Value:{}, Generate:{}, From:{}, Required:{}}}",
        s("name"),
        s("displayName"),
        s("description"),
        s("value"),
        s("generate"),
        s("from"),
        p["required"].as_bool().unwrap_or(false)
    )
}
