//! Oxshift's API layer without I/O: the scheme (every resource described once, from which
//! discovery, routing and, later, OpenAPI, Table columns and field selectors are derived), the
//! `metav1.Status` error body, and name validation.

pub mod columns;
pub mod cron;
pub mod field;
pub mod intern;
mod list_merge;
pub mod names;
pub mod pod_qos;
pub mod pod_security;
pub mod protobuf;
pub mod quantity;
pub mod quota;
pub mod schemas;
pub mod scheme;
pub mod selector;
pub mod status;

pub use scheme::{ResourceDef, Scheme, Scope, Subresource};
pub use status::Status;
