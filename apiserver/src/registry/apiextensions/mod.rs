//! `apiextensions.k8s.io`: CustomResourceDefinitions (`definitions.rs`: their strategy, and
//! the DELETE that starts the cleanup of their instances; rules in `validation.rs` and
//! `structural.rs`) and the objects of the custom resources they define (`objects.rs`: one
//! schema-driven strategy for every custom kind, served by the generic store).

mod definitions;
mod objects;
mod structural;
mod validation;

pub use definitions::{CustomResourceDefinitions, Definitions};
pub use objects::{CustomObjects, SCHEMA_DRIVEN};
