//! Whether a request may proceed: RBAC over the policy kept current from the watch caches,
//! and the default policy every cluster starts with.

pub mod authorizer;
pub mod bootstrap_policy;
