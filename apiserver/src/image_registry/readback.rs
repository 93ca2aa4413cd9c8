//! What the server reads back from its own registry, with a pull token it issues itself:
//! pushed manifests (for the notifications) and whether a manifest exists at all (for the
//! front, which then need not wait for an image that was never pushed).

use std::time::Duration;

use registry_client::{Manifest, Options, RegistryError, Target};

use super::IntegratedRegistry;

/// Who the self-issued tokens name.
const SUBJECT: &str = "system:serviceaccount:openshift-infra:image-registry";

/// A minute's pull token for `repository`.
pub(super) fn pull_token(
    registry: &IntegratedRegistry,
    repository: &str,
) -> Result<String, String> {
    let pull = [auth::registry_tokens::Access {
        kind: "repository".into(),
        name: repository.to_string(),
        actions: vec!["pull".into()],
    }];
    let now = jiff::Timestamp::now().as_second();
    registry
        .signer
        .sign(&registry.issuer, &registry.service, SUBJECT, &pull, now, 60)
        .map_err(|e| e.to_string())
}

/// The registry is ours, on loopback, in plain HTTP.
pub(super) fn options() -> Options {
    Options {
        insecure: true,
        timeout: Duration::from_secs(10),
        ..Options::default()
    }
}

/// The manifest `reference` of `repository`, read with a token of the server's own.
pub(super) async fn manifest(
    registry: &IntegratedRegistry,
    repository: &str,
    reference: &str,
    token: &str,
) -> Result<Manifest, RegistryError> {
    let target = Target {
        registry: &registry.host,
        repository,
        reference,
    };
    registry
        .client
        .manifest_with_token(target, &options(), token)
        .await
}

impl IntegratedRegistry {
    /// Whether the registry holds the manifest `digest` in `repository` (`Err` when it
    /// cannot tell).
    pub async fn has_manifest(&self, repository: &str, digest: &str) -> Result<bool, String> {
        let token = pull_token(self, repository)?;
        match manifest(self, repository, digest, &token).await {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }
}
