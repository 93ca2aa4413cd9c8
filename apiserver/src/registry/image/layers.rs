//! `imagestreams/<name>/layers` (ImageStreamLayers): every image in the stream's history with
//! its layers, config and child manifests, and the blobs they name — what the registry
//! authorizes blob reads by, and how ImageStreamImages find images.

use async_trait::async_trait;
use axum::response::Response;
use images::metadata::{CONFIG_MEDIA_TYPE, SCHEMA2};
use serde_json::{Map, Value, json};

use super::{lookup, tag_sources};
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::response::json_response;
use crate::registry::rest::{Call, Rest};

pub struct Layers;

/// The layers document of `stream`, and the Images it names (by digest).
pub async fn layers_of(
    server: &ApiServer,
    stream: &Value,
) -> Result<(Value, Map<String, Value>), ApiError> {
    let mut blobs = Map::new();
    let mut images = Map::new();
    let mut found = Map::new();
    let mut pending: Vec<String> = images::tags::history_images(stream);
    while let Some(name) = pending.pop() {
        if images.contains_key(&name) {
            continue;
        }
        let Some(image) = lookup::image(server, &name).await? else {
            images.insert(name, json!({"imageMissing": true}));
            continue;
        };
        let mut entry = Map::new();
        let layers: Vec<Value> = image["dockerImageLayers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let digest = l["name"].as_str().unwrap_or_default().to_string();
                let mut blob = json!({"mediaType": l["mediaType"]});
                if let Some(size) = l["size"].as_i64().filter(|s| *s > 0) {
                    blob["size"] = json!(size);
                }
                blobs.insert(digest.clone(), blob);
                json!(digest)
            })
            .collect();
        entry.insert("layers".into(), Value::Array(layers));
        let media_type = match image["dockerImageManifestMediaType"].as_str() {
            Some(m) if !m.is_empty() => m,
            _ => SCHEMA2,
        };
        if media_type == SCHEMA2
            && let Some(config) = image["dockerImageMetadata"]["Id"]
                .as_str()
                .filter(|c| !c.is_empty())
        {
            blobs.insert(config.into(), json!({"mediaType": CONFIG_MEDIA_TYPE}));
            entry.insert("config".into(), json!(config));
        }
        let children: Vec<String> = image["dockerImageManifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["digest"].as_str().map(str::to_string))
            .collect();
        if !children.is_empty() {
            entry.insert("manifests".into(), json!(children));
            pending.extend(children);
        }
        blobs.insert(name.clone(), json!({"mediaType": media_type}));
        images.insert(name.clone(), Value::Object(entry));
        found.insert(name, image);
    }
    let doc = json!({
        "kind": "ImageStreamLayers",
        "apiVersion": "image.openshift.io/v1",
        "metadata": stream["metadata"],
        "blobs": blobs,
        "images": images,
    });
    Ok((doc, found))
}

#[async_trait]
impl Rest for Layers {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let ns = call.namespace.unwrap_or_default();
        let Some(stream) = tag_sources::fetch_stream(call.server, ns, call.name).await? else {
            return Err(ApiError::NotFound(Target {
                group: "image.openshift.io".into(),
                resource: "imagestreams".into(),
                name: call.name.into(),
            }));
        };
        let (doc, _) = layers_of(call.server, &stream).await?;
        Ok(json_response(axum::http::StatusCode::OK, &doc))
    }
}
