//! The one error type of the storage layer. The API server maps these variants onto
//! `metav1.Status` (e.g. `Compacted` → 410 Gone, `Conflict` → 409).

use std::path::PathBuf;

use crate::types::{KeyValue, Revision};

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("key {key:?} already exists")]
    KeyExists { key: String },

    #[error("key {key:?} not found")]
    NotFound { key: String },

    /// An update or delete whose expected mod revision did not match. `current` is the key's
    /// current value (`None` if it no longer exists).
    #[error("conflict on key {key:?}: expected mod revision {expected}, found {}",
        current.as_ref().map_or(0, |kv| kv.mod_revision))]
    Conflict {
        key: String,
        expected: Revision,
        current: Option<Box<KeyValue>>,
    },

    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },

    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision {
        requested: Revision,
        current: Revision,
    },

    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },

    #[error("invalid storage request: {0}")]
    InvalidArgument(String),

    /// A data file that is not ours, or is damaged. Never rewritten.
    #[error("{}: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },

    /// The backend cannot serve requests (etcd down, store closed).
    #[error("storage unavailable: {0}")]
    Unavailable(String),

    /// An I/O failure while writing; the write did not happen.
    #[error("storage I/O error: {0}")]
    Io(String),

    /// A watch that cannot go on (e.g. the backend lost its history); the stream ends after it.
    #[error("watch ended: {0}")]
    WatchEnded(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: &str, err: impl std::fmt::Display) -> Self {
        Error::Io(format!("{context}: {err}"))
    }
}
