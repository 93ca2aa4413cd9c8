//! Where imports read images from: a registry speaking the distribution API, behind a trait
//! of the registry client's shape (plain strings in, manifest bytes and digest out, typed
//! errors), so the importer is tested with a fake and the server runs with the real client.

use async_trait::async_trait;
use bytes::Bytes;
use std::time::Duration;

/// One manifest or blob of a repository.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// `host[:port]`.
    pub registry: &'a str,
    pub repository: &'a str,
    /// A tag or a `sha256:` digest.
    pub reference: &'a str,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Plain HTTP or unverified TLS allowed.
    pub insecure: bool,
    /// `(registry, user, password)` from the namespace's pull secrets.
    pub credentials: Vec<(String, String, String)>,
    pub timeout: Duration,
    /// `(registry, PEM bundle)`: the cluster's additional trusted CAs of a registry.
    pub trusted_cas: Vec<(String, std::sync::Arc<[u8]>)>,
}

#[derive(Clone, Debug)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub bytes: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    NotFound,
    Unauthorized { message: String },
    DigestMismatch { expected: String, actual: String },
    TooLarge,
    Timeout,
    Unreachable { message: String },
    Protocol { message: String },
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::NotFound => f.write_str("manifest unknown"),
            RegistryError::Unauthorized { message } => write!(f, "unauthorized: {message}"),
            RegistryError::DigestMismatch { expected, actual } => {
                write!(f, "digest mismatch: expected {expected}, got {actual}")
            }
            RegistryError::TooLarge => f.write_str("content too large"),
            RegistryError::Timeout => f.write_str("timed out"),
            RegistryError::Unreachable { message } | RegistryError::Protocol { message } => {
                f.write_str(message)
            }
        }
    }
}

#[async_trait]
pub trait RegistrySource: Send + Sync {
    async fn manifest(&self, t: Target<'_>, o: &Options) -> Result<Manifest, RegistryError>;
    async fn blob(&self, t: Target<'_>, o: &Options, max: usize) -> Result<Bytes, RegistryError>;
    async fn tags(
        &self,
        registry: &str,
        repository: &str,
        o: &Options,
    ) -> Result<Vec<String>, RegistryError>;
}
