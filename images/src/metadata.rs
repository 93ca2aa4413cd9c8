//! An Image's metadata from its manifest and config (upstream's `InternalImageWithMetadata`):
//! layers base first, the config as `dockerImageMetadata`, the size, and for manifest lists
//! the list of child manifests. Images are JSON in the v1 shape.

use serde_json::{Map, Value, json};

pub const SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";

pub const LAYERS_ORDER: &str = "image.openshift.io/dockerLayersOrder";

/// Every manifest type the Accept header of a manifest GET names.
pub const ACCEPTED: &[&str] = &[
    SCHEMA2,
    MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
    SCHEMA1_SIGNED,
    SCHEMA1,
];

/// What kind of manifest a media type (or, failing that, the document) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    Schema1,
    Image,
    List,
}

/// The kind of `manifest` sent as `media_type` (empty: read from the document).
pub fn manifest_kind(media_type: &str, manifest: &Value) -> Option<ManifestKind> {
    let media_type = match media_type {
        "" => manifest["mediaType"].as_str().unwrap_or_default(),
        m => m,
    };
    match media_type {
        SCHEMA2 | OCI_MANIFEST => Some(ManifestKind::Image),
        MANIFEST_LIST | OCI_INDEX => Some(ManifestKind::List),
        SCHEMA1 | SCHEMA1_SIGNED => Some(ManifestKind::Schema1),
        _ if manifest["schemaVersion"] == 1 => Some(ManifestKind::Schema1),
        _ if manifest["manifests"].is_array() => Some(ManifestKind::List),
        _ if manifest["config"].is_object() => Some(ManifestKind::Image),
        _ => None,
    }
}

/// Fills `image`'s metadata from its `dockerImageManifest` and `dockerImageConfig`. An image
/// with layers already set only has them put base first. Errors in upstream's words.
pub fn image_with_metadata(image: &mut Value) -> Result<(), String> {
    let manifest_text = image["dockerImageManifest"].as_str().unwrap_or_default();
    if manifest_text.is_empty() {
        return Ok(());
    }
    let manifest: Value = serde_json::from_str(manifest_text)
        .map_err(|e| format!("unable to parse the manifest: {e}"))?;
    let stored_type = image["dockerImageManifestMediaType"]
        .as_str()
        .unwrap_or_default();
    let media_type = match manifest["mediaType"].as_str().filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => stored_type.to_string(),
    };
    match manifest_kind(&media_type, &manifest) {
        Some(ManifestKind::List) => {
            let media_type = if media_type.is_empty() {
                MANIFEST_LIST
            } else {
                &media_type
            };
            image["dockerImageManifestMediaType"] = json!(media_type);
            image["dockerImageManifests"] = Value::Array(list_entries(&manifest));
            Ok(())
        }
        Some(ManifestKind::Image) => {
            let media_type = if media_type.is_empty() {
                SCHEMA2.to_string()
            } else {
                media_type
            };
            // Filled already only when the size is there too, as upstream: the integrated
            // registry's Images arrive with their layers but without the config's metadata.
            if has_layers(image) && image["dockerImageMetadata"]["Size"].as_u64().unwrap_or(0) > 0 {
                return Ok(());
            }
            let config_text = image["dockerImageConfig"].as_str().unwrap_or_default();
            if config_text.is_empty() {
                return Err(format!(
                    "dockerImageConfig must not be empty for manifest type {media_type:?}"
                ));
            }
            let config: Value = serde_json::from_str(config_text)
                .map_err(|e| format!("unable to parse the image config: {e}"))?;
            fill_from_schema2(
                image,
                &manifest,
                &config,
                config_text.len() as i64,
                &media_type,
            );
            Ok(())
        }
        Some(ManifestKind::Schema1) => {
            if has_layers(image) {
                return Ok(());
            }
            fill_from_schema1(image, &manifest)
        }
        None => Err(format!("unsupported image manifest type: {media_type:?}")),
    }
}

fn has_layers(image: &Value) -> bool {
    image["dockerImageLayers"]
        .as_array()
        .is_some_and(|l| !l.is_empty())
}

/// The children of a manifest list, as `dockerImageManifests` lists them.
pub fn list_entries(manifest: &Value) -> Vec<Value> {
    manifest["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "digest": m["digest"],
                "mediaType": m["mediaType"],
                "manifestSize": m["size"].as_i64().unwrap_or(0),
                "architecture": m["platform"]["architecture"].as_str().unwrap_or_default(),
                "os": m["platform"]["os"].as_str().unwrap_or_default(),
                "variant": m["platform"]["variant"].as_str().unwrap_or_default(),
            })
        })
        .collect()
}

fn set_annotation(image: &mut Value, key: &str, value: &str) {
    if !image["metadata"].is_object() {
        image["metadata"] = json!({});
    }
    if !image["metadata"]["annotations"].is_object() {
        image["metadata"]["annotations"] = json!({});
    }
    image["metadata"]["annotations"][key] = json!(value);
}

fn fill_from_schema2(
    image: &mut Value,
    manifest: &Value,
    config: &Value,
    config_len: i64,
    media_type: &str,
) {
    let mut layers = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut size = config_len;
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let digest = layer["digest"].as_str().unwrap_or_default();
        let layer_size = layer["size"].as_i64().unwrap_or(0);
        if !seen.contains(&digest) {
            seen.push(digest);
            size += layer_size;
        }
        layers.push(json!({"name": digest, "size": layer_size, "mediaType": layer["mediaType"]}));
    }
    let mut metadata = docker_image(config);
    metadata.insert("Id".into(), manifest["config"]["digest"].clone());
    metadata.insert("Size".into(), json!(size));
    image["dockerImageMetadata"] = Value::Object(metadata);
    image["dockerImageMetadataVersion"] = json!("1.0");
    image["dockerImageLayers"] = Value::Array(layers);
    image["dockerImageManifestMediaType"] = json!(media_type);
    set_annotation(image, LAYERS_ORDER, "ascending");
}

/// `dockerImageMetadata` (a `DockerImage`) from an image config or a schema 1 v1 entry.
fn docker_image(config: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), json!("DockerImage"));
    m.insert("apiVersion".into(), json!("1.0"));
    let fields = [
        ("Id", "id"),
        ("Parent", "parent"),
        ("Comment", "comment"),
        ("Created", "created"),
        ("Container", "container"),
        ("ContainerConfig", "container_config"),
        ("DockerVersion", "docker_version"),
        ("Author", "author"),
        ("Config", "config"),
        ("Architecture", "architecture"),
    ];
    for (to, from) in fields {
        match &config[from] {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            v => drop(m.insert(to.into(), v.clone())),
        }
    }
    if !m.contains_key("ContainerConfig") {
        m.insert("ContainerConfig".into(), json!({}));
    }
    m
}

fn fill_from_schema1(image: &mut Value, manifest: &Value) -> Result<(), String> {
    let history = manifest["history"].as_array().cloned().unwrap_or_default();
    let first = history
        .first()
        .and_then(|h| h["v1Compatibility"].as_str())
        .ok_or_else(|| "the manifest has no history".to_string())?;
    let v1: Value =
        serde_json::from_str(first).map_err(|e| format!("unable to parse the v1 history: {e}"))?;
    let mut metadata = docker_image(&v1);
    let mut layers: Vec<Value> = Vec::new();
    let mut size = 0;
    let fs = manifest["fsLayers"].as_array().cloned().unwrap_or_default();
    for (i, layer) in fs.iter().enumerate().rev() {
        let layer_size = history
            .get(i)
            .and_then(|h| h["v1Compatibility"].as_str())
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|v| v["Size"].as_i64())
            .unwrap_or(0);
        size += layer_size;
        layers.push(json!({
            "name": layer["blobSum"],
            "size": layer_size,
            "mediaType": "application/vnd.docker.container.image.rootfs.diff+x-gtar",
        }));
    }
    metadata.insert("Size".into(), json!(size));
    image["dockerImageMetadata"] = Value::Object(metadata);
    image["dockerImageMetadataVersion"] = json!("1.0");
    image["dockerImageLayers"] = Value::Array(layers);
    image["dockerImageManifestMediaType"] = json!(SCHEMA1);
    set_annotation(image, LAYERS_ORDER, "ascending");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema2_images_get_layers_config_and_size() {
        let config = r#"{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","config":{"Cmd":["sh"],"Env":["A=1"]}}"#;
        let manifest = json!({
            "schemaVersion": 2, "mediaType": SCHEMA2,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": config.len(), "digest": "sha256:c"},
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 100, "digest": "sha256:l1"},
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 100, "digest": "sha256:l1"},
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 5, "digest": "sha256:l2"}
            ]
        });
        let mut image = json!({"metadata": {"name": "sha256:m"}, "dockerImageManifest": manifest.to_string(), "dockerImageConfig": config});
        assert_eq!(image_with_metadata(&mut image), Ok(()));
        assert_eq!(image["dockerImageMetadata"]["Id"], "sha256:c");
        assert_eq!(
            image["dockerImageMetadata"]["Size"],
            json!(config.len() as i64 + 105)
        );
        assert_eq!(image["dockerImageMetadata"]["Config"]["Cmd"], json!(["sh"]));
        assert_eq!(image["dockerImageLayers"].as_array().map(Vec::len), Some(3));
        assert_eq!(image["metadata"]["annotations"][LAYERS_ORDER], "ascending");
        assert_eq!(image["dockerImageManifestMediaType"], SCHEMA2);
    }

    #[test]
    fn lists_name_their_children_and_configless_images_are_refused() {
        let list = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "size": 10, "digest": "sha256:a", "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
        ]});
        let mut image = json!({"dockerImageManifest": list.to_string()});
        assert_eq!(image_with_metadata(&mut image), Ok(()));
        assert_eq!(image["dockerImageManifests"][0]["variant"], "v8");
        assert_eq!(image["dockerImageManifestMediaType"], OCI_INDEX);
        let single = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": "sha256:c"}, "layers": []});
        let mut image = json!({"dockerImageManifest": single.to_string()});
        assert_eq!(
            image_with_metadata(&mut image),
            Err(format!(
                "dockerImageConfig must not be empty for manifest type {OCI_MANIFEST:?}"
            ))
        );
    }
}
