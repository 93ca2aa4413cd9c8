//! Resource quota semantics shared by the quota admission plugin and the quota controller:
//! quantity arithmetic in upstream's formats (`amount.rs`), what an object is charged
//! (`usage.rs`), which pods a scoped quota tracks (`scopes.rs`) and the admission decision
//! with upstream's messages (`check.rs`); ClusterResourceQuotas judged as ResourceQuotas, their
//! projects and their status (`cluster.rs`).

pub mod amount;
pub mod check;
pub mod cluster;
pub mod scopes;
pub mod usage;

pub use amount::{Amount, Format};
pub use check::{Charge, Request, check, pretty, status_list};
pub use usage::{Usage, count_name, matches, resource_of, usage};
