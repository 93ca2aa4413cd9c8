//! The workloads: each prepares its own fresh namespace, runs, and prints one report line.
//!
//! - `run.rs`: the run, its namespaces and connections; `drive.rs` many clients at once;
//! - `throughput.rs`, `list.rs`, `watch.rs`, `deletion.rs`: the workloads;
//! - `suite.rs`: all of them against the performance targets.

mod deletion;
mod drive;
mod list;
mod run;
mod suite;
mod throughput;
mod watch;

pub use run::Run;
