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

pub use errors::{Bad, FieldErrors, bad, index};

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
