//! One claim's sync, as upstream's `syncClaim`: an unbound claim binds to the volume that
//! matches it best, waits for its first consumer, or asks its class's provisioner; a bound
//! claim makes sure both sides say so (or is Lost when its volume is gone).

use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use super::annotations::*;
use super::matching::{self, Node as ChosenNode, Wanted};
use super::{Context, volume_involved};
use crate::Error;
use crate::events;
use crate::lenient::Object;

const WAIT_FOR_FIRST_CONSUMER: &str = "WaitForFirstConsumer";

fn annotation<'a>(obj: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    obj.annotations().get(key).map(String::as_str)
}

fn volume_name(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default()
}

fn phase(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

fn delays_binding(class: Option<&StorageClass>) -> bool {
    class.and_then(|c| c.volume_binding_mode.as_deref()) == Some(WAIT_FOR_FIRST_CONSUMER)
}

pub(super) async fn sync(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    if claim.metadata.deletion_timestamp.is_some() || ctx.bound_earlier(claim) {
        return Ok(Action::await_change());
    }
    match volume_name(claim) {
        "" => unbound(claim, ctx).await,
        name => bound(claim, name, ctx).await,
    }
}

async fn selected_node(client: &Client, claim: &PersistentVolumeClaim) -> Option<Node> {
    let name = annotation(claim, SELECTED_NODE)?;
    Api::<Node>::all(client.clone()).get_opt(name).await.ok()?
}

/// A free volume held for a claim while it is bound: released however the bind ends.
struct Hold<'a> {
    ctx: &'a Context,
    name: String,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.ctx.index().release(&self.name);
    }
}

async fn unbound(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    let class_name = matching::claim_class(claim).to_string();
    let class = ctx.class(&class_name);
    let delayed = delays_binding(class.as_ref());
    let node = selected_node(&ctx.client, claim).await;
    let labels = node
        .as_ref()
        .and_then(|n| n.metadata.labels.clone())
        .unwrap_or_default();
    let chosen_node = node.as_ref().map(|n| ChosenNode {
        name: n.metadata.name.as_deref().unwrap_or_default(),
        labels: &labels,
    });
    ctx.index_caught_up().await;
    let chosen = Wanted::of(claim, delayed, chosen_node.as_ref())
        .and_then(|want| ctx.index().choose(claim, &want));
    if let Some(chosen) = chosen {
        let name = chosen.volume.name_any();
        let _hold = chosen.held.then(|| Hold { ctx, name });
        return bind(claim, (*chosen.volume).clone(), ctx).await;
    }
    if delayed && node.is_none() {
        ctx.tell_claim(
            claim,
            "Normal",
            WAIT_FOR_FIRST_CONSUMER,
            "waiting for first consumer to be created before binding",
        )
        .await;
    } else if !class_name.is_empty() {
        provision(claim, &class_name, class.as_ref(), ctx).await?;
    } else {
        ctx.tell_claim(
            claim,
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set",
        )
        .await;
    }
    Ok(Action::await_change())
}

/// Asks the class's provisioner for a volume (upstream's external provisioning: the claim is
/// annotated with the provisioner's name, which then makes the volume).
async fn provision(
    claim: &PersistentVolumeClaim,
    class_name: &str,
    class: Option<&StorageClass>,
    ctx: &Context,
) -> Result<(), Error> {
    let Some(class) = class else {
        let message = format!("storageclass.storage.k8s.io \"{class_name}\" not found");
        ctx.tell_claim(claim, "Warning", "ProvisioningFailed", &message)
            .await;
        return Ok(());
    };
    let provisioner = class.provisioner.as_str();
    if provisioner == NO_PROVISIONER {
        let message = format!("no volume plugin matched name: {provisioner}");
        ctx.tell_claim(claim, "Warning", "ProvisioningFailed", &message)
            .await;
        return Ok(());
    }
    if annotation(claim, STORAGE_PROVISIONER) != Some(provisioner) {
        let patch = json!({"metadata": {"annotations": {
            STORAGE_PROVISIONER: provisioner, BETA_STORAGE_PROVISIONER: provisioner}}});
        patch_claim(ctx, claim, &patch).await?;
    }
    let message = format!(
        "Waiting for a volume to be created either by the external provisioner '{provisioner}' \
         or manually by the system administrator. If volume creation is delayed, please verify \
         that the provisioner is running and correctly registered."
    );
    ctx.tell_claim(claim, "Normal", "ExternalProvisioning", &message)
        .await;
    Ok(())
}

pub(super) fn claim_ref(
    claim: &PersistentVolumeClaim,
) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("PersistentVolumeClaim".into()),
        namespace: claim.metadata.namespace.clone(),
        name: claim.metadata.name.clone(),
        uid: claim.metadata.uid.clone(),
        resource_version: claim.metadata.resource_version.clone(),
        ..Default::default()
    }
}

async fn patch_claim(
    ctx: &Context,
    claim: &PersistentVolumeClaim,
    patch: &Value,
) -> Result<(), Error> {
    let api: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
    api.patch(
        &claim.name_any(),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(())
}

async fn patch_claim_status(
    ctx: &Context,
    claim: &PersistentVolumeClaim,
    status: Value,
) -> Result<(), Error> {
    let api: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
    api.patch_status(
        &claim.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await?;
    Ok(())
}

/// Upstream's `bind`: the volume's claimRef (guarded by the revision it was chosen at), the
/// volume Bound, the claim's volumeName and annotations, the claim Bound. Each step is skipped
/// when already done, so a sync interrupted anywhere finishes on the next.
async fn bind(
    claim: &PersistentVolumeClaim,
    mut volume: PersistentVolume,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = volume.name_any();
    let volumes: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    let already = volume
        .spec
        .as_ref()
        .and_then(|s| s.claim_ref.as_ref())
        .and_then(|r| r.uid.as_deref())
        .is_some_and(|u| Some(u) == claim.metadata.uid.as_deref());
    if !already {
        let by_controller = volume.spec.as_ref().is_none_or(|s| s.claim_ref.is_none());
        let mut meta = json!({"resourceVersion": volume.metadata.resource_version});
        if by_controller {
            meta["annotations"] = json!({ BOUND_BY_CONTROLLER: YES });
        }
        let patch = json!({"metadata": meta, "spec": {"claimRef": claim_ref(claim)}});
        match volumes
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(written) => match written.object {
                Some(v) => volume = v,
                None => return Ok(Action::await_change()),
            },
            Err(e) => {
                ctx.forget(&name);
                return Err(e.into());
            }
        }
        ctx.assume(volume.clone());
    }
    let volume_phase = volume.status.as_ref().and_then(|s| s.phase.as_deref());
    if volume_phase != Some("Bound") {
        let written = volumes
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Bound"}})),
            )
            .await?;
        if let Some(v) = written.object {
            ctx.assume(v);
        }
    }
    let completed = annotation(claim, BIND_COMPLETED).is_some();
    if volume_name(claim) != name || !completed {
        let mut annotations = json!({ BIND_COMPLETED: YES });
        if volume_name(claim).is_empty() {
            annotations[BOUND_BY_CONTROLLER] = json!(YES);
        }
        // No revision guard: a claim's volumeName is set once (validation refuses a change),
        // so a concurrent writer cannot be overwritten.
        let patch = json!({"metadata": {"annotations": annotations},
            "spec": {"volumeName": name}});
        patch_claim(ctx, claim, &patch).await?;
    }
    let spec = volume.spec.clone().unwrap_or_default();
    if phase(claim) != "Bound" {
        let status = json!({"phase": "Bound", "accessModes": spec.access_modes,
            "capacity": spec.capacity});
        patch_claim_status(ctx, claim, status).await?;
        ctx.claim_bound(claim, &name);
    }
    Ok(Action::await_change())
}

/// A claim naming its volume: bound to it (finishing the binding if needed), or Lost.
async fn bound(claim: &PersistentVolumeClaim, name: &str, ctx: &Context) -> Result<Action, Error> {
    let Some(volume) = ctx.volume(name).await? else {
        if phase(claim) == "Bound" {
            patch_claim_status(ctx, claim, json!({"phase": "Lost"})).await?;
            ctx.tell_claim(
                claim,
                "Warning",
                "ClaimLost",
                "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
            )
            .await;
        }
        return Ok(Action::await_change());
    };
    let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    match claim_ref {
        None => {
            // Pre-bound by the user: the volume must still satisfy the claim.
            if let Some(why) = matching::mismatch(&volume, claim) {
                let message = format!("Cannot bind to requested volume \"{name}\": {why}");
                ctx.tell_claim(claim, "Warning", "VolumeMismatch", &message)
                    .await;
                return Ok(Action::await_change());
            }
            bind(claim, volume, ctx).await
        }
        Some(_) if matching::is_bound_to(&volume, claim) => bind(claim, volume, ctx).await,
        Some(_) => {
            if phase(claim) == "Bound" {
                patch_claim_status(ctx, claim, json!({"phase": "Lost"})).await?;
                ctx.tell_claim(
                    claim,
                    "Warning",
                    "ClaimMisbound",
                    "Two claims are bound to the same volume, this one is bound incorrectly",
                )
                .await;
            } else {
                let message = format!("volume \"{name}\" already bound to a different claim.");
                ctx.tell_claim(claim, "Warning", "FailedBinding", &message)
                    .await;
            }
            Ok(Action::await_change())
        }
    }
}

/// Records an event on a volume.
pub(super) async fn tell_volume(
    ctx: &Context,
    volume: &PersistentVolume,
    type_: &str,
    reason: &str,
    message: &str,
) {
    events::record(
        &ctx.client,
        super::COMPONENT,
        &volume_involved(volume),
        type_,
        reason,
        message,
    )
    .await;
}
