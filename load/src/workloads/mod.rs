//! The workloads: each prepares its own fresh namespace, runs, and prints one report line.
//!
//! - `run.rs`: the run, its namespaces and connections; `drive.rs` many clients at once;
//! - `throughput.rs`, `list.rs`, `watch.rs`, `deletion.rs`, `overload.rs`,
//!   `scheduling.rs`, `images.rs`, `triggers.rs`, `webhook_cost.rs`: the workloads;
//! - `suite.rs`: all of them against the performance targets.

mod deletion;
mod drive;
mod images;
mod list;
mod overload;
mod pods;
mod run;
mod scheduling;
mod suite;
mod throughput;
mod triggers;
mod watch;
mod webhook_cost;

pub use overload::{Op, Overload};
pub use run::Run;
