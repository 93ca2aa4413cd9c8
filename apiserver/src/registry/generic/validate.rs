//! Validation of an object about to be stored, after its defaults: what every object gets
//! (its metadata, a PodSpec wherever the kind embeds one), then the kind's own rules from its
//! strategy; one 422 Invalid with every problem found.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::error::ApiError;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{FieldErrors, meta, pods};

/// Validates a new object (`old` is `None`) or an update of `old` of `def`'s kind.
pub fn validate(
    def: &ResourceDef,
    strategy: &dyn Strategy,
    obj: &Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    meta::object_meta(obj, &mut errors);
    if let Some(path) = def.pod_spec.filter(|_| !strategy.checks_pod_spec()) {
        pods::pod_spec_at(obj, path, &mut errors);
    }
    strategy.validate(def, obj, old, &mut errors);
    errors.into_result(def, obj)
}
