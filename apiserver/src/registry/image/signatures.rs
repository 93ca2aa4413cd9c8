//! ImageSignatures (`<image digest>@<signature name>`): created into and deleted from the
//! `signatures` of their Image, as openshift-apiserver's imagesignatures storage does. On
//! create an `atomic` signature is verified against the keys of the cluster's trust policy:
//! the server fills `conditions` (`Trusted`, `ForImage`), `imageIdentity`, `signedClaims`,
//! `created`, `issuedBy` and `issuedTo`; what the client sent there is not kept. Content that
//! is no OpenPGP signed message is refused.

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use bytes::Bytes;
use serde_json::{Value, json};
use trust::simple_signing::{self, MAX_SIGNATURE_BYTES, SignatureError, Verified};
use trust::{Keyring, Requirement};

use super::lookup;
use crate::ApiServer;
use crate::admission::image_trust::{current_policy, now};
use crate::error::{ApiError, Target};
use crate::registry::object::{self, target};
use crate::registry::response::json_response;
use crate::registry::rest::{Call, Rest};
use crate::registry::validation::{Bad, FieldErrors};

pub struct ImageSignatures;

/// Conflicting writes of the Image retried before giving up.
const ATTEMPTS: usize = 10;

/// `<imageName>@<signatureName>`, both parts non-empty, one `@`.
fn split_name(name: &str) -> Option<(&str, &str)> {
    let (image, signature) = name.split_once('@')?;
    (!image.is_empty() && !signature.is_empty() && !signature.contains('@'))
        .then_some((image, signature))
}

fn images_def(server: &ApiServer) -> Result<&api::ResourceDef, ApiError> {
    super::def(server, "images")
}

/// openshift-apiserver's checks of an ImageSignature; the decoded content when valid.
fn validate(def: &api::ResourceDef, obj: &Value) -> Result<Vec<u8>, ApiError> {
    let mut errors = FieldErrors::default();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    if obj["metadata"]["labels"]
        .as_object()
        .is_some_and(|l| !l.is_empty())
    {
        errors.forbidden("metadata.labels", "signature labels cannot be set");
    }
    if obj["metadata"]["annotations"]
        .as_object()
        .is_some_and(|l| !l.is_empty())
    {
        errors.forbidden(
            "metadata.annotations",
            "signature annotations cannot be set",
        );
    }
    if split_name(name).is_none() {
        errors.invalid(
            "metadata.name",
            Bad::Str(name),
            "name must be of format <imageName>@<signatureName>",
        );
    }
    if obj["type"].as_str().unwrap_or_default().is_empty() {
        errors.required("type", "");
    }
    let mut content = Vec::new();
    match obj["content"].as_str().unwrap_or_default() {
        "" => errors.required("content", ""),
        c => match base64::engine::general_purpose::STANDARD.decode(c) {
            Ok(b) if b.len() > MAX_SIGNATURE_BYTES => {
                errors.too_long("content", MAX_SIGNATURE_BYTES)
            }
            Ok(b) => content = b,
            Err(e) => errors.invalid(
                "content",
                Bad::Str(&format!("<{} bytes>", c.len())),
                &format!("not base64: {e}"),
            ),
        },
    }
    errors.into_result(def, obj)?;
    Ok(content)
}

/// The keys of every `signedBy` requirement of the policy in force.
async fn trusted_keys(server: &ApiServer) -> Result<Option<Keyring>, ApiError> {
    let Some(compiled) = current_policy(server).await? else {
        return Ok(None);
    };
    let p = &compiled.policy;
    let mut all: Option<Keyring> = None;
    let lists = std::iter::once(&p.default)
        .chain(p.docker.values())
        .chain(p.atomic.values());
    for r in lists.flatten() {
        if let Requirement::SignedBy(s) = r
            && let Ok(k) = &s.keyring
        {
            match &mut all {
                Some(a) => a.extend(k.clone()),
                None => all = Some(k.clone()),
            }
        }
    }
    Ok(all)
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str) -> Value {
    let now = object::now();
    json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": now,
           "lastTransitionTime": now, "reason": reason, "message": message})
}

fn rfc3339(secs: i64) -> Option<String> {
    jiff::Timestamp::from_second(secs)
        .ok()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The fields the server fills from a verification of the signature of `digest`.
fn fill(signature: &mut Value, digest: &str, verified: Result<Verified, String>) {
    if let Some(map) = signature.as_object_mut() {
        for field in [
            "conditions",
            "imageIdentity",
            "signedClaims",
            "created",
            "issuedBy",
            "issuedTo",
        ] {
            map.remove(field);
        }
    }
    let v = match verified {
        Ok(v) => v,
        Err(why) => {
            signature["conditions"] = json!([condition("Trusted", false, "NotVerified", &why)]);
            return;
        }
    };
    let for_image = v.claim.manifest_digest == digest;
    signature["conditions"] = json!([
        condition(
            "Trusted",
            true,
            "Verified",
            &format!(
                "signed by key {} ({})",
                v.signer.fingerprint, v.signer.user_id
            ),
        ),
        condition(
            "ForImage",
            for_image,
            if for_image {
                "DigestMatches"
            } else {
                "DigestMismatch"
            },
            &format!("the signature is for {}", v.claim.manifest_digest),
        ),
    ]);
    signature["imageIdentity"] = json!(v.claim.docker_reference);
    signature["signedClaims"] = json!({
        "docker-reference": v.claim.docker_reference,
        "docker-manifest-digest": v.claim.manifest_digest,
        "type": simple_signing::SIGNATURE_TYPE,
    });
    if let Some(created) = v.claim.timestamp.or(v.signed_at).and_then(rfc3339) {
        signature["created"] = json!(created);
    }
    signature["issuedBy"] = json!({"commonName": v.signer.user_id});
    signature["issuedTo"] = json!({"commonName": v.signer.user_id, "publicKeyID": v.signer.key_id});
}

async fn verify(
    server: &ApiServer,
    def: &api::ResourceDef,
    obj: &Value,
    content: &[u8],
) -> Result<Result<Verified, String>, ApiError> {
    let Some(keys) = trusted_keys(server).await? else {
        return Ok(Err("no trust policy names a key to verify it with".into()));
    };
    match simple_signing::verify(content, &keys, now()) {
        Ok(v) => Ok(Ok(v)),
        // A well-formed signature by an unknown, revoked or expired key is kept, not trusted.
        Err(e @ (SignatureError::UnknownSigner(_) | SignatureError::Unusable(_))) => {
            Ok(Err(e.to_string()))
        }
        Err(e) => {
            let mut errors = FieldErrors::default();
            let shown = format!("<{} bytes>", content.len());
            errors.invalid("content", Bad::Str(&shown), &e.to_string());
            errors.into_result(def, obj)?;
            Ok(Err(e.to_string()))
        }
    }
}

#[async_trait]
impl Rest for ImageSignatures {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        call.user()?;
        let mut obj = call.object(&body)?;
        let content = validate(call.def, &obj)?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (image_name, _) = split_name(&name).unwrap_or_default();
        let verified = match obj["type"] == "atomic" {
            true => verify(call.server, call.def, &obj, &content).await?,
            false => Err("only signatures of type atomic are verified".into()),
        };
        fill(&mut obj, image_name, verified);
        obj["kind"] = json!("ImageSignature");
        obj["apiVersion"] = json!("image.openshift.io/v1");
        obj["metadata"] = json!({"name": name, "creationTimestamp": object::now()});
        let def = images_def(call.server)?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let mut image = lookup::image(call.server, image_name)
                .await?
                .ok_or_else(|| ApiError::NotFound(target(def, image_name)))?;
            let signatures = image["signatures"].as_array().cloned().unwrap_or_default();
            if signatures.iter().any(|s| {
                s["metadata"]["name"] == name.as_str()
                    || (s["type"] == obj["type"] && s["content"] == obj["content"])
            }) {
                return Err(ApiError::AlreadyExists(target(call.def, &name)));
            }
            let mut next = signatures;
            next.push(obj.clone());
            image["signatures"] = Value::Array(next);
            match call.server.update_object(def, image).await {
                Ok(_) => return Ok(call.out.respond(StatusCode::CREATED, call.def, obj)),
                Err(e @ ApiError::Conflict(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Timeout("update images".into())))
    }

    async fn delete(&self, call: &Call<'_>, _body: Bytes) -> Result<Response, ApiError> {
        call.user()?;
        let Some((image_name, _)) = split_name(call.name) else {
            return Err(ApiError::BadRequest(
                "ImageSignatures must be accessed with <imageName>@<signatureName>".into(),
            ));
        };
        let def = images_def(call.server)?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let mut image = lookup::image(call.server, image_name)
                .await?
                .ok_or_else(|| ApiError::NotFound(target(def, image_name)))?;
            let mut signatures = image["signatures"].as_array().cloned().unwrap_or_default();
            let before = signatures.len();
            signatures.retain(|s| s["metadata"]["name"] != call.name);
            if signatures.len() == before {
                return Err(ApiError::NotFound(Target {
                    group: "image.openshift.io".into(),
                    resource: "imagesignatures".into(),
                    name: call.name.to_string(),
                }));
            }
            image["signatures"] = Value::Array(signatures);
            match call.server.update_object(def, image).await {
                Ok(_) => {
                    return Ok(json_response(
                        StatusCode::OK,
                        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                    ));
                }
                Err(e @ ApiError::Conflict(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Timeout("update images".into())))
    }
}

#[cfg(test)]
pub(crate) mod tests;
