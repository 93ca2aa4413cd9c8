//! OpenShift templates processed as upstream processes them, on JSON values and without I/O:
//! the API server's `processedtemplates` and `oc process --local` share this crate.
//!
//! - `generator`: the `expression` generator of parameter values (`[a-z0-9]{8}`).
//! - `substitute`: `${NAME}` and `${{NAME}}` references in strings and JSON values.
//! - `process`: a Template processed in place (values, message, labels, objects).
//! - `errors`: field errors worded as upstream's.

pub mod errors;
pub mod generator;
pub mod process;
pub mod substitute;

pub use errors::FieldError;
pub use process::{process, validate_parameters};

use serde_json::Value;

/// Gives the parameter `name` the value `value` (clearing its generator, as a user's value
/// wins); `false` when the template has no such parameter.
pub fn set_parameter(template: &mut Value, name: &str, value: &str) -> bool {
    let Some(params) = template.get_mut("parameters").and_then(Value::as_array_mut) else {
        return false;
    };
    match params.iter_mut().find(|p| p["name"] == name) {
        Some(p) => {
            p["value"] = Value::String(value.to_string());
            if let Some(p) = p.as_object_mut() {
                p.remove("generate");
            }
            true
        }
        None => false,
    }
}
