//! The local provisioner (`oxshift.io/local-path`, as k3s's local-path-provisioner): a claim
//! that the binder handed to it gets a directory under this node's storage directory and a
//! `hostPath` PersistentVolume bound to it, with node affinity to this node. Claims of a
//! `WaitForFirstConsumer` class are provisioned by the node the scheduler selected; others
//! by whichever node creates the volume first (its name comes from the claim's uid, so only
//! one can). A released volume with the `Delete` policy loses its directory, then its
//! object. A volume is made, or grown (`resize.rs`), only when the storage directory's file
//! system has the room; a directory has no quota, so what a pod writes is not limited.

pub mod paths;
mod resize;

use std::path::PathBuf;
use std::sync::Arc;

use controllers::backoff::{Retries, key_of};
use controllers::events::{self, Involved};
use controllers::lenient::Object;
use controllers::persistent_volume::annotations::*;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const COMPONENT: &str = "oxshift.io/local-path";
const HOSTNAME: &str = "kubernetes.io/hostname";
/// How soon a claim refused for want of space is tried again.
const NO_ROOM_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

struct Context {
    client: Client,
    node: String,
    /// The storage directory, absolute and with its links resolved.
    root: PathBuf,
    retries: Retries,
}

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("{}", controllers::logs::describe(.0))]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Io(String),
}

fn claim_involved(claim: &PersistentVolumeClaim) -> Involved<'_> {
    Involved {
        api_version: "v1",
        kind: "PersistentVolumeClaim",
        namespace: claim.metadata.namespace.as_deref().unwrap_or_default(),
        name: claim.metadata.name.as_deref().unwrap_or_default(),
        uid: claim.metadata.uid.as_deref().unwrap_or_default(),
    }
}

async fn tell(
    ctx: &Context,
    claim: &PersistentVolumeClaim,
    type_: &str,
    reason: &str,
    message: &str,
) {
    events::record(
        &ctx.client,
        COMPONENT,
        &claim_involved(claim),
        type_,
        reason,
        message,
    )
    .await;
}

fn annotation<'a>(obj: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    obj.annotations().get(key).map(String::as_str)
}

/// Why this provisioner cannot make the claim's volume, if it cannot.
fn unsupported(claim: &PersistentVolumeClaim) -> Option<&'static str> {
    let spec = claim.spec.as_ref()?;
    if spec.volume_mode.as_deref() == Some("Block") {
        return Some("Only support volumeMode Filesystem");
    }
    let modes = spec.access_modes.iter().flatten();
    let shared = modes
        .clone()
        .any(|m| m == "ReadWriteMany" || m == "ReadOnlyMany");
    shared.then_some("NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes")
}

/// The volume of a claim, on this node, at `path`.
fn volume_for(
    claim: &PersistentVolumeClaim,
    class: &StorageClass,
    node: &str,
    path: &str,
) -> Value {
    let spec = claim.spec.clone().unwrap_or_default();
    let storage = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned();
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": format!("pvc-{}", claim.metadata.uid.as_deref().unwrap_or_default()),
            "annotations": {PROVISIONED_BY: LOCAL_PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": storage},
            "accessModes": spec.access_modes,
            "persistentVolumeReclaimPolicy": class.reclaim_policy.as_deref().unwrap_or("Delete"),
            "storageClassName": class.metadata.name,
            "volumeMode": spec.volume_mode.unwrap_or_else(|| "Filesystem".into()),
            "mountOptions": class.mount_options,
            "hostPath": {"path": path, "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME, "operator": "In", "values": [node]}]}]}},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "namespace": claim.metadata.namespace, "name": claim.metadata.name,
                "uid": claim.metadata.uid, "resourceVersion": claim.metadata.resource_version},
        },
    })
}

/// Whether this node makes the claim's volume.
fn is_ours(claim: &PersistentVolumeClaim, class: &StorageClass, node: &str) -> bool {
    let delayed = class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer");
    !delayed || annotation(claim, SELECTED_NODE) == Some(node)
}

async fn provision(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    let class_name = controllers::persistent_volume::matching::claim_class(claim);
    let classes: Api<StorageClass> = Api::all(ctx.client.clone());
    let Some(class) = classes.get_opt(class_name).await? else {
        return Ok(Action::await_change());
    };
    if class.provisioner != LOCAL_PROVISIONER || !is_ours(claim, &class, &ctx.node) {
        return Ok(Action::await_change());
    }
    let failed =
        |why: &str| format!("failed to provision volume with StorageClass \"{class_name}\": {why}");
    if let Some(why) = unsupported(claim) {
        tell(ctx, claim, "Warning", "ProvisioningFailed", &failed(why)).await;
        return Ok(Action::await_change());
    }
    let (ns, name) = (claim.namespace().unwrap_or_default(), claim.name_any());
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let Some(dir) = paths::volume_dir(&ctx.root, &uid, &ns, &name) else {
        tell(
            ctx,
            claim,
            "Warning",
            "ProvisioningFailed",
            &failed("the claim's name makes no directory"),
        )
        .await;
        return Ok(Action::await_change());
    };
    let message = format!("External provisioner is provisioning volume for claim \"{ns}/{name}\"");
    tell(ctx, claim, "Normal", "Provisioning", &message).await;
    let wanted = controllers::persistent_volume::matching::requested(claim).unwrap_or(0);
    if let Some(why) = no_room(ctx, bytes_of(wanted)).await {
        tell(ctx, claim, "Warning", "ProvisioningFailed", &failed(&why)).await;
        // The space may come free: asked again later, as the provisioner retries.
        return Ok(Action::requeue(NO_ROOM_RETRY));
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    // World-writable, as local-path-provisioner makes them: pods run with arbitrary UIDs.
    set_mode(&dir, 0o777)?;
    let volume = volume_for(claim, &class, &ctx.node, &dir.to_string_lossy());
    let volume: PersistentVolume =
        serde_json::from_value(volume).map_err(|e| Error::Io(e.to_string()))?;
    let volumes: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    match volumes
        .create(&PostParams::default(), &Object::new(volume))
        .await
    {
        Ok(made) => {
            let made = made.metadata.meta.name.unwrap_or_default();
            let message = format!("Successfully provisioned volume {made}");
            tell(ctx, claim, "Normal", "ProvisioningSucceeded", &message).await;
        }
        // Another node made it first: this directory is not used.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let _ = std::fs::remove_dir(&dir);
        }
        Err(e) => {
            let _ = std::fs::remove_dir(&dir);
            tell(
                ctx,
                claim,
                "Warning",
                "ProvisioningFailed",
                &failed(&controllers::logs::describe(&e)),
            )
            .await;
            return Err(e.into());
        }
    }
    Ok(Action::await_change())
}

fn set_mode(path: &std::path::Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// This node's volume of a claim (the one it is bound to), if any.
async fn our_volume(
    claim: &PersistentVolumeClaim,
    ctx: &Context,
) -> Result<Option<PersistentVolume>, Error> {
    let name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .unwrap_or_default();
    if name.is_empty() {
        return Ok(None);
    }
    let volumes: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    let volume = volumes.get_opt(name).await?.and_then(|o| o.object);
    Ok(volume.filter(|v| is_mine(v, &ctx.node)))
}

/// `bytes` as a binary quantity, rounded down to MiB.
fn mebibytes(bytes: u64) -> String {
    format!("{}Mi", bytes >> 20)
}

/// Bytes of a quantity's milli-bytes.
fn bytes_of(milli: i64) -> u64 {
    u64::try_from(milli / 1000).unwrap_or(0)
}

/// Why the storage directory cannot take `bytes` more, if it cannot.
async fn no_room(ctx: &Context, bytes: u64) -> Option<String> {
    let free = crate::disk::space(&ctx.root).await?.available;
    (bytes > free).then(|| {
        format!(
            "insufficient capacity: {} more needed, {} free on node \"{}\"",
            mebibytes(bytes),
            mebibytes(free),
            ctx.node
        )
    })
}

async fn patch_claim_status(
    ctx: &Context,
    claim: &PersistentVolumeClaim,
    patch: &Value,
) -> Result<(), Error> {
    let claims: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
    claims
        .patch_status(
            &claim.name_any(),
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await?;
    Ok(())
}

/// A bound claim asking for more than its volume holds (`resize.rs`): the growth must fit in
/// the storage directory's file system; the volume and then the claim record the new size.
async fn expand(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    // The watch's copy may predate this provisioner's own last writes: read it afresh.
    let claims: Api<Object<PersistentVolumeClaim>> =
        Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
    let Some(claim) = claims
        .get_opt(&claim.name_any())
        .await?
        .and_then(|o| o.object)
    else {
        return Ok(Action::await_change());
    };
    let claim = &claim;
    let Some(volume) = our_volume(claim, ctx).await? else {
        return Ok(Action::await_change());
    };
    let pv = volume.name_any();
    let size = match resize::step(claim, &volume) {
        resize::Step::Nothing => return Ok(Action::await_change()),
        resize::Step::Finish(size) => size,
        resize::Step::Expand(size) => {
            patch_claim_status(ctx, claim, &resize::in_progress(claim, &size)).await?;
            let message = format!("External resizer is resizing volume {pv}");
            tell(ctx, claim, "Normal", "Resizing", &message).await;
            let want = controllers::persistent_volume::matching::requested(claim).unwrap_or(0);
            let have = controllers::persistent_volume::matching::capacity(&volume).unwrap_or(0);
            if let Some(why) = no_room(ctx, bytes_of(want - have)).await {
                patch_claim_status(ctx, claim, &resize::infeasible(claim, &why)).await?;
                let message = format!(
                    "resize volume \"{pv}\" by resizer \"{LOCAL_PROVISIONER}\" failed: {why}"
                );
                tell(ctx, claim, "Warning", "VolumeResizeFailed", &message).await;
                return Ok(Action::await_change());
            }
            let volumes: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
            let patch = json!({"spec": {"capacity": {"storage": size}}});
            volumes
                .patch(&pv, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            size
        }
    };
    patch_claim_status(ctx, claim, &resize::finished(claim, &size)).await?;
    tell(
        ctx,
        claim,
        "Normal",
        "VolumeResizeSuccessful",
        "Resize volume succeeded",
    )
    .await;
    Ok(Action::await_change())
}

async fn sync_claim(claim: &PersistentVolumeClaim, ctx: &Context) -> Result<Action, Error> {
    if claim.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let bound = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|v| !v.is_empty());
    if bound {
        return expand(claim, ctx).await;
    }
    if annotation(claim, STORAGE_PROVISIONER) != Some(LOCAL_PROVISIONER) {
        return Ok(Action::await_change());
    }
    provision(claim, ctx).await
}

/// Whether the volume is one this provisioner made on this node.
fn is_mine(volume: &PersistentVolume, node: &str) -> bool {
    let made = annotation(volume, PROVISIONED_BY) == Some(LOCAL_PROVISIONER);
    let here = volume
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref()?.required.as_ref())
        .is_some_and(|r| {
            r.node_selector_terms.iter().any(|t| {
                t.match_expressions
                    .iter()
                    .flatten()
                    .any(|e| e.key == HOSTNAME && e.values.iter().flatten().any(|v| v == node))
            })
        });
    made && here
}

async fn sync_volume(volume: &PersistentVolume, ctx: &Context) -> Result<Action, Error> {
    let released = volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let spec = volume.spec.clone().unwrap_or_default();
    let delete = spec.persistent_volume_reclaim_policy.as_deref() == Some("Delete");
    if !released
        || !delete
        || !is_mine(volume, &ctx.node)
        || volume.metadata.deletion_timestamp.is_some()
    {
        return Ok(Action::await_change());
    }
    let path = PathBuf::from(spec.host_path.map(|h| h.path).unwrap_or_default());
    let involved = Involved {
        api_version: "v1",
        kind: "PersistentVolume",
        namespace: "",
        name: volume.metadata.name.as_deref().unwrap_or_default(),
        uid: volume.metadata.uid.as_deref().unwrap_or_default(),
    };
    if let Some(why) = paths::refuse_removal(&ctx.root, &path) {
        events::record(
            &ctx.client,
            COMPONENT,
            &involved,
            "Warning",
            "VolumeFailedDelete",
            &why,
        )
        .await;
        return Ok(Action::await_change());
    }
    match std::fs::remove_dir_all(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let why = format!("{}: {e}", path.display());
            events::record(
                &ctx.client,
                COMPONENT,
                &involved,
                "Warning",
                "VolumeFailedDelete",
                &why,
            )
            .await;
            return Err(Error::Io(why));
        }
    }
    let volumes: Api<Object<PersistentVolume>> = Api::all(ctx.client.clone());
    let params = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: volume.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match volumes.delete(&volume.name_any(), &params).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

/// Runs the provisioner for node `node` with volumes under `root` until the agent stops.
pub async fn run(client: Client, node: String, root: PathBuf) {
    if let Err(e) = std::fs::create_dir_all(&root) {
        tracing::warn!(dir = %root.display(), error = %e, "local provisioner: no storage directory");
        return;
    }
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    tracing::info!(dir = %root.display(), "local provisioner running");
    let ctx = Arc::new(Context {
        client: client.clone(),
        node,
        root,
        retries: Retries::new(),
    });
    let claims = Controller::new(
        Api::<Object<PersistentVolumeClaim>>::all(client.clone()),
        watcher::Config::default(),
    )
    .run(
        |obj: Arc<Object<PersistentVolumeClaim>>, ctx: Arc<Context>| async move {
            let Some(claim) = obj.object.as_ref() else {
                return Ok(Action::await_change());
            };
            let key = format!("pvc/{}", key_of(&obj.metadata.meta));
            ctx.retries.track(&key, sync_claim(claim, &ctx)).await
        },
        |obj, error, ctx: Arc<Context>| {
            ctx.retries.retry(
                COMPONENT,
                &format!("pvc/{}", key_of(&obj.metadata.meta)),
                error,
            )
        },
        ctx.clone(),
    )
    .for_each(|_| futures::future::ready(()));
    let volumes = Controller::new(
        Api::<Object<PersistentVolume>>::all(client),
        watcher::Config::default(),
    )
    .run(
        |obj: Arc<Object<PersistentVolume>>, ctx: Arc<Context>| async move {
            let Some(volume) = obj.object.as_ref() else {
                return Ok(Action::await_change());
            };
            let key = format!("pv/{}", key_of(&obj.metadata.meta));
            ctx.retries.track(&key, sync_volume(volume, &ctx)).await
        },
        |obj, error, ctx: Arc<Context>| {
            ctx.retries.retry(
                COMPONENT,
                &format!("pv/{}", key_of(&obj.metadata.meta)),
                error,
            )
        },
        ctx,
    )
    .for_each(|_| futures::future::ready(()));
    tokio::join!(claims, volumes);
}
