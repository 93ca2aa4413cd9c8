//! The audit log, as upstream's log backend writes it: `audit.k8s.io/v1` `Event`s, one JSON
//! object per line, for the requests an `audit.k8s.io/v1` `Policy` selects, at its levels
//! (`Metadata`, `Request`, `RequestResponse`) and stages.
//!
//! - `policy.rs`: the policy file, its validation and its rules.

mod policy;

pub use policy::{Level, Policy, PolicyError, Stage};
