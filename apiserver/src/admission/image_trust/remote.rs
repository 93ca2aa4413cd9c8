//! Tags of registries other than the integrated one, resolved to the digest a node would pull:
//! the manifest the tag names now (an image manifest, or a manifest list or index), its digest
//! as the registry announced it (`Docker-Content-Digest`) and checked against the bytes, read
//! with the pull secrets the node would use (the pod's `imagePullSecrets` and its service
//! account's). Plain HTTP or unverified TLS only for the image configuration's insecure
//! registries; TLS verified against the CA the image configuration's `additionalTrustedCA`
//! names for the registry (the reader image import uses), else the system's roots. Only
//! loopback and pod addresses are dialled (a registry named by a host name is not resolved).
//! Digests are kept briefly by tag and credentials.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use registry_client::{Credential, Options, RegistryClient, RegistryError, Target};
use serde_json::Value;
use trust::ImageName;

use super::expiring::Expiring;
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::image::config::{ImageConfig, trusted_cas};
use crate::webhook_client::client::allowed;

/// How long a tag's digest is trusted without asking the registry again.
pub const KEEP: Duration = Duration::from_secs(15);
/// The deadline of each exchange with the registry.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Tags kept; stale ones are dropped when full, then all.
const MAX_CACHED: usize = 4096;

/// The registry client and the digests read through it.
pub struct Remote {
    client: OnceLock<RegistryClient>,
    digests: Expiring<String>,
}

impl Default for Remote {
    fn default() -> Self {
        Remote {
            client: OnceLock::new(),
            digests: Expiring::new(KEEP, MAX_CACHED, usize::MAX),
        }
    }
}

impl Remote {
    /// Forgets every digest (the benchmark's cold start).
    #[cfg(test)]
    pub fn forget(&self) {
        self.digests.clear();
    }
}

/// Whose credentials pull the images of one object: its namespace, the pull secrets its pod
/// spec names and its service account.
#[derive(Debug, Clone, Default)]
pub struct Puller {
    pub namespace: String,
    pub secrets: Vec<String>,
    pub service_account: String,
}

impl Puller {
    /// The puller of the pod spec `spec` in `namespace`.
    pub fn of(namespace: &str, spec: &Value) -> Puller {
        let secrets = spec["imagePullSecrets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        let account = [&spec["serviceAccountName"], &spec["serviceAccount"]]
            .into_iter()
            .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
            .unwrap_or("default");
        Puller {
            namespace: namespace.to_string(),
            secrets,
            service_account: account.to_string(),
        }
    }
}

/// The digest `name`'s tag points to now in its registry; why it cannot be told otherwise.
pub async fn digest(
    server: &ApiServer,
    config: &ImageConfig,
    name: &ImageName,
    tag: &str,
    puller: &Puller,
) -> Result<Result<String, String>, ApiError> {
    if !dialable(&name.host) {
        return Ok(Err(format!(
            "the tag {tag:?} of {} cannot be resolved to a digest: registry {} is not on a loopback or pod address, the only registries the control plane contacts; reference the image by digest",
            name.repository(),
            name.host
        )));
    }
    let remote = &server.admission.state.image_trust.remote;
    let key = format!(
        "{}\n{}\n{}\n{}",
        name.full(),
        puller.namespace,
        puller.service_account,
        puller.secrets.join(",")
    );
    if let Some(d) = remote.digests.get(&key) {
        return Ok(Ok(d));
    }
    let options = Options {
        insecure: insecure(config, name),
        credentials: credentials(server, puller).await?,
        timeout: TIMEOUT,
        trusted_cas: trusted_cas(server, config).await?,
    };
    let target = Target {
        registry: &name.host,
        repository: &name.path,
        reference: tag,
    };
    let client = remote.client.get_or_init(RegistryClient::new);
    match client.manifest(target, &options).await {
        Ok(manifest) => {
            remote.digests.insert(key, manifest.digest.clone(), 0);
            Ok(Ok(manifest.digest))
        }
        Err(e) => Ok(Err(refusal(name, tag, e))),
    }
}

/// Why a tag could not be read, in containers/image's words.
fn refusal(name: &ImageName, tag: &str, e: RegistryError) -> String {
    match e {
        RegistryError::Unreachable { registry, message } => {
            format!("pinging container registry {registry}: {message}")
        }
        RegistryError::HttpOnly { registry } => format!(
            "pinging container registry {registry}: it answers plain HTTP only and is not an insecure registry of the image configuration"
        ),
        RegistryError::NotFound { .. } => format!(
            "reading manifest {tag} in {}: manifest unknown",
            name.repository()
        ),
        e => format!("reading manifest {tag} in {}: {e}", name.repository()),
    }
}

/// Whether `host` (`host[:port]`) is an address the control plane may dial: loopback or a
/// pod's; `localhost` is loopback. Other names are not resolved.
fn dialable(host: &str) -> bool {
    let bare = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(allowed)
}

/// Whether `name` is under one of the image configuration's insecure registries (a host, a
/// repository prefix, or a `*.domain` wildcard), as the nodes' registries.conf lists them.
fn insecure(config: &ImageConfig, name: &ImageName) -> bool {
    let repository = name.repository();
    config.insecure.iter().any(|entry| {
        let entry = entry.trim_end_matches('/');
        match entry.strip_prefix("*.") {
            Some(domain) => {
                let host = name.host.split(':').next().unwrap_or_default();
                host.ends_with(&format!(".{domain}"))
            }
            None => {
                entry == name.host
                    || repository == entry
                    || repository.starts_with(&format!("{entry}/"))
            }
        }
    })
}

/// The credentials in the puller's secrets: those its pod spec names, then its service
/// account's `imagePullSecrets` (secrets that do not exist or are not docker configurations
/// are skipped, as the kubelet skips them).
async fn credentials(server: &ApiServer, puller: &Puller) -> Result<Vec<Credential>, ApiError> {
    let mut names = puller.secrets.clone();
    if let Some(def) = server.scheme.lookup("", "v1", "serviceaccounts")
        && let Some(sa) = server
            .get_object(def, Some(&puller.namespace), &puller.service_account)
            .await?
    {
        for s in sa["imagePullSecrets"].as_array().into_iter().flatten() {
            if let Some(n) = s["name"].as_str()
                && !names.iter().any(|m| m == n)
            {
                names.push(n.to_string());
            }
        }
    }
    let Some(def) = server.scheme.lookup("", "v1", "secrets") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for n in names {
        if let Some(secret) = server.get_object(def, Some(&puller.namespace), &n).await? {
            out.extend(crate::registry::image::secrets::credentials(&secret));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn only_loopback_and_pod_addresses_are_dialled() {
        for host in [
            "127.0.0.1:5000",
            "localhost",
            "[::1]:5000",
            "10.128.3.4:5000",
        ] {
            assert!(dialable(host), "{host}");
        }
        for host in [
            "quay.io",
            "docker.io",
            "192.168.1.1:5000",
            "127.0.0.1.example.com",
        ] {
            assert!(!dialable(host), "{host}");
        }
    }

    #[test]
    fn insecure_registries_match_hosts_repositories_and_domains() {
        let config = ImageConfig {
            insecure: vec![
                "127.0.0.1:5001".into(),
                "127.0.0.1:5002/team".into(),
                "*.example.test".into(),
            ],
            ..Default::default()
        };
        let name = |s: &str| ImageName::parse(s).unwrap();
        assert!(insecure(&config, &name("127.0.0.1:5001/a/b:1")));
        assert!(insecure(&config, &name("127.0.0.1:5002/team/app:1")));
        assert!(!insecure(&config, &name("127.0.0.1:5002/teams/app:1")));
        assert!(insecure(&config, &name("r.example.test:5000/a:1")));
        assert!(!insecure(&config, &name("127.0.0.1:5003/a:1")));
    }

    #[test]
    fn the_puller_is_the_pod_specs_secrets_and_account() {
        let p = Puller::of(
            "team",
            &json!({"imagePullSecrets": [{"name": "a"}, {"name": ""}, {}], "serviceAccountName": "builder"}),
        );
        assert_eq!(p.secrets, vec!["a".to_string()]);
        assert_eq!(p.service_account, "builder");
        assert_eq!(Puller::of("team", &json!({})).service_account, "default");
    }

    #[test]
    fn docker_secrets_give_their_credentials() {
        let doc = br#"{"auths":{"127.0.0.1:5000":{"username":"u","password":"p"}}}"#;
        let secret = json!({"type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(doc)}});
        assert_eq!(
            crate::registry::image::secrets::credentials(&secret),
            vec![("127.0.0.1:5000".into(), "u".into(), "p".into())]
        );
        assert!(
            crate::registry::image::secrets::credentials(&json!({"type": "Opaque", "data": {}}))
                .is_empty()
        );
    }
}
