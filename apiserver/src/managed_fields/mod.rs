//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! A field set is a tree of path elements in upstream's FieldsV1 spelling: `f:<name>` for a
//! field, `k:{"name":"c"}` for an element of a list merged by key, `v:<json>` for an element
//! of a set, and `.` for an element itself. Lists the scheme does not merge (strategic merge
//! keys) are atomic: owned as one field. Every write records which manager set which fields:
//! an update owns what it changed, an apply owns what it applied. Applying a field that another
//! manager owns with another value is a conflict unless forced; fields a manager applied before
//! and no longer applies are removed unless another manager owns them.
//!
//! - `fields.rs`: a set of fields; `paths.rs` the fields of an object and the values at them;
//! - `entries.rs`: the `managedFields` entries;
//! - `update.rs`, `apply.rs`: ownership after an update, and server-side apply.

mod apply;
mod entries;
mod fields;
mod paths;
mod update;

pub use apply::{Conflict, apply, conflict_message};
pub use update::record_update;
