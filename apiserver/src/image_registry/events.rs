//! `POST /openshift/registry/notifications`: docker-registry's notifications (distribution
//! 2.8 envelopes, one event each), authenticated by the shared secret of its configuration
//! (in a header of its own).
//! A pushed manifest is read back from the registry with a token the server issues itself,
//! made an Image, and mapped into its image stream, created first when missing and the pusher
//! may create image streams there. Repeated events change nothing (Images are named by
//! digest). Failures are logged, never answered with an error: the registry would hold every
//! later event back retrying this one.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::mapping::{self, Outcome};
use super::{IntegratedRegistry, image, readback, scope, token};
use crate::Shared;
use registry_client::{Target, media_types};

/// The largest config blob read back.
const MAX_CONFIG: usize = 8 << 20;
/// Carries the shared secret. Not `Authorization`: the server reads that as a user's token.
pub const SECRET_HEADER: &str = "x-oxshift-registry-secret";

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: EventTarget,
    #[serde(default)]
    actor: Actor,
}

#[derive(Deserialize, Default)]
struct EventTarget {
    #[serde(default, rename = "mediaType")]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: String,
}

#[derive(Deserialize, Default)]
struct Actor {
    #[serde(default)]
    name: String,
}

pub(crate) async fn handle(
    State(server): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(registry) = server.image_registry.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sent = headers
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !same(sent.as_bytes(), registry.notification_secret.as_bytes()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(envelope) = serde_json::from_slice::<Envelope>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    for event in envelope.events.iter().filter(|e| is_manifest_push(e)) {
        let repository = &event.target.repository;
        let outcome = pushed(&server, &registry, event).await;
        // Whatever came of it, those waiting for this image look again.
        registry.recorded();
        match outcome {
            Ok(outcome) => tracing::info!(
                repository = %repository, digest = %event.target.digest, ?outcome,
                "image pushed to the integrated registry"
            ),
            Err(e) => tracing::warn!(
                repository = %repository, digest = %event.target.digest, error = %e,
                "a pushed image was not recorded"
            ),
        }
    }
    StatusCode::OK.into_response()
}

/// A push of a manifest (blob events carry `application/octet-stream`).
pub(crate) fn is_manifest_push(e: &Event) -> bool {
    e.action == "push"
        && e.target.digest.starts_with("sha256:")
        && media_types::MANIFEST_ACCEPT.contains(&e.target.media_type.as_str())
}

async fn pushed(
    server: &Shared,
    registry: &IntegratedRegistry,
    event: &Event,
) -> Result<Outcome, String> {
    let t = &event.target;
    let (namespace, stream) = scope::project_and_stream(&t.repository)
        .ok_or_else(|| format!("{:?} is not <project>/<stream>", t.repository))?;
    let token = readback::pull_token(registry, &t.repository)?;
    let manifest = readback::manifest(registry, &t.repository, &t.digest, &token)
        .await
        .map_err(|e| e.to_string())?;
    let options = readback::options();
    let target = Target {
        registry: &registry.host,
        repository: &t.repository,
        reference: &t.digest,
    };
    let config = match image::config_digest(&manifest.media_type, &manifest.bytes) {
        Some(digest) => {
            let blob = Target {
                reference: &digest,
                ..target
            };
            Some(
                registry
                    .client
                    .blob_with_token(blob, &options, MAX_CONFIG, &token)
                    .await
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let image = image::image(
        &registry.host,
        &t.repository,
        &manifest.digest,
        &manifest.media_type,
        &manifest.bytes,
        config.as_deref(),
    );
    ensure_stream(server, registry, namespace, stream, &event.actor.name).await?;
    let tag = Some(t.tag.as_str()).filter(|t| !t.is_empty());
    mapping::map_image(server, namespace, stream, tag, image).await
}

/// Creates the stream if missing, when the pusher may create image streams there.
async fn ensure_stream(
    server: &Shared,
    registry: &IntegratedRegistry,
    namespace: &str,
    stream: &str,
    pusher: &str,
) -> Result<(), String> {
    if token::stream_exists(server, namespace, stream).await {
        return Ok(());
    }
    let user = registry
        .pushers
        .get(pusher)
        .ok_or_else(|| format!("the pusher {pusher:?} is not known"))?;
    if !token::may(server, &user, "create", namespace, "", stream).await {
        return Err(format!(
            "{pusher} may not create image streams in {namespace}"
        ));
    }
    let def = server
        .scheme
        .lookup("image.openshift.io", "v1", "imagestreams")
        .ok_or("image streams are not served")?;
    let object = serde_json::json!({
        "apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": stream, "namespace": namespace},
        "spec": {},
    });
    match server.create_object(def, object).await {
        Ok(_) | Err(crate::error::ApiError::AlreadyExists(_)) => Ok(()),
        Err(e) => Err(format!("creating the image stream failed: {e:?}")),
    }
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_manifest_pushes_are_handled() {
        let envelope: Envelope = serde_json::from_str(
            r#"{"events":[
              {"action":"push","target":{"mediaType":"application/octet-stream","digest":"sha256:b","repository":"ns/app"}},
              {"action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:m","repository":"ns/app","tag":"v1"},"actor":{"name":"alice"}},
              {"action":"pull","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:m","repository":"ns/app"}},
              {"action":"delete","target":{"repository":"ns/app","tag":"v1"}}
            ]}"#,
        )
        .unwrap();
        let handled: Vec<_> = envelope
            .events
            .iter()
            .filter(|e| is_manifest_push(e))
            .collect();
        assert_eq!(handled.len(), 1);
        assert_eq!(handled[0].actor.name, "alice");
        assert_eq!(handled[0].target.tag, "v1");
    }

    #[test]
    fn secrets_are_compared_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
