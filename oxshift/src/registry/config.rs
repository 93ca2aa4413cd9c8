//! docker-registry's `config.yml` (distribution 2.8): filesystem storage under the data
//! directory, plain HTTP on loopback, token authentication against the API server.

use std::path::PathBuf;

pub(super) struct Config {
    pub storage: PathBuf,
    pub port: u16,
    /// The token server's URL, sent to clients in the registry's challenges.
    pub realm: String,
    pub issuer: String,
    pub service: String,
    /// The certificate of the key tokens are signed with.
    pub root_cert_bundle: PathBuf,
    /// Signs the registry's upload state (distribution wants one set).
    pub http_secret: String,
    /// The API server's notification endpoint, and the secret it expects.
    pub notifications: String,
    pub notification_secret: String,
}

impl Config {
    pub(super) fn render(&self) -> String {
        format!(
            "version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
notifications:
  events:
    includereferences: true
  endpoints:
    - name: oxshift
      url: {notifications}
      headers:
        {header}: [{notification_secret}]
      timeout: 5s
      threshold: 5
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
      ignore:
        actions:
          - pull
",
            storage = quoted(&self.storage.display().to_string()),
            port = self.port,
            secret = quoted(&self.http_secret),
            realm = quoted(&self.realm),
            service = quoted(&self.service),
            issuer = quoted(&self.issuer),
            bundle = quoted(&self.root_cert_bundle.display().to_string()),
            notifications = quoted(&self.notifications),
            header = apiserver::image_registry::SECRET_HEADER,
            notification_secret = quoted(&self.notification_secret),
        )
    }
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub(super) fn random_secret() -> String {
    rand::random::<[u8; 24]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_token_authentication_against_the_api_server() {
        let config = Config {
            storage: "/data/registry/storage".into(),
            port: 5000,
            realm: "https://127.0.0.1:8443/openshift/token".into(),
            issuer: "iss".into(),
            service: "svc".into(),
            root_cert_bundle: "/data/registry/token-signer.crt".into(),
            http_secret: "s".into(),
            notifications: "https://127.0.0.1:8443/openshift/registry/notifications".into(),
            notification_secret: "n".into(),
        };
        let text = config.render();
        assert!(text.contains("  addr: 127.0.0.1:5000\n"), "{text}");
        assert!(
            text.contains(
                "auth:\n  token:\n    realm: \"https://127.0.0.1:8443/openshift/token\"\n    service: \"svc\"\n    issuer: \"iss\"\n    rootcertbundle: \"/data/registry/token-signer.crt\"\n"
            ),
            "{text}"
        );
        assert!(text.contains("rootdirectory: \"/data/registry/storage\""));
        assert!(
            text.contains(
                "      url: \"https://127.0.0.1:8443/openshift/registry/notifications\"\n      headers:\n        x-oxshift-registry-secret: [\"n\"]\n"
            ),
            "{text}"
        );
    }
}
