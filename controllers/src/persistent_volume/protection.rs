//! The pvc-protection and pv-protection controllers: a claim being deleted keeps its
//! `kubernetes.io/pvc-protection` finalizer while a pod that has not ended uses it; a volume
//! being deleted keeps `kubernetes.io/pv-protection` while it is Bound.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::backoff::{Retries, key_of};
use crate::lenient::{self, Object};

pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";

struct Context {
    client: Client,
    retries: Retries,
}

/// Whether a pod that has not ended names the claim.
pub fn uses(pod: &Pod, claim: &str) -> bool {
    let ended = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    !ended
        && pod
            .spec
            .iter()
            .flat_map(|s| s.volumes.iter().flatten())
            .any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
}

/// Removes `finalizer`, guarded by the object's revision (a concurrent change retries).
async fn release<K>(api: &Api<Object<K>>, obj: &K, finalizer: &str) -> Result<(), Error>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let kept: Vec<&String> = obj
        .finalizers()
        .iter()
        .filter(|f| f.as_str() != finalizer)
        .collect();
    let patch = json!({"metadata": {"finalizers": kept,
        "resourceVersion": obj.meta().resource_version}});
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn sync_claim(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    let has = claim.finalizers().iter().any(|f| f == PVC_PROTECTION);
    if claim.metadata.deletion_timestamp.is_none() || !has {
        return Ok(Action::await_change());
    }
    let ns = claim.namespace().unwrap_or_default();
    let pods: Api<Object<Pod>> = Api::namespaced(ctx.client.clone(), &ns);
    let name = claim.name_any();
    let in_use = lenient::list(&pods, &ListParams::default())
        .await?
        .iter()
        .any(|p| uses(p, &name));
    if !in_use {
        release(
            &Api::namespaced(ctx.client.clone(), &ns),
            claim,
            PVC_PROTECTION,
        )
        .await?;
    }
    Ok(Action::await_change())
}

async fn sync_volume(volume: &PersistentVolume, ctx: &Context) -> Result<Action, Error> {
    let has = volume.finalizers().iter().any(|f| f == PV_PROTECTION);
    if volume.metadata.deletion_timestamp.is_none() || !has {
        return Ok(Action::await_change());
    }
    let bound = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound");
    if !bound {
        release(&Api::all(ctx.client.clone()), volume, PV_PROTECTION).await?;
    }
    Ok(Action::await_change())
}

async fn reconcile_claim(
    obj: Arc<Object<PersistentVolumeClaim>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(claim) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = format!("pvc/{}", key_of(&obj.metadata.meta));
    ctx.retries.track(&key, sync_claim(claim, &ctx)).await
}

async fn reconcile_volume(
    obj: Arc<Object<PersistentVolume>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(volume) = obj.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let key = format!("pv/{}", key_of(&obj.metadata.meta));
    ctx.retries.track(&key, sync_volume(volume, &ctx)).await
}

/// Runs both protection controllers until the process ends.
pub async fn run(client: Client) {
    let ctx = Arc::new(Context {
        client: client.clone(),
        retries: Retries::new(),
    });
    let claims = Controller::new(
        Api::<Object<PersistentVolumeClaim>>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Object<Pod>>::all(client.clone()),
        watcher::Config::default(),
        |pod| {
            let ns = pod.namespace().unwrap_or_default();
            pod.object
                .iter()
                .flat_map(|p| p.spec.iter().flat_map(|s| s.volumes.iter().flatten()))
                .filter_map(|v| v.persistent_volume_claim.as_ref())
                .map(|c| ObjectRef::new(&c.claim_name).within(&ns))
                .collect::<Vec<_>>()
        },
    )
    .run(
        reconcile_claim,
        |obj, error, ctx: Arc<Context>| {
            let key = format!("pvc/{}", key_of(&obj.metadata.meta));
            ctx.retries.retry("pvc-protection-controller", &key, error)
        },
        ctx.clone(),
    )
    .for_each(|_| futures::future::ready(()));
    let volumes = Controller::new(
        Api::<Object<PersistentVolume>>::all(client),
        watcher::Config::default(),
    )
    .run(
        reconcile_volume,
        |obj, error, ctx: Arc<Context>| {
            let key = format!("pv/{}", key_of(&obj.metadata.meta));
            ctx.retries.retry("pv-protection-controller", &key, error)
        },
        ctx,
    )
    .for_each(|_| futures::future::ready(()));
    tokio::join!(claims, volumes);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_pods_that_have_not_ended_use_a_claim() {
        let pod = |phase: &str| -> Pod {
            serde_json::from_value(json!({"spec": {"containers": [],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]},
                "status": {"phase": phase}}))
            .unwrap()
        };
        assert!(uses(&pod("Running"), "data"));
        assert!(uses(&pod("Pending"), "data"));
        assert!(!uses(&pod("Succeeded"), "data"));
        assert!(!uses(&pod("Running"), "other"));
    }
}
