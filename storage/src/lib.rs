//! Oxshift's storage layer: a key-value store with etcd v3 semantics (one global revision,
//! compare-and-swap writes, watches that resume from any retained revision, compaction).
//!
//! Two backends implement [`Store`]: [`RedbStore`], embedded and the default, and
//! `EtcdStore` (feature `etcd`) over a real etcd. Both pass one conformance suite
//! (`tests/conformance.rs`). This crate knows nothing about Kubernetes objects.

mod compactor;
mod error;
#[cfg(feature = "etcd")]
mod etcd;
#[cfg(feature = "etcd")]
pub mod etcd_server;
mod redb;
mod store;
mod types;

pub use compactor::{CompactionPolicy, Compactor};
pub use error::{Error, Result};
#[cfg(feature = "etcd")]
pub use etcd::EtcdStore;
pub use redb::{DB_FILE, JOURNAL_FILE, RedbConfig, RedbStore, create_private_dir};
pub use store::{Store, WatchStream, validate_key, validate_txn};
pub use types::*;
