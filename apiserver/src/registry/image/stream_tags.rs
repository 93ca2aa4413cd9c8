//! ImageStreamTags (`<stream>:<tag>`): a tag of a stream with its newest image. Reads are
//! built from the stream and the Image; writes change the stream's spec tag (what `oc tag`
//! sends: a PUT that creates the stream and the tag when missing).

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
use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::generic::patch::Patch;
use crate::registry::object::{self, target};
use crate::registry::response::deleted;
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::{FieldErrors, bad};

pub struct ImageStreamTags;

const RESOURCE: &str = "ImageStreamTags";
/// Conflicting writes retried before giving up (upstream's 10).
const ATTEMPTS: usize = 10;

/// The ImageStreamTag `tag` of `stream`, with `image` (its reference resolved) if known.
pub fn build(stream: &Value, tag: &str, image: Option<Value>) -> Value {
    let meta = &stream["metadata"];
    let event = latest_tagged_image(stream, tag);
    let spec = spec_tag(stream, tag);
    let annotations = spec
        .map(|t| t["annotations"].clone())
        .filter(|a| a.is_object());
    let mut metadata = json!({
        "name": format!("{}:{tag}", meta["name"].as_str().unwrap_or_default()),
        "namespace": meta["namespace"],
        "uid": meta["uid"],
        "resourceVersion": meta["resourceVersion"],
        "creationTimestamp": event.map_or(Value::Null, |e| e["created"].clone()),
    });
    if meta["labels"].is_object() {
        metadata["labels"] = meta["labels"].clone();
    }
    if let Some(a) = &annotations {
        metadata["annotations"] = a.clone();
    }
    let mut ist = json!({
        "kind": "ImageStreamTag",
        "apiVersion": "image.openshift.io/v1",
        "metadata": metadata,
        "tag": spec.cloned().unwrap_or(Value::Null),
        "generation": event.map_or(json!(0), |e| e["generation"].clone()),
        "lookupPolicy": stream["spec"]["lookupPolicy"].as_object().map_or(json!({"local": false}), |p| Value::Object(p.clone())),
        "image": Value::Null,
    });
    if let Some(conditions) = status_tag(stream, tag).and_then(|t| t["conditions"].as_array()) {
        ist["conditions"] = Value::Array(conditions.clone());
    }
    if let (Some(event), Some(mut image)) = (event, image) {
        image["dockerImageReference"] = json!(resolve_reference_for_tag_event(stream, tag, event));
        if let Some(extra) = annotations.as_ref().and_then(Value::as_object) {
            if !image["metadata"]["annotations"].is_object() {
                image["metadata"]["annotations"] = json!({});
            }
            for (k, v) in extra {
                image["metadata"]["annotations"][k] = v.clone();
            }
        }
        ist["image"] = image;
    }
    ist
}

fn not_found(call: &Call<'_>) -> ApiError {
    ApiError::NotFound(target(call.def, call.name))
}

async fn get_stream(server: &ApiServer, ns: &str, name: &str) -> Result<Option<Value>, ApiError> {
    tag_sources::fetch_stream(server, ns, name).await
}

/// The tag as GET shows it: 404 unless its newest event names an image.
async fn read(call: &Call<'_>, ns: &str, stream_name: &str, tag: &str) -> Result<Value, ApiError> {
    let streams_def = super::stream_def(call.server)?;
    let stream = get_stream(call.server, ns, stream_name)
        .await?
        .ok_or_else(|| ApiError::NotFound(target(streams_def, stream_name)))?;
    let image_name = latest_tagged_image(&stream, tag)
        .and_then(|e| e["image"].as_str())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| not_found(call))?
        .to_string();
    let image = match lookup::image(call.server, &image_name).await? {
        Some(image) => lookup::shown_image(image),
        None => json!({"metadata": {"name": image_name}}),
    };
    Ok(build(&stream, tag, Some(image)))
}

/// The checks of a written ImageStreamTag: the tag reference's rules, and annotations that
/// match the object's when both are given.
fn validate(obj: &Value) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let tag = &obj["tag"];
    if tag.is_object() {
        validation::tag_reference("tag", tag, &mut errors);
        let given = &tag["annotations"];
        if given.is_object() && given != &obj["metadata"]["annotations"] {
            errors.invalid(
                "tag.annotations",
                bad(given),
                "tag annotations must not be provided or must be equal to the object meta annotations",
            );
        }
    }
    errors
}

/// Writes the body's tag into the stream (creating it when missing). `must_be_new`: a
/// create, refused when the tag exists. Whether the spec tag is new.
async fn write(
    call: &Call<'_>,
    body: &Bytes,
    must_be_new: bool,
) -> Result<(Value, bool), ApiError> {
    let user: Option<&User> = Some(call.user()?);
    let ns = call.namespace.unwrap_or_default();
    let mut obj = call.object(body)?;
    if call.name.is_empty() {
        // A create names the tag in the body.
        object::check_identity(call.def, &mut obj, Some(ns), None).ok();
    }
    let name = match call.name {
        "" => obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        n => n.to_string(),
    };
    let (stream_name, tag) = stream_and_tag(&name, RESOURCE)?;
    validate(&obj).into_result(call.def, &obj)?;
    let requested_rv = object::meta_str(&obj, "resourceVersion").to_string();
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let existing = get_stream(call.server, ns, stream_name).await?;
        if existing.is_none() && !requested_rv.is_empty() {
            return Err(ApiError::NotFound(target(
                super::stream_def(call.server)?,
                stream_name,
            )));
        }
        if let Some(s) = &existing
            && !requested_rv.is_empty()
            && s["metadata"]["resourceVersion"] != requested_rv.as_str()
        {
            return Err(ApiError::ConflictBecause {
                target: target(call.def, &name),
                reason: format!(
                    "another caller has updated the resource version to {}",
                    s["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                ),
            });
        }
        let had_tag = existing
            .as_ref()
            .is_some_and(|s| spec_tag(s, tag).is_some());
        if must_be_new && had_tag {
            return Err(ApiError::AlreadyExists(target(call.def, &name)));
        }
        if !obj["tag"].is_object() && !had_tag {
            return Err(ApiError::BadRequest(format!(
                "imagestreamtag {tag} is not a spec tag in imagestream {ns}/{stream_name}, cannot be updated"
            )));
        }
        let mut stream = existing.clone().unwrap_or_else(|| {
            json!({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
                   "metadata": {"name": stream_name, "namespace": ns}, "spec": {}, "status": {}})
        });
        if obj["tag"].is_object() {
            let mut reference = obj["tag"].clone();
            if obj["metadata"]["annotations"].is_object() {
                reference["annotations"] = obj["metadata"]["annotations"].clone();
            }
            set_spec_tag(&mut stream, tag, reference);
        }
        let result = match &existing {
            None => streams::create(call.server, user, stream).await,
            Some(old) => streams::update(call.server, user, stream, old).await,
        };
        match result {
            Ok(written) => return Ok((written, !had_tag)),
            Err(e @ (ApiError::Conflict(_) | ApiError::AlreadyExists(_))) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::Timeout("update imagestreamtags".into())))
}

/// The written tag as the response shows it (its image when it has one).
async fn written(call: &Call<'_>, stream: &Value, tag: &str) -> Result<Value, ApiError> {
    let image = match latest_tagged_image(stream, tag).and_then(|e| e["image"].as_str()) {
        Some(name) if !name.is_empty() => lookup::image(call.server, name)
            .await?
            .map(lookup::shown_image),
        _ => None,
    };
    Ok(build(stream, tag, image))
}

#[async_trait]
impl Rest for ImageStreamTags {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let (stream, tag) = stream_and_tag(call.name, RESOURCE)?;
        let ist = read(call, call.namespace.unwrap_or_default(), stream, tag).await?;
        Ok(call.out.object(call.def, ist))
    }

    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let selector = crate::registry::selection::Selection::parse(call.def, call.params)?;
        let mut items = Vec::new();
        for stream in lookup::streams(call.server, call.namespace).await? {
            if !selector.matches(&stream) {
                continue;
            }
            for status in stream["status"]["tags"].as_array().into_iter().flatten() {
                let tag = status["tag"].as_str().unwrap_or_default();
                let Some(event) = latest_tagged_image(&stream, tag) else {
                    continue;
                };
                let image = event["image"].as_str().unwrap_or_default();
                if image.is_empty() {
                    continue;
                }
                let shown = json!({"metadata": {"name": image}, "dockerImageReference": ""});
                items.push(build(&stream, tag, Some(shown)));
            }
        }
        Ok(call
            .out
            .list(call.def, json!({"resourceVersion": ""}), items))
    }

    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let (stream, _) = write(call, &body, true).await?;
        let name = object::meta_str(&call.object(&body)?, "name").to_string();
        let (_, tag) = stream_and_tag(&name, RESOURCE)?;
        let ist = written(call, &stream, tag).await?;
        Ok(call.out.respond(StatusCode::CREATED, call.def, ist))
    }

    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let (stream, created) = write(call, &body, false).await?;
        let (_, tag) = stream_and_tag(call.name, RESOURCE)?;
        let ist = written(call, &stream, tag).await?;
        let code = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok(call.out.respond(code, call.def, ist))
    }

    /// A patch of the tag as GET shows it, written as an update (upstream's patcher does the
    /// same over get and update).
    async fn patch(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let patch = Patch::parse(call.content_type, &body)?.ok_or(
            ApiError::UnsupportedMediaType(
                "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
            ),
        )?;
        let ns = call.namespace.unwrap_or_default();
        let (stream_name, tag) = stream_and_tag(call.name, RESOURCE)?;
        let mut ist = read(call, ns, stream_name, tag).await?;
        patch.apply(call.def, &mut ist)?;
        let body = serde_json::to_vec(&ist).map_err(|e| ApiError::Internal(e.to_string()))?;
        let json_call = Call {
            content_type: Some("application/json"),
            upgrade: None,
            ..*call
        };
        self.update(&json_call, Bytes::from(body)).await
    }

    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let user = Some(call.user()?);
        let ns = call.namespace.unwrap_or_default();
        let (stream_name, tag) = stream_and_tag(call.name, RESOURCE)?;
        let uid_wanted = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|b| b["preconditions"]["uid"].as_str().map(str::to_string));
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let Some(old) = get_stream(call.server, ns, stream_name).await? else {
                return Err(not_found(call));
            };
            if let Some(uid) = &uid_wanted
                && old["metadata"]["uid"] != uid.as_str()
            {
                return Err(ApiError::ConflictBecause {
                    target: target(call.def, call.name),
                    reason: "the UID precondition was not met".into(),
                });
            }
            let mut next = old.clone();
            if !remove_tag(&mut next, tag) {
                return Err(not_found(call));
            }
            match streams::update(call.server, user, next, &old).await {
                Ok(_) => {
                    let status = deleted(call.def, call.name, "");
                    return Ok(call.out.respond(StatusCode::OK, call.def, status));
                }
                Err(e @ ApiError::Conflict(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Timeout("delete imagestreamtags".into())))
    }
}
