//! What the cluster's image configuration (`config.openshift.io/v1 Image cluster`) tells the
//! image API: the integrated registry's internal and public host names, and the registries
//! images may be imported from. Read at each write, so a change applies to the next one.

use serde_json::Value;

use crate::ApiServer;
use crate::error::ApiError;

/// One `allowedRegistriesForImport` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedRegistry {
    pub domain_name: String,
    pub insecure: bool,
}

#[derive(Clone, Debug, Default)]
pub struct ImageConfig {
    /// `status.internalRegistryHostname` (`host:port`), if the registry runs.
    pub internal: Option<String>,
    /// The first external host name, if any.
    pub external: Option<String>,
    /// `spec.allowedRegistriesForImport`; `None` when unset (everything allowed).
    pub allowed: Option<Vec<AllowedRegistry>>,
    /// `spec.registrySources.insecureRegistries`.
    pub insecure: Vec<String>,
    /// `spec.additionalTrustedCA.name`: a ConfigMap of `openshift-config` holding registries'
    /// CA bundles.
    pub additional_trusted_ca: Option<String>,
}

impl ImageConfig {
    pub fn from_object(obj: &Value) -> ImageConfig {
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let first = |v: &Value| v.as_array().and_then(|a| a.first()).and_then(text);
        let allowed = obj["spec"]["allowedRegistriesForImport"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|r| AllowedRegistry {
                        domain_name: r["domainName"].as_str().unwrap_or_default().to_string(),
                        insecure: r["insecure"] == true,
                    })
                    .collect()
            });
        ImageConfig {
            internal: text(&obj["status"]["internalRegistryHostname"]),
            external: first(&obj["status"]["externalRegistryHostnames"])
                .or_else(|| first(&obj["spec"]["externalRegistryHostnames"])),
            allowed,
            insecure: obj["spec"]["registrySources"]["insecureRegistries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(text)
                .collect(),
            additional_trusted_ca: text(&obj["spec"]["additionalTrustedCA"]["name"]),
        }
    }

    /// `status.dockerImageRepository` of the stream `ns/name`.
    pub fn internal_repository(&self, ns: &str, name: &str) -> Option<String> {
        self.internal.as_ref().map(|h| format!("{h}/{ns}/{name}"))
    }

    /// `status.publicDockerImageRepository` of the stream `ns/name`.
    pub fn public_repository(&self, ns: &str, name: &str) -> Option<String> {
        self.external.as_ref().map(|h| format!("{h}/{ns}/{name}"))
    }
}

/// The cluster's image configuration (empty when there is none).
pub async fn image_config(server: &ApiServer) -> Result<ImageConfig, ApiError> {
    let Some(def) = server.scheme.lookup("config.openshift.io", "v1", "images") else {
        return Ok(ImageConfig::default());
    };
    Ok(server
        .get_object(def, None, "cluster")
        .await?
        .map(|obj| ImageConfig::from_object(&obj))
        .unwrap_or_default())
}

/// The registries' additional trusted CAs: `(host[:port], PEM)` from the ConfigMap the image
/// configuration names in `openshift-config`, whose keys are host names with `..` before a
/// port (`registry.example..5000`), as OpenShift reads them.
pub async fn trusted_cas(
    server: &ApiServer,
    config: &ImageConfig,
) -> Result<Vec<(String, std::sync::Arc<[u8]>)>, ApiError> {
    let (Some(name), Some(def)) = (
        config.additional_trusted_ca.as_deref(),
        server.scheme.lookup("", "v1", "configmaps"),
    ) else {
        return Ok(Vec::new());
    };
    let Some(map) = server
        .get_object(def, Some("openshift-config"), name)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(map["data"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, pem)| {
            let pem = pem.as_str()?;
            Some((
                key.replacen("..", ":", 1),
                std::sync::Arc::from(pem.as_bytes()),
            ))
        })
        .collect())
}
