//! One volume's sync, as upstream's `syncVolume`: a free volume is Available; a volume whose
//! claim is gone is Released and reclaimed by its policy (Retain keeps it; Delete leaves it
//! to the provisioner that made it, else fails; Recycle fails, no recycler being served); a
//! volume the binder bound to a claim now bound elsewhere is unbound.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};

use super::Context;
use super::annotations::*;
use super::claims::tell_volume;
use crate::Error;
use crate::lenient::Object;

fn phase(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

async fn set_status(ctx: &Context, volume: &PersistentVolume, status: Value) -> Result<(), Error> {
    let api: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    let written = api
        .patch_status(
            &volume.name_any(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await?;
    if let Some(v) = written.object {
        ctx.assume(v);
    }
    Ok(())
}

/// The claim a volume names, from the cache, else read (a claim missing from the cache may
/// just not be listed yet: a volume is never released on the cache's word alone).
async fn claim_of(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<PersistentVolumeClaim>, Error> {
    let cached = ctx
        .claims
        .get(&ObjectRef::new(name).within(namespace))
        .and_then(|o| o.object.clone());
    if cached.is_some() {
        return Ok(cached);
    }
    let api: Api<Object<PersistentVolumeClaim>> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api.get_opt(name).await?.and_then(|o| o.object))
}

pub(super) async fn sync(volume: &PersistentVolume, ctx: &Context) -> Result<Action, Error> {
    if volume.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    // The binder's own newer write, if the cache is behind.
    let volume = &ctx.newest(volume);
    let Some(claim_ref) = volume.spec.as_ref().and_then(|s| s.claim_ref.clone()) else {
        if phase(volume) != "Available" {
            set_status(ctx, volume, json!({"phase": "Available"})).await?;
        }
        return Ok(Action::await_change());
    };
    let uid = claim_ref.uid.clone().unwrap_or_default();
    if uid.is_empty() {
        // Pre-bound to a claim not bound yet.
        if phase(volume) != "Available" {
            set_status(ctx, volume, json!({"phase": "Available"})).await?;
        }
        return Ok(Action::await_change());
    }
    let namespace = claim_ref.namespace.clone().unwrap_or_default();
    let name = claim_ref.name.clone().unwrap_or_default();
    let claim = claim_of(ctx, &namespace, &name).await?;
    let claim = claim.filter(|c| c.metadata.uid.as_deref() == Some(uid.as_str()));
    let Some(claim) = claim else {
        return released(volume, ctx).await;
    };
    let bound_to = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default();
    if bound_to.is_empty() {
        // The claim's sync finishes the binding.
        return Ok(Action::await_change());
    }
    if bound_to == volume.name_any() {
        if phase(volume) != "Bound" {
            set_status(ctx, volume, json!({"phase": "Bound"})).await?;
        }
        return Ok(Action::await_change());
    }
    // The claim is bound to another volume: give this one back.
    let ours = volume.annotations().get(BOUND_BY_CONTROLLER).is_some();
    let spec_patch = match ours {
        true => json!({"claimRef": null}),
        false => json!({"claimRef": {"uid": null, "resourceVersion": null}}),
    };
    let patch = json!({"metadata": {"resourceVersion": volume.metadata.resource_version,
        "annotations": {BOUND_BY_CONTROLLER: null}}, "spec": spec_patch});
    let api: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    let written = api
        .patch(
            &volume.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    if let Some(v) = written.object {
        ctx.assume(v.clone());
        set_status(ctx, &v, json!({"phase": "Available"})).await?;
    }
    Ok(Action::await_change())
}

/// The volume's claim is gone: Released, then its reclaim policy.
async fn released(volume: &PersistentVolume, ctx: &Context) -> Result<Action, Error> {
    if phase(volume) == "Failed" {
        return Ok(Action::await_change());
    }
    if phase(volume) != "Released" {
        set_status(ctx, volume, json!({"phase": "Released"})).await?;
    }
    let policy = volume
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        .unwrap_or("Retain");
    let failed = match policy {
        // A provisioner's volume is deleted by that provisioner.
        "Delete" if volume.annotations().contains_key(PROVISIONED_BY) => None,
        "Delete" => Some((
            "VolumeFailedDelete",
            format!(
                "error getting deleter volume plugin for volume \"{}\": no deletable volume plugin matched",
                volume.name_any()
            ),
        )),
        "Recycle" => Some((
            "VolumeFailedRecycle",
            "No recycler plugin found for the volume!".to_string(),
        )),
        _ => None,
    };
    if let Some((reason, message)) = failed {
        tell_volume(ctx, volume, "Warning", reason, &message).await;
        set_status(ctx, volume, json!({"phase": "Failed", "message": message})).await?;
    }
    Ok(Action::await_change())
}
