//! Validation of an object about to be stored, after its defaults: what upstream's
//! `ValidateObjectMeta` and the kinds' `Validate...` functions refuse, with their field paths
//! and messages (422 Invalid, one cause per problem). Types and formats were checked when the
//! body was decoded (`schema_walk`); here are the rules types cannot express: label syntax,
//! sizes, ranges, required fields, names that must be unique.

pub mod core;
mod errors;
mod meta;
mod pods;
pub mod workloads;

use api::scheme::ResourceDef;
use serde_json::Value;

pub use errors::FieldErrors;

use crate::error::ApiError;
use crate::registry::strategy::Strategy;

/// Validates a new object (`old` is `None`) or an update of `old` of `def`'s kind: what every
/// object gets (metadata, a PodSpec wherever the kind embeds one), then the kind's own rules.
pub fn validate(
    def: &ResourceDef,
    strategy: &dyn Strategy,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    meta::object_meta(obj, &mut errors);
    if let Some(path) = def.pod_spec {
        pods::pod_spec_at(obj, path, &mut errors);
    }
    strategy.validate(def, obj, old, &mut errors);
    errors.into_result(def, obj)
}

#[cfg(test)]
mod tests;
