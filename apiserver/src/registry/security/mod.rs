//! security.openshift.io: SecurityContextConstraints (their model, validation and the
//! defaults every cluster starts with). Admission of pods against them lives in
//! `admission/scc/`.

pub mod default_sccs;
pub mod model;
mod validation;

pub use validation::SecurityContextConstraints;
