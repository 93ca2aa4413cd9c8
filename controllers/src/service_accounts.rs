//! Every namespace gets the `default`, `builder` and `deployer` service accounts, and the
//! role bindings that let builds push images, deployers run deployments and every service
//! account of the namespace pull its images. Deleted ones are recreated.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::Error;

pub const SERVICE_ACCOUNTS: [&str; 3] = ["default", "builder", "deployer"];

/// (binding name, cluster role, subject kind, subject name) per namespace `ns`.
fn bindings(ns: &str) -> [(&'static str, &'static str, &'static str, String); 3] {
    [
        (
            "system:image-pullers",
            "system:image-puller",
            "Group",
            format!("system:serviceaccounts:{ns}"),
        ),
        (
            "system:image-builders",
            "system:image-builder",
            "ServiceAccount",
            "builder".into(),
        ),
        (
            "system:deployers",
            "system:deployer",
            "ServiceAccount",
            "deployer".into(),
        ),
    ]
}

/// Creates `obj` unless it exists.
async fn ensure<K>(api: &Api<K>, obj: &K) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn reconcile(ns: Arc<Namespace>, client: Arc<Client>) -> Result<Action, Error> {
    let name = ns.name_any();
    if ns.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let accounts: Api<ServiceAccount> = Api::namespaced((*client).clone(), &name);
    for sa in SERVICE_ACCOUNTS {
        let obj = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(sa.into()),
                namespace: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        ensure(&accounts, &obj).await?;
    }
    let role_bindings: Api<RoleBinding> = Api::namespaced((*client).clone(), &name);
    for (binding, role, kind, subject) in bindings(&name) {
        let obj = RoleBinding {
            metadata: ObjectMeta {
                name: Some(binding.into()),
                namespace: Some(name.clone()),
                ..Default::default()
            },
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "ClusterRole".into(),
                name: role.into(),
            },
            subjects: Some(vec![Subject {
                kind: kind.into(),
                name: subject,
                namespace: (kind == "ServiceAccount").then(|| name.clone()),
                api_group: (kind == "Group").then(|| "rbac.authorization.k8s.io".into()),
            }]),
        };
        ensure(&role_bindings, &obj).await?;
    }
    Ok(Action::await_change())
}

fn error_policy(_: Arc<Namespace>, error: &Error, _: Arc<Client>) -> Action {
    tracing::warn!(%error, "service accounts: retrying");
    Action::requeue(Duration::from_secs(2))
}

pub async fn run(client: Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    Controller::new(namespaces, watcher::Config::default())
        // A deleted service account brings its namespace back into the queue.
        .watches(accounts, watcher::Config::default(), |sa| {
            sa.namespace().map(|ns| ObjectRef::<Namespace>::new(&ns))
        })
        .run(reconcile, error_policy, Arc::new(client))
        .for_each(|_| futures::future::ready(()))
        .await;
}
