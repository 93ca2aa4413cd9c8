//! The seam to the image API: a pushed image enters its stream through an
//! ImageStreamMapping, posted through the server's own dispatch (not over HTTP) as the
//! registry's privileged identity. Where the image API does not serve mappings, the Image
//! alone is stored and the tag is not recorded.

use axum::body::Body;
use axum::extract::State;
use serde_json::{Value, json};

use crate::Shared;
use crate::error::ApiError;
use crate::http::serve::User;

/// Who the registry's own writes are made as.
const REGISTRY_USER: &str = "system:serviceaccount:openshift-infra:image-registry";

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The stream's tag points at the image.
    Tagged,
    /// Only the Image is stored: mappings are not served here.
    ImageOnly,
}

/// Maps `image` into `<namespace>/<stream>:<tag>` (or stores the Image alone without a tag).
pub(crate) async fn map_image(
    server: &Shared,
    namespace: &str,
    stream: &str,
    tag: Option<&str>,
    image: Value,
) -> Result<Outcome, String> {
    if let Some(tag) = tag {
        let mapping = json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageStreamMapping",
            "metadata": {"name": stream, "namespace": namespace},
            "image": image,
            "tag": tag,
        });
        let uri = format!("/apis/image.openshift.io/v1/namespaces/{namespace}/imagestreammappings");
        let status = post(server, &uri, &mapping).await?;
        if status.is_success() {
            return Ok(Outcome::Tagged);
        }
        if status != axum::http::StatusCode::NOT_FOUND {
            return Err(format!("the image stream mapping was refused ({status})"));
        }
    }
    store_image(server, image).await?;
    Ok(Outcome::ImageOnly)
}

async fn post(server: &Shared, uri: &str, body: &Value) -> Result<axum::http::StatusCode, String> {
    let request = axum::http::Request::post(uri)
        .header("content-type", "application/json")
        .extension(User {
            name: REGISTRY_USER.into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
            ..Default::default()
        })
        .body(Body::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let response = crate::registry::dispatch::handle(State(server.clone()), request).await;
    Ok(response.status())
}

/// Creates the Image unless one of its name exists (images are immutable: the same digest is
/// the same image).
async fn store_image(server: &Shared, image: Value) -> Result<(), String> {
    let def = server
        .scheme
        .lookup("image.openshift.io", "v1", "images")
        .ok_or("images are not served")?;
    match server.create_object(def, image).await {
        Ok(_) | Err(ApiError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(format!("{e:?}")),
    }
}
