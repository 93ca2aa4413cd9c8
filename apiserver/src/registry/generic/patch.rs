//! PATCH of the generic store: JSON patches (bounded), merge and strategic merge patches, each
//! re-applied to a fresher object when a concurrent write wins; and server-side apply.

use api::scheme::ResourceDef;
use axum::response::Response;
use serde_json::Value;

use super::write::{create, store_update};
use super::{Ownership, Part, Target, current, next_state, parse_write, validate_fields, view};
use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::decode::field_validation::Decoded;
use crate::registry::object::{self, target};
use crate::registry::response::Output;

/// The media type of server-side apply patches.
const APPLY: &str = "application/apply-patch+yaml";

/// Media types accepted for patches.
const PATCH_TYPES: &str = "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";

/// A JSON, merge or strategic merge patch, read once and applied to any object.
pub enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
    Strategic(Value),
}

impl Patch {
    /// The patch a body of `content_type` holds; `None` for server-side apply, which is no
    /// patch of an object but a configuration merged into it.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Option<Patch>, ApiError> {
        Ok(Some(match content_type {
            Some("application/json-patch+json") => Patch::Json(
                serde_json::from_slice(body)
                    .map_err(|e| ApiError::BadRequest(format!("invalid JSON patch: {e}")))?,
            ),
            Some("application/merge-patch+json") => Patch::Merge(
                serde_json::from_slice(body)
                    .map_err(|e| ApiError::BadRequest(format!("invalid merge patch: {e}")))?,
            ),
            Some("application/strategic-merge-patch+json") => {
                Patch::Strategic(serde_json::from_slice(body).map_err(|e| {
                    ApiError::BadRequest(format!("invalid strategic merge patch: {e}"))
                })?)
            }
            Some(APPLY) => return Ok(None),
            _ => return Err(ApiError::UnsupportedMediaType(PATCH_TYPES)),
        }))
    }

    /// Applies the patch to `obj`, an object of `def`.
    pub fn apply(&self, def: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
        match self {
            Patch::Json(p) => {
                crate::registry::generic::json_patch_bounded::apply(obj, p).map_err(|e| match e {
                    crate::registry::generic::json_patch_bounded::Refused::TooLarge(message) => {
                        ApiError::RequestEntityTooLarge(message)
                    }
                    crate::registry::generic::json_patch_bounded::Refused::Failed(message) => {
                        tracing::debug!(%message, "JSON patch failed");
                        ApiError::PatchFailed
                    }
                })
            }
            Patch::Merge(p) => {
                json_patch::merge(obj, p);
                Ok(())
            }
            Patch::Strategic(p) => crate::registry::generic::strategic::apply(def, obj, p)
                .map_err(ApiError::BadRequest),
        }
    }
}

pub(super) async fn patch(
    server: &ApiServer,
    t: &Target<'_>,
    content_type: Option<&str>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    let Some(kind) = Patch::parse(content_type, body)? else {
        return apply(server, t, body, out).await;
    };
    // Re-applied to the fresher object whenever a concurrent write wins the race, as
    // upstream's GuaranteedUpdate: each lost race is another write landing, and the request
    // deadline bounds a writer that keeps losing. (A resourceVersion in the patch is a
    // precondition, never retried past.)
    loop {
        let current = current(server, t).await?;
        let current_obj = crate::registry::conversion::decode(server, t.def, &current).await?;
        let mut patched = view(t, current_obj.clone());
        kind.apply(t.def, &mut patched)?;
        let raw = serde_json::to_vec(&patched).map_err(|e| ApiError::Internal(e.to_string()))?;
        let mut obj = parse_write(t, &raw)?;
        // Merge patches mirror the object: fields they give twice are duplicates of it.
        let patch_body = match kind {
            Patch::Json(_) => None,
            Patch::Merge(_) | Patch::Strategic(_) => Some(body),
        };
        let decoded = match &kind {
            Patch::Strategic(p) => Decoded::Strategic(p),
            Patch::Json(_) | Patch::Merge(_) => Decoded::Patched,
        };
        let warnings = validate_fields(server, t, patch_body, decoded, &mut obj)?;
        // A patch that sets a resourceVersion is a precondition: no retry past it.
        let requested = object::meta_str(&obj, "resourceVersion");
        if !requested.is_empty() && requested != current.mod_revision.to_string() {
            return Err(ApiError::Conflict(target(t.def, t.name)));
        }
        let next = next_state(t, &current_obj, obj)?;
        match store_update(
            server,
            t,
            (&current, &current_obj),
            next,
            Ownership::Update,
            out,
        )
        .await
        {
            Err(ApiError::Conflict(_)) => continue,
            Ok(response) => {
                return Ok(crate::registry::decode::field_validation::warn(
                    response, &warnings,
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Server-side apply: the applied configuration (YAML or JSON) merged into the object (created
/// if missing), the manager owning what it applied; fields other managers own with other
/// values conflict unless `force`.
async fn apply(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    if t.part != Part::Main {
        return Err(ApiError::MethodNotAllowed);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the applied configuration is not UTF-8".into()))?;
    let applied: Value = serde_saphyr::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?;
    let raw = serde_json::to_vec(&applied).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut applied = parse_write(t, &raw)?;
    let warnings = validate_fields(server, t, None, Decoded::Applied, &mut applied)?;
    let now = object::now();
    // Retried as patches are.
    loop {
        let (found, _) = server
            .store
            .get(&t.def.key(t.namespace, t.name), None)
            .await
            .map_err(|e| from_storage(e, target(t.def, t.name)))?;
        let Some(current) = found else {
            // Apply creates what is missing.
            let obj =
                crate::managed_fields::apply(t.def, None, &applied, &t.manager, t.force, &now)
                    .map_err(|c| conflict(t, &c))?;
            let raw = serde_json::to_vec(&obj).map_err(|e| ApiError::Internal(e.to_string()))?;
            match create(server, t, &raw, out).await {
                Err(ApiError::AlreadyExists(_)) => continue,
                Ok(response) => {
                    return Ok(crate::registry::decode::field_validation::warn(
                        response, &warnings,
                    ));
                }
                Err(e) => return Err(e),
            }
        };
        let live = crate::registry::conversion::decode(server, t.def, &current).await?;
        let merged =
            crate::managed_fields::apply(t.def, Some(&live), &applied, &t.manager, t.force, &now)
                .map_err(|c| conflict(t, &c))?;
        let next = next_state(t, &live, merged)?;
        let stored = store_update(server, t, (&current, &live), next, Ownership::Computed, out);
        match stored.await {
            Err(ApiError::Conflict(_)) => continue,
            Ok(response) => {
                return Ok(crate::registry::decode::field_validation::warn(
                    response, &warnings,
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

fn conflict(t: &Target<'_>, conflicts: &[crate::managed_fields::Conflict]) -> ApiError {
    ApiError::ApplyConflict {
        target: target(t.def, t.name),
        message: crate::managed_fields::conflict_message(conflicts),
        causes: conflicts
            .iter()
            .map(|c| api::status::StatusCause {
                reason: "FieldManagerConflict".into(),
                message: format!("conflict with {:?} using {}", c.manager, c.api_version),
                field: c.field.clone(),
            })
            .collect(),
    }
}
