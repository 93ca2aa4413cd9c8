//! One image or repository read from a registry into Images and an `ImageImportStatus`
//! (upstream's importer): manifest lists resolved to one platform (`Legacy`) or kept with
//! their children (`PreserveOriginal`), configs fetched, by-digest reads verified, registry
//! errors worded as upstream words them. Nothing is written here.

use images::DockerImageReference;
use images::metadata::{ManifestKind, list_entries, manifest_kind};
use serde_json::{Value, json};

use super::source::{Manifest, Options, RegistryError, RegistrySource, Target};
use crate::registry::object;

/// Largest image config read.
const MAX_CONFIG: usize = 8 << 20;
/// Tags of a repository imported at most; the rest are listed as additional tags.
pub const MAX_REPOSITORY_TAGS: usize = 50;

/// What importing one reference gave.
#[derive(Debug, Default)]
pub struct Imported {
    /// A `metav1.Status`: Success, or Failure with upstream's reason and message.
    pub status: Value,
    pub image: Option<Value>,
    /// Children of a manifest list kept as it is.
    pub manifests: Vec<Value>,
}

impl Imported {
    fn failed(code: u16, reason: &str, message: String) -> Imported {
        Imported {
            status: json!({"metadata": {}, "status": "Failure", "code": code, "reason": reason, "message": message}),
            ..Default::default()
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status["status"] == "Success" && self.image.is_some()
    }
}

/// A registry error as the ImageImportStatus upstream records.
fn failure(err: &RegistryError, reference: &str) -> Imported {
    match err {
        RegistryError::NotFound => Imported::failed(
            404,
            "NotFound",
            format!("dockerimage.image.openshift.io {reference:?} not found"),
        ),
        RegistryError::Unauthorized { .. } => Imported::failed(
            401,
            "Unauthorized",
            format!("you may not have access to the container image {reference:?}"),
        ),
        other => Imported::failed(
            500,
            "InternalError",
            format!("Internal error occurred: {reference}: {other}"),
        ),
    }
}

/// The platform the control plane runs on, as registries name it.
fn own_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    };
    (arch, "linux")
}

pub struct Importer<'a> {
    pub source: &'a dyn RegistrySource,
    pub options: Options,
}

/// How one reference is imported.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub from: String,
    pub insecure: bool,
    /// `Legacy` (or empty) or `PreserveOriginal`.
    pub mode: String,
    pub prefer_arch: String,
    pub prefer_os: String,
}

impl Importer<'_> {
    fn options(&self, insecure: bool) -> Options {
        Options {
            insecure,
            ..self.options.clone()
        }
    }

    /// Imports the image `request.from` names.
    pub async fn import(&self, request: &Request) -> Imported {
        let reference = match DockerImageReference::parse(&request.from) {
            Ok(r) => r,
            Err(e) => {
                return Imported::failed(
                    422,
                    "Invalid",
                    format!(
                        "from.name: Invalid value: {:?}: invalid name: {e}",
                        request.from
                    ),
                );
            }
        };
        let pull = reference.docker_client_defaults();
        let registry = pull.registry.clone();
        let repository = pull.repository_name();
        let wanted = if reference.id.is_empty() {
            pull.tag.clone()
        } else {
            reference.id.clone()
        };
        let options = self.options(request.insecure);
        let target = Target {
            registry: &registry,
            repository: &repository,
            reference: &wanted,
        };
        let manifest = match self.source.manifest(target, &options).await {
            Ok(m) => m,
            Err(e) => return failure(&e, &request.from),
        };
        if !reference.id.is_empty() && manifest.digest != reference.id {
            return Imported::failed(
                500,
                "InternalError",
                format!(
                    "Internal error occurred: {}: content integrity error: the manifest retrieved (media type: {}) with digest {} does not match the digest calculated from the content {}",
                    request.from, manifest.media_type, reference.id, manifest.digest
                ),
            );
        }
        let pinned = |digest: &str| {
            let mut r = reference.clone();
            r.id = digest.to_string();
            r.most_specific().exact()
        };
        let doc: Value = serde_json::from_slice(&manifest.bytes).unwrap_or(Value::Null);
        match manifest_kind(&manifest.media_type, &doc) {
            Some(ManifestKind::List) if request.mode == "PreserveOriginal" => {
                let mut children = Vec::new();
                for entry in list_entries(&doc) {
                    let digest = entry["digest"].as_str().unwrap_or_default().to_string();
                    let t = Target {
                        registry: &registry,
                        repository: &repository,
                        reference: &digest,
                    };
                    let child = match self.source.manifest(t, &options).await {
                        Ok(m) => m,
                        Err(e) => return failure(&e, &request.from),
                    };
                    match self
                        .image(&registry, &repository, &child, &options, pinned(&digest))
                        .await
                    {
                        Ok(image) => children.push(image),
                        Err(e) => return failure(&e, &request.from),
                    }
                }
                let list = json!({
                    "metadata": {"name": manifest.digest},
                    "dockerImageReference": pinned(&manifest.digest),
                    "dockerImageManifestMediaType": manifest.media_type,
                    "dockerImageManifests": list_entries(&doc),
                    "dockerImageMetadata": {"kind": "DockerImage", "apiVersion": "1.0", "Id": manifest.digest, "Created": object::now()},
                    "dockerImageMetadataVersion": "1.0",
                });
                Imported {
                    status: success(),
                    image: Some(list),
                    manifests: children,
                }
            }
            Some(ManifestKind::List) => {
                let entries = list_entries(&doc);
                if entries.is_empty() {
                    return Imported::failed(
                        500,
                        "InternalError",
                        format!(
                            "Internal error occurred: {}: no manifests in manifest list",
                            request.from
                        ),
                    );
                }
                let (arch, os) = own_platform();
                let pick = |a: &str, o: &str| {
                    entries
                        .iter()
                        .find(|e| e["architecture"] == a && e["os"] == o)
                };
                let chosen = (!request.prefer_arch.is_empty())
                    .then(|| {
                        pick(
                            &request.prefer_arch,
                            if request.prefer_os.is_empty() {
                                "linux"
                            } else {
                                &request.prefer_os
                            },
                        )
                    })
                    .flatten()
                    .or_else(|| pick(arch, os))
                    .or_else(|| pick("amd64", "linux"))
                    .unwrap_or(&entries[0]);
                let digest = chosen["digest"].as_str().unwrap_or_default().to_string();
                let t = Target {
                    registry: &registry,
                    repository: &repository,
                    reference: &digest,
                };
                let child = match self.source.manifest(t, &options).await {
                    Ok(m) => m,
                    Err(e) => return failure(&e, &request.from),
                };
                let image = self
                    .image(
                        &registry,
                        &repository,
                        &child,
                        &options,
                        pinned(&child.digest),
                    )
                    .await;
                imported(image, &request.from)
            }
            Some(_) => {
                let image = self
                    .image(
                        &registry,
                        &repository,
                        &manifest,
                        &options,
                        pinned(&manifest.digest),
                    )
                    .await;
                imported(image, &request.from)
            }
            None => Imported::failed(
                500,
                "InternalError",
                format!(
                    "Internal error occurred: {}: unsupported image manifest type: {:?}",
                    request.from, manifest.media_type
                ),
            ),
        }
    }

    /// An Image from a single-platform manifest: its config read, its metadata derived.
    async fn image(
        &self,
        registry: &str,
        repository: &str,
        manifest: &Manifest,
        options: &Options,
        reference: String,
    ) -> Result<Value, RegistryError> {
        let text = String::from_utf8_lossy(&manifest.bytes).to_string();
        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut image = json!({
            "metadata": {"name": manifest.digest},
            "dockerImageReference": reference,
            "dockerImageManifest": text,
            "dockerImageManifestMediaType": manifest.media_type,
        });
        if let Some(config_digest) = doc["config"]["digest"].as_str() {
            let t = Target {
                registry,
                repository,
                reference: config_digest,
            };
            let config = self.source.blob(t, options, MAX_CONFIG).await?;
            image["dockerImageConfig"] = json!(String::from_utf8_lossy(&config));
        }
        images::metadata::image_with_metadata(&mut image)
            .map_err(|message| RegistryError::Protocol { message })?;
        Ok(image)
    }

    /// The tags of a repository in import order: the first ones to import, then the rest.
    pub async fn repository_tags(
        &self,
        from: &str,
        insecure: bool,
    ) -> Result<(Vec<String>, Vec<String>), Imported> {
        let reference = DockerImageReference::parse(from).map_err(|e| {
            Imported::failed(
                422,
                "Invalid",
                format!("from.name: Invalid value: {from:?}: invalid name: {e}"),
            )
        })?;
        let pull = reference.docker_client_defaults();
        let mut tags = self
            .source
            .tags(
                &pull.registry,
                &pull.repository_name(),
                &self.options(insecure),
            )
            .await
            .map_err(|e| failure(&e, from))?;
        for tag in tags.iter_mut().filter(|t| t.is_empty()) {
            *tag = "latest".into();
        }
        tags.sort();
        tags.dedup();
        images::prioritize_tags(&mut tags);
        let rest = tags.split_off(tags.len().min(MAX_REPOSITORY_TAGS));
        Ok((tags, rest))
    }
}

/// The outcome of importing one single-platform image requested as `from`.
fn imported(image: Result<Value, RegistryError>, from: &str) -> Imported {
    match image {
        Ok(image) => Imported {
            status: success(),
            image: Some(image),
            manifests: Vec::new(),
        },
        Err(e) => failure(&e, from),
    }
}

fn success() -> Value {
    json!({"metadata": {}, "status": "Success"})
}
