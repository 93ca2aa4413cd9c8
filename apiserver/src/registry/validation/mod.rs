//! Validation of an object about to be stored, after its defaults: what upstream's
//! `ValidateObjectMeta` and the kinds' `Validate...` functions refuse, with their field paths
//! and messages (422 Invalid, one cause per problem). Types and formats were checked when the
//! body was decoded (`schema_walk`); here are the rules types cannot express: label syntax,
//! sizes, ranges, required fields, names that must be unique.

pub mod core;
mod errors;
pub mod meta;
pub mod pods;
pub mod workloads;

pub use errors::{Bad, FieldErrors, bad, index, key};

#[cfg(test)]
mod tests;

/// The causes of a validation result as `field: message` lines ("" when valid), for tests.
#[cfg(test)]
pub fn messages(result: Result<(), crate::error::ApiError>) -> String {
    match result {
        Ok(()) => String::new(),
        Err(crate::error::ApiError::Invalid { causes, .. }) => causes
            .iter()
            .map(|c| format!("{}: {}\n", c.field, c.message))
            .collect(),
        Err(other) => format!("{other:?}"),
    }
}

/// The `messages` of `strategy`'s rules for `obj` (updating `old`), as the served resource
/// `group/version/resource`, for tests.
#[cfg(test)]
pub fn validated(
    strategy: &dyn crate::registry::strategy::Strategy,
    (group, version, resource): (&str, &str, &str),
    obj: &serde_json::Value,
    old: Option<&serde_json::Value>,
) -> String {
    let scheme = api::Scheme::builtin();
    let Some(def) = scheme.lookup(group, version, resource) else {
        return format!("{group}/{version} {resource} is not served");
    };
    let mut errors = FieldErrors::default();
    strategy.validate(def, obj, old, &mut errors);
    messages(errors.into_result(def, obj))
}
