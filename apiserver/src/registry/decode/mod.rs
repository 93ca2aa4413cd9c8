//! A write's body read as upstream decodes it into its Go types: values checked against the
//! kind's schema (`schema_walk`), unknown and duplicate fields dropped and reported as
//! `fieldValidation` asks (`field_validation`).

mod field_path;
pub mod field_validation;
pub mod schema_walk;

#[cfg(test)]
mod wrong_types;
