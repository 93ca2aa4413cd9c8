//! Pod Security label synchronisation (OpenShift's cluster-policy-controller
//! `pod-security-admission-label-synchronization-controller`): every namespace that is not
//! the platform's and has not opted out (`security.openshift.io/scc.podSecurityLabelSync`)
//! gets the `audit` and `warn` Pod Security labels (and their versions) of the most
//! privileged SCC its service accounts may use (listed in the SCC's users or groups, or
//! granted `use` by RBAC in the namespace), so workloads admitted by their SCC draw no
//! warnings. Labels someone else set are kept; `enforce` is left to administrators.
//!
//! RBAC and SCCs are judged locally (`auth::rbac`), not by subject access reviews. The
//! cluster-wide objects are read from watch caches, and a change of one brings every
//! namespace back once the cache holds it. A namespace's own roles, bindings and service
//! accounts are listed when it is judged, and a change of one brings only its namespace back:
//! read from a cache, a binding could wake its namespace before that cache held it, and the
//! namespace would be judged without it.

pub mod decide;

use std::sync::Arc;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use crate::Error;
use crate::backoff::Retries;
use crate::lenient::{self, Meta, Object};
use decide::{Level, MANAGER, UID_RANGE, controlled, label_owners, scc_level, wanted_labels};

struct Context {
    client: Client,
    cluster_roles: Store<Object<ClusterRole>>,
    cluster_role_bindings: Store<Object<ClusterRoleBinding>>,
    sccs: Store<Object<DynamicObject>>,
    retries: Retries,
}

fn scc_resource() -> ApiResource {
    ApiResource {
        group: "security.openshift.io".into(),
        version: "v1".into(),
        api_version: "security.openshift.io/v1".into(),
        kind: "SecurityContextConstraints".into(),
        plural: "securitycontextconstraints".into(),
    }
}

fn sccs(client: &Client) -> Api<Object<DynamicObject>> {
    Api::all_with(client.clone(), &scc_resource())
}

async fn reconcile(ns: Arc<Object<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    let action = converge(&ns, &ctx).await?;
    ctx.retries.succeeded(&name);
    Ok(action)
}

async fn converge(ns: &Object<Namespace>, ctx: &Context) -> Result<Action, Error> {
    let Some(namespace) = ns.object.as_ref() else {
        return Ok(Action::await_change());
    };
    let meta = &namespace.metadata;
    let name = meta.name.clone().unwrap_or_default();
    let labels = meta.labels.clone().unwrap_or_default();
    let terminating = meta.deletion_timestamp.is_some()
        || namespace.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Terminating");
    // A namespace is judged once it has its UID range (the SCCs' ranges come from it).
    let allocated = meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(UID_RANGE));
    if !controlled(&name, &labels) || terminating || !allocated {
        return Ok(Action::await_change());
    }
    // Nothing is judged on a partial view of RBAC or the SCCs.
    ctx.cluster_roles.wait_until_ready().await.ok();
    ctx.cluster_role_bindings.wait_until_ready().await.ok();
    ctx.sccs.wait_until_ready().await.ok();
    let accounts: Api<Meta<ServiceAccount>> = Api::namespaced(ctx.client.clone(), &name);
    let accounts: Vec<String> = accounts
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|a| a.name_any())
        .collect();
    if accounts.is_empty() {
        return Ok(Action::await_change());
    }
    let all = ListParams::default();
    let roles = lenient::list(&Api::namespaced(ctx.client.clone(), &name), &all).await?;
    let bindings = lenient::list(&Api::namespaced(ctx.client.clone(), &name), &all).await?;
    let level = namespace_level(ctx, &name, &accounts, roles, bindings);
    let owners = label_owners(&serde_json::to_value(&meta.managed_fields).unwrap_or_default());
    let Some(wanted) = wanted_labels(level, &labels, &owners) else {
        return Ok(Action::await_change());
    };
    // Guarded by the version judged: a namespace changed meanwhile comes back.
    let patch = json!({"metadata": {"resourceVersion": meta.resource_version, "labels": wanted}});
    let params = PatchParams {
        field_manager: Some(MANAGER.into()),
        ..PatchParams::default()
    };
    let namespaces: Api<Meta<Namespace>> = Api::all(ctx.client.clone());
    match namespaces
        .patch(&name, &params, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

/// The most privileged level of the SCCs any of the namespace's service accounts may use,
/// with the namespace's own roles and bindings.
fn namespace_level(
    ctx: &Context,
    namespace: &str,
    accounts: &[String],
    roles: Vec<Role>,
    bindings: Vec<RoleBinding>,
) -> Level {
    let policy = auth::rbac::Policy::new(
        ctx.cluster_roles
            .state()
            .iter()
            .filter_map(|o| o.object.clone()),
        roles,
        ctx.cluster_role_bindings
            .state()
            .iter()
            .filter_map(|o| o.object.clone()),
        bindings,
    );
    let subjects: Vec<auth::rbac::UserInfo> = accounts
        .iter()
        .map(|sa| auth::rbac::UserInfo {
            name: format!("system:serviceaccount:{namespace}:{sa}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
            ..Default::default()
        })
        .collect();
    let mut level = Level::Restricted;
    for scc in ctx.sccs.state() {
        let Some(object) = scc.object.as_ref() else {
            continue;
        };
        let Ok(scc) = serde_json::to_value(object) else {
            continue;
        };
        let scc_level = scc_level(&scc);
        // The least restrictive level any usable SCC allows.
        if scc_level < level
            && subjects
                .iter()
                .any(|s| may_use(&policy, &scc, s, namespace))
        {
            level = scc_level;
        }
    }
    level
}

fn may_use(
    policy: &auth::rbac::Policy,
    scc: &Value,
    who: &auth::rbac::UserInfo,
    namespace: &str,
) -> bool {
    let listed = |field: &str| -> Vec<&str> {
        scc[field]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect()
    };
    if listed("users").contains(&who.name.as_str())
        || listed("groups")
            .iter()
            .any(|g| who.groups.iter().any(|w| w == g))
    {
        return true;
    }
    policy
        .authorize(
            who,
            &auth::rbac::Attributes {
                verb: "use".into(),
                namespace: namespace.into(),
                api_group: "security.openshift.io".into(),
                resource: "securitycontextconstraints".into(),
                name: scc["metadata"]["name"].as_str().unwrap_or_default().into(),
                resource_request: true,
                ..Default::default()
            },
        )
        .allowed()
}

fn error_policy(ns: Arc<Object<Namespace>>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = ns.name_any();
    let delay = ctx.retries.failed(&name);
    tracing::warn!(%error, namespace = %name, ?delay, "pod security label synchronisation: retrying");
    Action::requeue(delay)
}

/// A cache of `api`'s objects, and a stream of its changes once listed (the initial list
/// counts as one change, when complete).
fn cached<K>(
    api: Api<K>,
    kind: K::DynamicType,
) -> (Store<K>, impl Stream<Item = ()> + Send + 'static)
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    let writer = reflector::store::Writer::new(kind);
    let store = writer.as_reader();
    let feed = reflector::reflector(writer, watcher::watcher(api, watcher::Config::default()))
        .default_backoff()
        .filter_map(|event| {
            futures::future::ready(match event {
                Ok(
                    watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone,
                ) => Some(()),
                _ => None,
            })
        });
    (store, feed)
}

fn namespace_of<K: kube::Resource>(obj: &K) -> Option<ObjectRef<Object<Namespace>>> {
    obj.meta()
        .namespace
        .as_deref()
        .map(ObjectRef::<Object<Namespace>>::new)
}

pub async fn run(client: Client) {
    let (cluster_roles, cluster_roles_feed) =
        cached(Api::<Object<ClusterRole>>::all(client.clone()), ());
    let (cluster_role_bindings, bindings_feed) =
        cached(Api::<Object<ClusterRoleBinding>>::all(client.clone()), ());
    let (scc_store, sccs_feed) = cached(sccs(&client), scc_resource());
    let ctx = Arc::new(Context {
        client: client.clone(),
        cluster_roles,
        cluster_role_bindings,
        sccs: scc_store,
        retries: Retries::new(),
    });
    let cluster_wide = futures::stream::select_all([
        cluster_roles_feed.boxed(),
        bindings_feed.boxed(),
        sccs_feed.boxed(),
    ]);
    // Roles, bindings and service accounts wake their namespace, which lists them afresh.
    Controller::new(
        Api::<Object<Namespace>>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Meta<ServiceAccount>>::all(client),
        watcher::Config::default(),
        |sa| namespace_of(&sa),
    )
    .watches(
        Api::<Meta<Role>>::all(ctx.client.clone()),
        watcher::Config::default(),
        |role| namespace_of(&role),
    )
    .watches(
        Api::<Meta<RoleBinding>>::all(ctx.client.clone()),
        watcher::Config::default(),
        |binding| namespace_of(&binding),
    )
    .reconcile_all_on(cluster_wide)
    .run(reconcile, error_policy, ctx)
    .for_each(|_| futures::future::ready(()))
    .await;
}
