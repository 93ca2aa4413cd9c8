//! `buildconfigs/<name>/instantiatebinary`: a build whose source is the request's body (an
//! archive, or one file named by `asFile`). Upstream streams the body into the build pod's
//! `git-clone` container through `pods/attach`; here the upload is kept in a ConfigMap
//! `<build>-binary` (key `source`, owned by the build) that the build controller mounts into
//! the build pod (`/var/run/openshift.io/binary/source`), so the node reads it as a file. An upload is thus bounded
//! by what one stored object holds (`MAX_UPLOAD_BYTES`).

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};

use super::generator;
use crate::error::ApiError;
use crate::registry::object;
use crate::registry::query::Pairs;
use crate::registry::rest::{Call, Rest};

/// The largest upload kept (its base64 form must fit in one stored object).
pub const MAX_UPLOAD_BYTES: usize = 1024 * 1024;

/// The ConfigMap holding the upload of `build`.
pub fn config_map_name(build: &str) -> String {
    format!("{build}-binary")
}

/// The BuildRequest the query asks for: `asFile` and the `revision.*` options.
fn request(call: &Call<'_>) -> Result<Value, ApiError> {
    let pairs = Pairs::parse(call.query)?;
    let get = |key: &str| pairs.first(key).unwrap_or_default().to_string();
    let mut request = json!({"metadata": {"name": call.name}, "binary": {}});
    let as_file = get("asFile");
    if !as_file.is_empty() {
        request["binary"]["asFile"] = json!(as_file);
    }
    let commit = get("revision.commit");
    if !commit.is_empty() {
        request["revision"] = json!({"type": "Git", "git": {
            "commit": commit, "message": get("revision.message"),
            "author": {"name": get("revision.authorName"), "email": get("revision.authorEmail")},
            "committer": {"name": get("revision.committerName"), "email": get("revision.committerEmail")},
        }});
    }
    Ok(request)
}

pub struct InstantiateBinary;

#[async_trait::async_trait]
impl Rest for InstantiateBinary {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        if body.len() > MAX_UPLOAD_BYTES {
            return Err(ApiError::RequestEntityTooLarge(format!(
                "binary build input larger than {MAX_UPLOAD_BYTES} bytes is not supported"
            )));
        }
        let request = request(call)?;
        let namespace = call.namespace.unwrap_or_default();
        let bc = call
            .server
            .get_object(call.def, Some(namespace), call.name)
            .await?
            .ok_or_else(|| ApiError::NotFound(object::target(call.def, call.name)))?;
        if !bc["spec"]["source"]["binary"].is_object() {
            return Err(ApiError::BadRequest(format!(
                "build config {namespace}/{} does not have a binary source",
                call.name
            )));
        }
        let build = generator::instantiate(call.server, namespace, call.name, &request).await?;
        let name = object::meta_str(&build, "name").to_string();
        let config_maps = call
            .server
            .scheme
            .lookup("", "v1", "configmaps")
            .ok_or(ApiError::PathNotFound)?;
        let upload = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": config_map_name(&name), "namespace": namespace,
                "ownerReferences": [{"apiVersion": "build.openshift.io/v1", "kind": "Build",
                    "name": name, "uid": object::meta_str(&build, "uid"), "controller": true}]},
            "binaryData": {"source": base64::engine::general_purpose::STANDARD.encode(&body)},
        });
        call.server.create_object(config_maps, upload).await?;
        let builds = call
            .server
            .scheme
            .lookup("build.openshift.io", "v1", "builds")
            .ok_or(ApiError::PathNotFound)?;
        Ok(call.out.respond(StatusCode::CREATED, builds, build))
    }
}
