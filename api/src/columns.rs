//! Printer columns: what `kubectl get` shows for each kind (the server answers lists and gets
//! as a Table when asked). Cells are computed from the object by the API server.
//!
//! - `column.rs`: the column, its cells, and the columns every kind shares;
//! - `kubernetes.rs`, `openshift.rs`: each kind's columns.

mod column;
mod kubernetes;
mod openshift;

pub use column::{AGE, CREATED, CREATED_AT, Cell, Column, DEFAULT, NAME, Special};
pub use kubernetes::*;
pub use openshift::*;
