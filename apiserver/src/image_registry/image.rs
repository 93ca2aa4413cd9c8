//! The Image a pushed manifest makes, as openshift/image-registry builds it: named by the
//! manifest's digest, managed, pointing into the integrated registry, carrying the manifest,
//! its config and its layers.

use serde_json::{Value, json};

use registry_client::media_types;

/// The digest of the config blob of a schema 2 or OCI manifest.
pub(crate) fn config_digest(media_type: &str, manifest: &[u8]) -> Option<String> {
    if media_type != media_types::DOCKER_SCHEMA2 && media_type != media_types::OCI_MANIFEST {
        return None;
    }
    let m: Value = serde_json::from_slice(manifest).ok()?;
    m["config"]["digest"].as_str().map(str::to_string)
}

/// The Image of `manifest` (`digest`, `media_type`) pushed to `<host>/<repository>`.
pub(crate) fn image(
    host: &str,
    repository: &str,
    digest: &str,
    media_type: &str,
    manifest: &[u8],
    config: Option<&[u8]>,
) -> Value {
    let parsed: Value = serde_json::from_slice(manifest).unwrap_or(Value::Null);
    let mut image = json!({
        "apiVersion": "image.openshift.io/v1",
        "kind": "Image",
        "metadata": {
            "name": digest,
            "annotations": {"openshift.io/image.managed": "true"},
        },
        "dockerImageReference": format!("{host}/{repository}@{digest}"),
        "dockerImageManifestMediaType": media_type,
        "dockerImageManifest": String::from_utf8_lossy(manifest),
    });
    if let Some(config) = config {
        image["dockerImageConfig"] = String::from_utf8_lossy(config).into();
    }
    if let Some(layers) = parsed["layers"].as_array() {
        image["dockerImageLayers"] = layers
            .iter()
            .map(|l| json!({"name": l["digest"], "size": l["size"].as_u64().unwrap_or(0), "mediaType": l["mediaType"]}))
            .collect();
        image["metadata"]["annotations"]["image.openshift.io/dockerLayersOrder"] =
            "ascending".into();
    }
    if media_types::is_list(media_type)
        && let Some(children) = parsed["manifests"].as_array()
    {
        image["dockerImageManifests"] = children
            .iter()
            .map(|c| {
                json!({
                    "digest": c["digest"], "mediaType": c["mediaType"],
                    "manifestSize": c["size"].as_u64().unwrap_or(0),
                    "architecture": c["platform"]["architecture"].as_str().unwrap_or_default(),
                    "os": c["platform"]["os"].as_str().unwrap_or_default(),
                    "variant": c["platform"]["variant"].as_str().unwrap_or_default(),
                })
            })
            .collect();
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema2_manifest_makes_a_managed_image_with_its_layers() {
        let manifest = json!({
            "schemaVersion": 2, "mediaType": media_types::DOCKER_SCHEMA2,
            "config": {"mediaType": media_types::DOCKER_CONFIG, "size": 2, "digest": "sha256:c"},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 7, "digest": "sha256:l"}],
        })
        .to_string();
        let mt = media_types::DOCKER_SCHEMA2;
        assert_eq!(
            config_digest(mt, manifest.as_bytes()).as_deref(),
            Some("sha256:c")
        );
        let image = image(
            "127.0.0.1:5000",
            "ns/app",
            "sha256:d",
            mt,
            manifest.as_bytes(),
            Some(b"{}"),
        );
        assert_eq!(image["metadata"]["name"], "sha256:d");
        assert_eq!(
            image["metadata"]["annotations"]["openshift.io/image.managed"],
            "true"
        );
        assert_eq!(
            image["dockerImageReference"],
            "127.0.0.1:5000/ns/app@sha256:d"
        );
        assert_eq!(image["dockerImageConfig"], "{}");
        assert_eq!(
            image["dockerImageLayers"],
            json!([{"name": "sha256:l", "size": 7, "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}])
        );
    }

    #[test]
    fn a_manifest_list_names_its_children() {
        let list = json!({
            "schemaVersion": 2, "mediaType": media_types::OCI_INDEX,
            "manifests": [{"mediaType": media_types::OCI_MANIFEST, "size": 5, "digest": "sha256:a",
                           "platform": {"architecture": "amd64", "os": "linux"}}],
        })
        .to_string();
        let mt = media_types::OCI_INDEX;
        assert_eq!(config_digest(mt, list.as_bytes()), None);
        let image = image("h", "ns/app", "sha256:l", mt, list.as_bytes(), None);
        assert_eq!(image["dockerImageManifests"][0]["architecture"], "amd64");
        assert_eq!(image["dockerImageManifests"][0]["manifestSize"], 5);
        assert!(image.get("dockerImageLayers").is_none());
    }
}
