//! The signatures of an image of a stream, read with the registry's own right as OpenShift's
//! registry reads them (through `imagestreamimages`, with its service account) once its caller
//! was allowed to pull from the stream: a puller need not be able to read Images; and those
//! published in the lookaside store the trust policy names for the stream, since clients that
//! see the registry's extension read signatures there and never from a lookaside store.

use std::sync::Arc;

use serde_json::Value;

use trust::ImageName;

use crate::ApiServer;
use crate::admission::image_trust::{current_policy, published_signatures};
use crate::registry::image::config::image_config;
use crate::registry::image::{layers, tag_sources};

/// The `signatures` of the Image `digest` when the stream `ns/stream` holds it (in its history
/// or as a child of a manifest list there); `None` when either is unknown.
pub async fn stream_image_signatures(
    server: &ApiServer,
    ns: &str,
    stream: &str,
    digest: &str,
) -> Result<Option<Vec<Value>>, String> {
    let Some(stream) = tag_sources::fetch_stream(server, ns, stream)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let (_, found) = layers::layers_of(server, &stream)
        .await
        .map_err(|e| e.to_string())?;
    Ok(found
        .get(digest)
        .map(|image| image["signatures"].as_array().cloned().unwrap_or_default()))
}

/// The signatures of `digest` published for the stream `ns/stream` in the lookaside store
/// the trust policy names for it (none without a policy or a store); an error says why the
/// store could not be read. What a store published is kept a few seconds: clients ask at
/// every pull.
pub async fn lookaside_signatures(
    server: &ApiServer,
    ns: &str,
    stream: &str,
    digest: &str,
) -> Result<Arc<Vec<Vec<u8>>>, String> {
    let Some(compiled) = current_policy(server).await.map_err(|e| e.to_string())? else {
        return Ok(Arc::default());
    };
    let Some(host) = image_config(server)
        .await
        .map_err(|e| e.to_string())?
        .internal
    else {
        return Ok(Arc::default());
    };
    let name = ImageName::parse(&format!("{host}/{ns}/{stream}@{digest}"))?;
    match compiled.policy.lookaside_for(&name) {
        Some(store) => published_signatures(server, store, &name, digest).await,
        None => Ok(Arc::default()),
    }
}
