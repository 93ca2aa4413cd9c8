//! The signature extension of OpenShift's registry: `GET` lists the signatures of an image of
//! a stream as `{"signatures":[{"schemaVersion":2,"name":..,"type":..,"content":..}]}`, `PUT`
//! of one such signature creates it as an ImageSignature through the API with the caller's
//! token. Pulling rights (`get imagestreams/layers`) let a caller read; creating
//! ImageSignatures (cluster-scoped) lets one write.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::credentials::{self, Caller};
use super::errors::{
    DENIED, JSON, RegistryError, SIGNATURE_EXISTS, SIGNATURE_INVALID, UNAUTHORIZED, UNKNOWN,
    UNSUPPORTED, full,
};
use super::path::SignaturesPath;
use super::{Body, Front};

/// The only schema of the extension.
const SCHEMA_VERSION: i64 = 2;
/// What upstream calls a signature sent without a type.
const DEFAULT_TYPE: &str = "AtomicImageV1";
/// The type of simple signing signatures, as clients read them.
const ATOMIC: &str = "atomic";
/// A signature's content is at most 64 KiB; its base64 and the envelope fit in this.
const MOST_BODY_BYTES: usize = 256 << 10;
/// docker-registry tells the API server of a pushed manifest after answering the push, and
/// clients ask for the image's signatures right after it: an image the registry holds but
/// the API has not recorded yet is waited for, at most this long, waking at each push the
/// server handles. One the registry does not hold is unknown at once.
const RECORDING_WAIT: Duration = Duration::from_secs(10);
/// How often to look again without a registry of this server's to tell of pushes.
const RECORDING_POLL: Duration = Duration::from_millis(100);

pub(super) async fn handle(
    front: &Front,
    target: SignaturesPath,
    request: Request<Incoming>,
) -> Response<Body> {
    let caller = credentials::caller(request.headers(), front.server.image_registry.as_deref());
    let done = match *request.method() {
        Method::GET => get(front, &target, &caller).await,
        Method::PUT => put(front, &target, &caller, request.into_body()).await,
        _ => Err(UNSUPPORTED.bare()),
    };
    done.unwrap_or_else(|e| e.response(&front.challenge))
}

async fn get(
    front: &Front,
    target: &SignaturesPath,
    caller: &Caller,
) -> Result<Response<Body>, RegistryError> {
    let allowed = match caller {
        Caller::Anonymous => return Err(UNAUTHORIZED.bare()),
        Caller::Granted(grant) => grant.allows(&target.repository(), "pull"),
        Caller::Token(token) => {
            match front
                .api
                .may_pull(token, &target.namespace, &target.stream)
                .await
            {
                Ok(Ok(allowed)) => allowed,
                Ok(Err(answer)) if answer.status == 401 => {
                    return Err(UNAUTHORIZED.with_detail(answer.message()));
                }
                Ok(Err(answer)) => return Err(UNKNOWN.with_detail(answer.message())),
                Err(e) => return Err(UNKNOWN.with_detail(e)),
            }
        }
    };
    if !allowed {
        return Err(DENIED.bare());
    }
    let Some(recorded) = recorded_signatures(front, target).await? else {
        return Ok(status_only(StatusCode::NOT_FOUND));
    };
    // Signatures published in the stream's lookaside store are served too: a client that
    // sees the extension reads signatures only here.
    let published = apiserver::image_registry::lookaside_signatures(
        &front.server,
        &target.namespace,
        &target.stream,
        &target.digest,
    )
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(image = %target.reference(), error = %e, "lookaside signatures not read");
        Default::default()
    });
    let mut response = Response::new(full(list_body(&recorded, &target.digest, &published)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    Ok(response)
}

/// The signatures of the image once the API records it in its stream; `None` at once when
/// the registry does not hold the manifest, or when it is not recorded within
/// `RECORDING_WAIT` (each handled push wakes the wait).
async fn recorded_signatures(
    front: &Front,
    target: &SignaturesPath,
) -> Result<Option<Vec<Value>>, RegistryError> {
    let registry = front.server.image_registry.clone();
    // Subscribed before the first look, so that no recording in between is missed.
    let mut recordings = registry.as_ref().map(|r| r.recordings());
    let deadline = tokio::time::Instant::now() + RECORDING_WAIT;
    let mut pushed = false;
    loop {
        let found = apiserver::image_registry::stream_image_signatures(
            &front.server,
            &target.namespace,
            &target.stream,
            &target.digest,
        )
        .await
        .map_err(|e| {
            UNKNOWN.with_detail(format!(
                "unable to get image {:?} signature: {e}",
                target.reference()
            ))
        })?;
        if found.is_some() {
            return Ok(found);
        }
        if !pushed {
            pushed = manifest_pushed(front, target).await;
            if !pushed {
                return Ok(None);
            }
        }
        if !recorded_again(&mut recordings, deadline).await {
            return Ok(None);
        }
    }
}

/// Whether the registry holds the image's manifest (when it cannot tell, it may).
async fn manifest_pushed(front: &Front, target: &SignaturesPath) -> bool {
    let Some(registry) = &front.server.image_registry else {
        return true;
    };
    match registry
        .has_manifest(&target.repository(), &target.digest)
        .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::debug!(image = %target.reference(), error = %e, "manifest not looked up");
            true
        }
    }
}

/// Waits for the next handled push, until `deadline`; `false` once it has passed.
async fn recorded_again(
    recordings: &mut Option<tokio::sync::watch::Receiver<u64>>,
    deadline: tokio::time::Instant,
) -> bool {
    match recordings {
        Some(r) => matches!(
            tokio::time::timeout_at(deadline, r.changed()).await,
            Ok(Ok(()))
        ),
        // No registry of this server's: only a short look again.
        None => {
            tokio::time::sleep(RECORDING_POLL).await;
            tokio::time::Instant::now() < deadline
        }
    }
}

/// The extension's list: an Image's `signatures`, then those published for `digest` in a
/// lookaside store that the Image does not hold already, named `<digest>@<hash of content>`.
fn list_body(signatures: &[Value], digest: &str, published: &[Vec<u8>]) -> String {
    let mut listed: Vec<Value> = signatures
        .iter()
        .map(|s| {
            json!({
                "schemaVersion": SCHEMA_VERSION,
                "name": s["metadata"]["name"],
                "type": s["type"],
                "content": s["content"],
            })
        })
        .collect();
    let engine = base64::engine::general_purpose::STANDARD;
    for content in published {
        let encoded = engine.encode(content);
        if listed.iter().any(|s| s["content"] == encoded.as_str()) {
            continue;
        }
        let hash = content_name(content);
        listed.push(json!({
            "schemaVersion": SCHEMA_VERSION,
            "name": format!("{digest}@{hash}"),
            "type": ATOMIC,
            "content": encoded,
        }));
    }
    json!({ "signatures": listed }).to_string()
}

/// 32 hex digits of the content's SHA-256: a published signature's name, the same at each
/// listing.
fn content_name(content: &[u8]) -> String {
    Sha256::digest(content)[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One signature as clients send it (unknown fields ignored, as Go's decoding does).
#[derive(Deserialize)]
struct Uploaded {
    #[serde(rename = "schemaVersion")]
    version: Option<i64>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    content: Option<String>,
}

/// The ImageSignature's name, type and (base64) content of an uploaded body.
fn parse_upload(body: &[u8]) -> Result<(String, String, String), RegistryError> {
    let uploaded: Uploaded =
        serde_json::from_slice(body).map_err(|e| SIGNATURE_INVALID.with_detail(e.to_string()))?;
    let content = match uploaded.content.as_deref().unwrap_or_default() {
        "" => Vec::new(),
        c => base64::engine::general_purpose::STANDARD
            .decode(c)
            .map_err(|e| SIGNATURE_INVALID.with_detail(format!("content: {e}")))?,
    };
    if uploaded.version.unwrap_or(0) != SCHEMA_VERSION {
        return Err(SIGNATURE_INVALID.with_detail("only schemaVersion=2 is currently supported"));
    }
    let kind = match uploaded.kind.unwrap_or_default() {
        k if k.is_empty() => DEFAULT_TYPE.to_string(),
        k => k,
    };
    Ok((
        uploaded.name.unwrap_or_default(),
        kind,
        base64::engine::general_purpose::STANDARD.encode(content),
    ))
}

async fn put(
    front: &Front,
    target: &SignaturesPath,
    caller: &Caller,
    body: Incoming,
) -> Result<Response<Body>, RegistryError> {
    let Some(token) = caller.token() else {
        return Err(UNAUTHORIZED.bare());
    };
    let body: Bytes = Limited::new(body, MOST_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| SIGNATURE_INVALID.with_detail(e.to_string()))?
        .to_bytes();
    let (name, kind, content) = parse_upload(&body)?;
    let mut recordings = front.server.image_registry.as_ref().map(|r| r.recordings());
    let deadline = tokio::time::Instant::now() + RECORDING_WAIT;
    let mut pushed = false;
    let answer = loop {
        let answer = front
            .api
            .create_signature(token, &name, &kind, &content)
            .await
            .map_err(|e| UNKNOWN.with_detail(e))?;
        // Not found: the Image is not recorded yet, or was never pushed.
        if answer.status != 404 {
            break answer;
        }
        if !pushed {
            pushed = manifest_pushed(front, target).await;
            if !pushed {
                break answer;
            }
        }
        if !recorded_again(&mut recordings, deadline).await {
            break answer;
        }
    };
    match answer.status {
        200 | 201 => Ok(status_only(StatusCode::CREATED)),
        401 => Err(UNAUTHORIZED.with_detail(answer.message())),
        403 => Err(DENIED.with_detail(answer.message())),
        400 => Err(SIGNATURE_INVALID.with_detail(answer.message())),
        404 => Ok(status_only(StatusCode::NOT_FOUND)),
        409 if answer.body["reason"] == "AlreadyExists" => {
            Err(SIGNATURE_EXISTS.with_detail(answer.message()))
        }
        _ => Err(UNKNOWN.with_detail(format!(
            "unable to create image {} signature: {}",
            target.reference(),
            answer.message()
        ))),
    }
}

fn status_only(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_the_extensions_schema() {
        let signatures = [
            json!({"metadata": {"name": "sha256:ab@0123"}, "type": "atomic",
            "content": "aGVsbG8=", "conditions": [{"type": "Trusted"}]}),
        ];
        assert_eq!(
            list_body(&signatures, "sha256:ab", &[]),
            r#"{"signatures":[{"schemaVersion":2,"name":"sha256:ab@0123","type":"atomic","content":"aGVsbG8="}]}"#
        );
        assert_eq!(list_body(&[], "sha256:ab", &[]), r#"{"signatures":[]}"#);
    }

    #[test]
    fn published_signatures_follow_the_recorded_ones_once_each() {
        let recorded = [
            json!({"metadata": {"name": "sha256:ab@0123"}, "type": "atomic",
            "content": "aGVsbG8="}),
        ];
        let published = [b"hello".to_vec(), b"other".to_vec()];
        let listed: Value =
            serde_json::from_str(&list_body(&recorded, "sha256:ab", &published)).unwrap();
        let listed = listed["signatures"].as_array().unwrap();
        assert_eq!(
            listed.len(),
            2,
            "the recorded copy of `hello` is not listed again"
        );
        let hash = content_name(b"other");
        assert_eq!(hash.len(), 32);
        assert_eq!(
            listed[1],
            json!({"schemaVersion": 2, "name": format!("sha256:ab@{hash}"), "type": "atomic",
                "content": "b3RoZXI="})
        );
    }

    #[test]
    fn uploads_are_read_as_upstream_reads_them() {
        let (name, kind, content) = parse_upload(
            br#"{"schemaVersion":2,"name":"sha256:ab@0123","type":"atomic","content":"aGVsbG8=","extra":1}"#,
        )
        .unwrap();
        assert_eq!(
            (name.as_str(), kind.as_str(), content.as_str()),
            ("sha256:ab@0123", "atomic", "aGVsbG8=")
        );
        let (_, kind, _) =
            parse_upload(br#"{"schemaVersion":2,"name":"sha256:ab@1","content":"aGk="}"#).unwrap();
        assert_eq!(kind, DEFAULT_TYPE);
    }

    #[test]
    fn bad_uploads_are_invalid_signatures() {
        for body in [
            &b"not json"[..],
            br#"{"schemaVersion":1,"name":"a@b","content":"aGk="}"#,
            br#"{"name":"a@b","content":"aGk="}"#,
            br#"{"schemaVersion":"2","name":"a@b","content":"aGk="}"#,
            br#"{"schemaVersion":2,"name":"a@b","content":"%%%"}"#,
            br#"[1]"#,
        ] {
            let e = parse_upload(body).unwrap_err();
            assert_eq!(
                e.code,
                SIGNATURE_INVALID,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let e = parse_upload(br#"{"schemaVersion":3}"#).unwrap_err();
        assert_eq!(
            e.detail.as_deref(),
            Some("only schemaVersion=2 is currently supported")
        );
    }
}
