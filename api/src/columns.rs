//! Printer columns: what `kubectl get` shows for each kind (the server answers lists and gets
//! as a Table when asked). Cells are computed from the object by the API server.
//!
//! - `column.rs`: the column, its cells, and the columns every kind shares;
//! - `kubernetes.rs`, `openshift.rs`: each kind's columns; `workloads.rs` (pod templates,
//!   stateful and daemon sets, revisions, cron jobs, disruption budgets, autoscalers) and
//!   `cluster.rs` (networking, scheduling, runtime, storage and flow-control kinds) for the
//!   Kubernetes kinds that came later.

mod cluster;
mod column;
mod kubernetes;
mod openshift;
mod workloads;

pub use cluster::*;
pub use column::{AGE, CREATED, CREATED_AT, Cell, Column, DEFAULT, NAME, Special};
pub use kubernetes::*;
pub use openshift::*;
pub use workloads::*;
