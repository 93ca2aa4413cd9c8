//! The audit log, as upstream's log backend writes it: `audit.k8s.io/v1` `Event`s, one JSON
//! object per line, for the requests an `audit.k8s.io/v1` `Policy` selects, at its levels
//! (`Metadata`, `Request`, `RequestResponse`) and stages, to a file rotated by size (or to
//! stdout).
//!
//! - `policy.rs`: the policy file, its validation and its rules;
//! - `sink.rs`: the writer thread and its bounded queue, `rotate.rs` the rotated file.

mod policy;
mod rotate;
mod sink;

pub use policy::{Level, Policy, PolicyError, Stage};
pub use rotate::Rotation;
pub use sink::Sink;
