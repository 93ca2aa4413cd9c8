//! Validation of an object about to be stored, after its defaults: what upstream's
//! `ValidateObjectMeta` and the kinds' `Validate...` functions refuse, with their field paths
//! and messages (422 Invalid, one cause per problem). Types and formats were checked when the
//! body was decoded (`schema_walk`); here are the rules types cannot express: label syntax,
//! sizes, ranges, required fields, names that must be unique.

mod core;
mod errors;
mod meta;
mod pods;
mod workloads;

use api::scheme::ResourceDef;
use serde_json::Value;

pub use errors::FieldErrors;

use crate::error::ApiError;

/// Validates a new object (`old` is `None`) or an update of `old` of `def`'s kind.
pub fn validate(def: &ResourceDef, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    meta::object_meta(obj, &mut errors);
    if let Some(path) = def.pod_spec {
        pods::pod_spec_at(obj, path, &mut errors);
    }
    match (def.group, def.plural) {
        ("", "configmaps") => core::config_map(obj, &mut errors),
        ("", "secrets") => core::secret(obj, &mut errors),
        ("", "services") => core::service(obj, &mut errors),
        ("", "namespaces") => core::namespace(obj, &mut errors),
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
        | ("", "replicationcontrollers") => workloads::replicated(def, obj, old, &mut errors),
        ("batch", "jobs") => workloads::job(obj, old, &mut errors),
        _ => {}
    }
    errors.into_result(def, obj)
}

#[cfg(test)]
mod tests;
