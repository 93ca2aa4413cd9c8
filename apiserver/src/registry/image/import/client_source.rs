//! The server's own registry source: the distribution client of `registry_client`, reaching
//! registries on this machine's loopback addresses only. A pull spec naming any other host
//! fails to import with a message that says so, before any name is resolved or any
//! connection is made.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use registry_client::RegistryClient;

use super::source::{Manifest, Options, RegistryError, RegistrySource, Target};

/// `registry_client` behind the importer's trait, one client (and connection pool) per server.
#[derive(Default)]
pub struct ClientSource {
    client: RegistryClient,
}

impl ClientSource {
    pub fn new() -> ClientSource {
        ClientSource::default()
    }
}

/// The process's client, made on first use.
pub fn shared() -> Arc<dyn RegistrySource> {
    static SHARED: OnceLock<Arc<ClientSource>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(ClientSource::new())).clone()
}

/// Whether `registry` (`host[:port]`, IPv6 in brackets) names this machine's loopback.
fn on_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => registry.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_host(registry: &str) -> Result<(), RegistryError> {
    match on_loopback(registry) {
        true => Ok(()),
        false => Err(RegistryError::Unreachable {
            message: format!(
                "registry {registry} is not on this machine: this server imports only from registries on loopback addresses"
            ),
        }),
    }
}

fn options(o: &Options) -> registry_client::Options {
    registry_client::Options {
        insecure: o.insecure,
        credentials: o.credentials.clone(),
        timeout: o.timeout,
        trusted_cas: o.trusted_cas.clone(),
    }
}

fn target<'a>(t: Target<'a>) -> registry_client::Target<'a> {
    registry_client::Target {
        registry: t.registry,
        repository: t.repository,
        reference: t.reference,
    }
}

fn error(e: registry_client::RegistryError) -> RegistryError {
    use registry_client::RegistryError as E;
    let message = e.to_string();
    match e {
        E::NotFound { .. } => RegistryError::NotFound,
        E::Unauthorized { message, .. } => RegistryError::Unauthorized { message },
        E::DigestMismatch { expected, actual } => {
            RegistryError::DigestMismatch { expected, actual }
        }
        E::TooLarge { .. } => RegistryError::TooLarge,
        E::Timeout(_) => RegistryError::Timeout,
        E::Unreachable { .. } | E::HttpOnly { .. } => RegistryError::Unreachable { message },
        E::Protocol { .. } => RegistryError::Protocol { message },
    }
}

#[async_trait]
impl RegistrySource for ClientSource {
    async fn manifest(&self, t: Target<'_>, o: &Options) -> Result<Manifest, RegistryError> {
        check_host(t.registry)?;
        let m = self
            .client
            .manifest(target(t), &options(o))
            .await
            .map_err(error)?;
        Ok(Manifest {
            digest: m.digest,
            media_type: m.media_type,
            bytes: m.bytes,
        })
    }

    async fn blob(&self, t: Target<'_>, o: &Options, max: usize) -> Result<Bytes, RegistryError> {
        check_host(t.registry)?;
        self.client
            .blob(target(t), &options(o), max)
            .await
            .map_err(error)
    }

    async fn tags(
        &self,
        registry: &str,
        repository: &str,
        o: &Options,
    ) -> Result<Vec<String>, RegistryError> {
        check_host(registry)?;
        self.client
            .tags(registry, repository, &options(o))
            .await
            .map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_registries_are_reached() {
        for host in [
            "127.0.0.1:5000",
            "127.3.4.5",
            "localhost:5000",
            "[::1]:5000",
            "LOCALHOST",
        ] {
            assert!(on_loopback(host), "{host}");
        }
        for host in [
            "docker.io",
            "quay.io:443",
            "10.0.0.1:5000",
            "[2001:db8::1]:5000",
            "127.0.0.1.example.com",
        ] {
            assert!(!on_loopback(host), "{host}");
        }
    }

    #[tokio::test]
    async fn other_hosts_fail_before_any_connection() {
        let source = ClientSource::new();
        let t = Target {
            registry: "docker.io",
            repository: "library/busybox",
            reference: "latest",
        };
        let Err(RegistryError::Unreachable { message }) =
            source.manifest(t, &Options::default()).await
        else {
            panic!("docker.io must not be reached");
        };
        assert!(message.contains("only from registries on loopback addresses"));
    }
}
