//! Watches below the registry: the per-resource watch cache that fans one store watch out to
//! every watcher, and the encoded-bytes forms of objects, lists and watch events.

pub mod cache;
pub mod encoded;
pub(crate) mod named;
