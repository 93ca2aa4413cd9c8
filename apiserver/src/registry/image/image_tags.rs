//! ImageTags (`<stream>:<tag>`): a tag as its spec, its status and its current image, which
//! unlike ImageStreamTags also shows tags with only a spec or only a reference. Writes set or
//! (with no `spec`) remove the stream's spec tag.

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use images::tags::{
    latest_tagged_image, remove_tag, resolve_reference_for_tag_event, set_spec_tag, spec_tag,
    status_tag,
};
use serde_json::{Value, json};

use super::names::stream_and_tag;
use super::{lookup, streams, tag_sources, validation};
use crate::error::ApiError;
use crate::registry::object::target;
use crate::registry::response::deleted;
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::{Bad, FieldErrors};

pub struct ImageTags;

const RESOURCE: &str = "ImageTags";
const ATTEMPTS: usize = 10;

/// The ImageTag `tag` of `stream`, with its image when given.
fn build(stream: &Value, tag: &str, image: Option<Value>) -> Value {
    let mut metadata = stream["metadata"].clone();
    metadata["name"] = json!(format!(
        "{}:{tag}",
        stream["metadata"]["name"].as_str().unwrap_or_default()
    ));
    let status = status_tag(stream, tag).cloned().unwrap_or(Value::Null);
    let image = match (latest_tagged_image(stream, tag), image) {
        (Some(event), Some(mut image)) => {
            image["dockerImageReference"] =
                json!(resolve_reference_for_tag_event(stream, tag, event));
            image
        }
        _ => Value::Null,
    };
    json!({"kind": "ImageTag", "apiVersion": "image.openshift.io/v1", "metadata": metadata,
           "spec": spec_tag(stream, tag).cloned().unwrap_or(Value::Null), "status": status, "image": image})
}

async fn stream_of(call: &Call<'_>, name: &str) -> Result<Option<Value>, ApiError> {
    tag_sources::fetch_stream(call.server, call.namespace.unwrap_or_default(), name).await
}

async fn image_of(call: &Call<'_>, stream: &Value, tag: &str) -> Result<Option<Value>, ApiError> {
    match latest_tagged_image(stream, tag).and_then(|e| e["image"].as_str()) {
        Some(name) if !name.is_empty() => Ok(lookup::image(call.server, name)
            .await?
            .map(lookup::shown_image)),
        _ => Ok(None),
    }
}

/// Writes the body's spec into the stream; `create`: refused when the spec tag exists.
async fn write(call: &Call<'_>, body: &Bytes, create: bool) -> Result<Response, ApiError> {
    let user = Some(call.user()?);
    let obj = call.object(body)?;
    let name = match call.name {
        "" => obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        n => n.to_string(),
    };
    let (stream_name, tag) = stream_and_tag(&name, RESOURCE)?;
    let mut errors = FieldErrors::default();
    let spec = &obj["spec"];
    if create && !spec.is_object() {
        errors.required("spec", "spec is a required field during creation");
    }
    if spec.is_object() {
        let given = spec["name"].as_str().unwrap_or(tag);
        if given != tag {
            errors.invalid("spec.name", Bad::Str(given), "must match image tag name");
        }
        validation::tag_reference("spec", spec, &mut errors);
    }
    errors.into_result(call.def, &obj)?;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let existing = stream_of(call, stream_name).await?;
        let had = existing
            .as_ref()
            .is_some_and(|s| spec_tag(s, tag).is_some());
        if create && had {
            return Err(ApiError::AlreadyExists(target(call.def, &name)));
        }
        let ns = call.namespace.unwrap_or_default();
        let mut next = existing.clone().unwrap_or_else(|| {
            json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                   "metadata": {"name": stream_name, "namespace": ns}, "spec": {}, "status": {}})
        });
        match spec.is_object() {
            true => set_spec_tag(&mut next, tag, spec.clone()),
            false => {
                if let Some(tags) = next["spec"]["tags"].as_array_mut() {
                    tags.retain(|t| t["name"] != tag);
                }
            }
        }
        let written = match &existing {
            None => streams::create(call.server, user, next).await,
            Some(old) => streams::update(call.server, user, next, old).await,
        };
        match written {
            Ok(stream) => {
                let image = image_of(call, &stream, tag).await?;
                let code = if create || !had {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                return Ok(call.out.respond(code, call.def, build(&stream, tag, image)));
            }
            Err(e @ (ApiError::Conflict(_) | ApiError::AlreadyExists(_))) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::Timeout("update imagetags".into())))
}

#[async_trait]
impl Rest for ImageTags {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let (stream_name, tag) = stream_and_tag(call.name, RESOURCE)?;
        let streams_def = super::stream_def(call.server)?;
        let stream = stream_of(call, stream_name)
            .await?
            .ok_or_else(|| ApiError::NotFound(target(streams_def, stream_name)))?;
        if spec_tag(&stream, tag).is_none() && status_tag(&stream, tag).is_none() {
            return Err(ApiError::NotFound(target(call.def, call.name)));
        }
        let image = image_of(call, &stream, tag).await?;
        Ok(call.out.object(call.def, build(&stream, tag, image)))
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let selector = crate::registry::selection::Selection::parse(call.def, call.params)?;
        let mut items = Vec::new();
        for stream in lookup::streams(call.server, call.namespace).await? {
            if !selector.matches(&stream) {
                continue;
            }
            let mut names: Vec<String> = stream["spec"]["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["name"].as_str())
                .chain(
                    stream["status"]["tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t["tag"].as_str()),
                )
                .map(str::to_string)
                .collect();
            names.sort();
            names.dedup();
            for tag in names {
                items.push(build(&stream, &tag, None));
            }
        }
        Ok(call
            .out
            .list(call.def, json!({"resourceVersion": ""}), items))
    }

    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        write(call, &body, true).await
    }

    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        write(call, &body, false).await
    }

    async fn delete(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        let user = Some(call.user()?);
        let (stream_name, tag) = stream_and_tag(call.name, RESOURCE)?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let Some(old) = stream_of(call, stream_name).await? else {
                return Err(ApiError::NotFound(target(call.def, call.name)));
            };
            let mut next = old.clone();
            if !remove_tag(&mut next, tag) {
                return Err(ApiError::NotFound(target(call.def, call.name)));
            }
            match streams::update(call.server, user, next, &old).await {
                Ok(_) => {
                    return Ok(call.out.respond(
                        StatusCode::OK,
                        call.def,
                        deleted(call.def, call.name, ""),
                    ));
                }
                Err(e @ ApiError::Conflict(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Timeout("delete imagetags".into())))
    }
}
