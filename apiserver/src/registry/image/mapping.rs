//! ImageStreamMappings: an image enters a stream under a tag. `map_image` is the whole of it,
//! for the REST create and for the integrated registry's push notifications (called in
//! process as a privileged writer).

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use images::tags::{add_tag_event, latest_tagged_image, update_tracking_tags};
use serde_json::{Value, json};

use super::config::image_config;
use super::{image_strategy as image, streams, tag_sources};
use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::object;
use crate::registry::response::json_response;
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::FieldErrors;

pub struct ImageStreamMappings;

const MANAGED: &str = "openshift.io/image.managed";
/// Conflicting status writes retried before giving up.
const ATTEMPTS: usize = 10;

fn stream_not_found(name: &str) -> ApiError {
    ApiError::NotFound(Target {
        group: "image.openshift.io".into(),
        resource: "imagestream".into(),
        name: name.into(),
    })
}

/// Records `image` as the newest image of `stream:tag` in `ns`: the Image created unless it
/// exists, then a tag event added (nothing when it is already the newest). The stream must
/// exist. Authorization is the caller's: this writes as the server.
pub async fn map_image(
    server: &ApiServer,
    ns: &str,
    stream: &str,
    tag: &str,
    mut image: Value,
) -> Result<(), ApiError> {
    let Some(mut current) = tag_sources::fetch_stream(server, ns, stream).await? else {
        return Err(stream_not_found(stream));
    };
    let digest = image["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(map) = image.as_object_mut() {
        map.remove("signatures");
        map.insert("kind".into(), json!("Image"));
        map.insert("apiVersion".into(), json!("image.openshift.io/v1"));
    }
    if image["dockerImageReference"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
        && let Some(internal) = image_config(server).await?.internal
    {
        image["dockerImageReference"] = json!(format!("{internal}/{ns}/{stream}@{digest}"));
    }
    let mut reference = image["dockerImageReference"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let managed = image["metadata"]["annotations"][MANAGED] == "true";
    let images_def = super::def(server, "images")?;
    image::with_metadata(&mut image);
    match server.create_object(images_def, image).await {
        Ok(_) => {}
        Err(ApiError::AlreadyExists(_)) => {
            if managed {
                let repository = match current["status"]["dockerImageRepository"].as_str() {
                    Some(r) if !r.is_empty() => r.to_string(),
                    _ => current["spec"]["dockerImageRepository"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                };
                reference = format!("{repository}@{digest}");
            }
        }
        Err(e) => return Err(e),
    }
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        let before = latest_tagged_image(&current, tag).cloned();
        let event = json!({
            "created": object::now(),
            "dockerImageReference": reference,
            "image": digest,
            "generation": current["metadata"]["generation"],
        });
        let mut next = current.clone();
        if !add_tag_event(&mut next, tag, event) {
            return Ok(());
        }
        update_tracking_tags(&mut next, tag);
        match streams::update_status(server, next).await {
            Ok(_) => return Ok(()),
            Err(ApiError::Conflict(t)) => {
                let Some(fresh) = tag_sources::fetch_stream(server, ns, stream).await? else {
                    return Err(stream_not_found(stream));
                };
                let same_event = |e: Option<&Value>| {
                    e.map(|e| (e["dockerImageReference"].clone(), e["image"].clone()))
                };
                if same_event(latest_tagged_image(&fresh, tag)) != same_event(before.as_ref()) {
                    return Err(ApiError::Conflict(t));
                }
                current = fresh;
                last_error = Some(ApiError::Conflict(t));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ApiError::Timeout("update imagestreams".into())))
}

/// Upstream's checks of a mapping: a stream named, a tag, an image with a pull spec.
fn validate(obj: &Value) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if name.is_empty()
        && obj["dockerImageRepository"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    {
        errors.required("name", "");
        errors.required("dockerImageRepository", "");
    }
    if obj["tag"].as_str().unwrap_or_default().is_empty() {
        errors.required("tag", "");
    }
    if obj["image"]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        errors.required("image.metadata.name", "name or generateName is required");
    }
    image::validate_reference("image.dockerImageReference", &obj["image"], &mut errors);
    errors
}

#[async_trait]
impl Rest for ImageStreamMappings {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        call.user()?;
        let mut obj = call.object(&body)?;
        let ns = call.namespace.unwrap_or_default();
        object::check_identity(call.def, &mut obj, Some(ns), None).or_else(|e| match e {
            // A legacy mapping may name its stream by repository instead.
            ApiError::Invalid { .. } if obj["dockerImageRepository"].is_string() => {
                Ok(String::new())
            }
            e => Err(e),
        })?;
        validate(&obj).into_result(call.def, &obj)?;
        let stream = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let tag = obj["tag"].as_str().unwrap_or_default().to_string();
        map_image(call.server, ns, &stream, &tag, obj["image"].take()).await?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        ))
    }
}
