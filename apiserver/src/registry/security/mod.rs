//! security.openshift.io: SecurityContextConstraints (their model, validation and the
//! defaults every cluster starts with) and the reviews that ask which SCC would admit a
//! pod template. Admission of pods against them lives in
//! `admission/scc/`.

pub mod default_sccs;
pub mod model;
pub mod reviews;
mod validation;

pub use validation::SecurityContextConstraints;
