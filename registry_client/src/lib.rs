//! A client of the Docker Registry HTTP API v2 (the OCI distribution API), as image imports and
//! the integrated registry's notifications need it: manifests (Docker schema 2, OCI, manifest
//! lists and indexes), blobs with a size limit, tag lists across pages, each verified against
//! its digest.
//!
//! Plain strings in, raw bytes and verified digests out, typed errors. The registry's `/v2/`
//! ping tells which authentication it wants: a Bearer challenge has a token fetched from its
//! realm (with Basic credentials when some match the registry), a Basic challenge has the
//! credentials sent as they are. Plain HTTP and unverified TLS are used only when the caller
//! asks for an insecure registry.
//!
//! ```no_run
//! # async fn f() -> Result<(), registry_client::RegistryError> {
//! use registry_client::{Options, RegistryClient, Target};
//! let client = RegistryClient::new();
//! let target = Target { registry: "127.0.0.1:5000", repository: "ns/app", reference: "latest" };
//! let manifest = client.manifest(target, &Options::default()).await?;
//! println!("{} {}", manifest.digest, manifest.media_type);
//! # Ok(()) }
//! ```

mod challenge;
mod client;
mod credentials;
mod digest;
mod endpoint;
mod error;
pub mod media_types;
mod token;
mod transport;
/// A verifier accepting any server certificate (for insecure servers).
pub use transport::unverified;

#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;

pub use client::RegistryClient;
pub use credentials::{Credential, credentials_from_dockerconfigjson};
pub use digest::sha256_digest;
pub use error::{RegistryError, UnauthorizedReason};

/// The largest manifest accepted, as distribution's own limit (4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// One manifest (or blob) of one repository of one registry.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `host[:port]`, without a scheme.
    pub registry: &'a str,
    /// The repository's path, e.g. `library/busybox` or `project/stream`.
    pub repository: &'a str,
    /// A tag or a digest (`sha256:<hex>`); an empty one means `latest`.
    pub reference: &'a str,
}

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct Options {
    /// Plain HTTP, or HTTPS without certificate verification, is allowed.
    pub insecure: bool,
    /// `(registry, user, password)`, matched against the registry's host (see
    /// [`credentials_from_dockerconfigjson`]).
    pub credentials: Vec<Credential>,
    /// The deadline of each exchange with a registry (headers and body).
    pub timeout: Duration,
    /// `(registry, PEM bundle)`: the CAs a registry's certificate is checked against instead
    /// of the system's roots (the cluster's `additionalTrustedCA`).
    pub trusted_cas: Vec<(String, std::sync::Arc<[u8]>)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure: false,
            credentials: Vec::new(),
            timeout: Duration::from_secs(30),
            trusted_cas: Vec::new(),
        }
    }
}

/// A manifest as the registry served it, with its verified digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    /// The manifest's media type (from `Content-Type`, or its own `mediaType` field).
    pub media_type: String,
    pub bytes: Bytes,
}
