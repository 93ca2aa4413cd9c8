//! Every namespace gets the `default`, `builder` and `deployer` service accounts, and the
//! role bindings that let builds push images, deployers run deployments and every service
//! account of the namespace pull its images. Deleted ones are recreated.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::Error;
use crate::backoff::Retries;
use crate::lenient::{Meta, Object};
use crate::skipped::Skipped;

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

/// Creates `obj` unless it exists. The answer is decoded leniently: nothing in it is used.
async fn ensure<K>(api: &Api<Object<K>>, obj: K) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), &Object::new(obj)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

struct Context {
    client: Client,
    skipped: Skipped,
    retries: Retries,
}

async fn reconcile(ns: Arc<Meta<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = ns.name_any();
    let action = converge(ns, &ctx).await?;
    ctx.retries.succeeded(&name);
    Ok(action)
}

async fn converge(ns: Arc<Meta<Namespace>>, ctx: &Context) -> Result<Action, Error> {
    // Only the name and the deletion mark are needed: nothing else of the namespace can stop
    // its accounts from being made.
    if ns.metadata.lacks(&["name", "deletionTimestamp"]) {
        ctx.skipped
            .skip("Namespace", &ns.metadata.meta, &ns.metadata.broken);
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    if ns.metadata.meta.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let client = &ctx.client;
    let accounts: Api<Object<ServiceAccount>> = Api::namespaced(client.clone(), &name);
    for sa in SERVICE_ACCOUNTS {
        let obj = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(sa.into()),
                namespace: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        ensure(&accounts, obj).await?;
    }
    let role_bindings: Api<Object<RoleBinding>> = Api::namespaced(client.clone(), &name);
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
        ensure(&role_bindings, obj).await?;
    }
    Ok(Action::await_change())
}

fn error_policy(ns: Arc<Meta<Namespace>>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = ns.name_any();
    let delay = ctx.retries.failed(&name);
    tracing::warn!(%error, namespace = %name, ?delay, "service accounts: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    // Both watches read metadata only, leniently: an object with fields of the wrong types
    // must not stop the lists they start from.
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    let accounts: Api<Meta<ServiceAccount>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        skipped: Skipped::new("service accounts"),
        retries: Retries::new(),
    });
    Controller::new(namespaces, watcher::Config::default())
        // A deleted service account brings its namespace back into the queue.
        .watches(accounts, watcher::Config::default(), |sa| {
            sa.namespace()
                .map(|ns| ObjectRef::<Meta<Namespace>>::new(&ns))
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};
    use serde_json::json;
    use std::time::Duration;

    fn account(ns: &str, name: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "uid": format!("{ns}-{name}"), "resourceVersion": "1"}})
    }

    /// With an account of wrong types in one project, an account deleted in another is made
    /// again: the accounts' watch lists and follows despite the bad one.
    #[tokio::test]
    async fn a_deleted_account_is_made_again_despite_an_undecodable_one() {
        // The deletion is sent once the first reconcile of b is under way (it has asked for
        // builder), so that it cannot be folded into that reconcile and must bring b back.
        let (reconciling, reconciled) = tokio::sync::watch::channel(false);
        let (client, log) = testing::client(move |r| match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/api/v1/namespaces") if r.is_watch() => Reply::Open,
            ("GET", "/api/v1/namespaces") => testing::list(vec![
                json!({"metadata": {"name": "a", "uid": "a"}}),
                json!({"metadata": {"name": "b", "uid": "b"}}),
            ]),
            ("GET", "/api/v1/serviceaccounts") if r.is_watch() => {
                let mut reconciled = reconciled.clone();
                Reply::Events(
                    Box::pin(async move { drop(reconciled.wait_for(|b| *b).await) }),
                    vec![json!({"type": "DELETED", "object": account("b", "builder")})],
                )
            }
            ("GET", "/api/v1/serviceaccounts") => {
                let mut bad = account("a", "deployer");
                bad["automountServiceAccountToken"] = json!("yes");
                testing::list(vec![bad, account("b", "builder")])
            }
            ("POST", "/api/v1/namespaces/b/serviceaccounts")
                if r.body["metadata"]["name"] == "builder" =>
            {
                reconciling.send_replace(true);
                testing::status(409, "AlreadyExists")
            }
            ("POST", _) => testing::status(409, "AlreadyExists"),
            _ => testing::status(404, "NotFound"),
        });
        let builder_posts = || {
            log.lock()
                .unwrap()
                .iter()
                .filter(|r| {
                    r.method == "POST"
                        && r.path == "/api/v1/namespaces/b/serviceaccounts"
                        && r.body["metadata"]["name"] == "builder"
                })
                .count()
        };
        let controller = tokio::spawn(run(client));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while builder_posts() < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        controller.abort();
        assert!(
            builder_posts() >= 2,
            "the deletion was not seen: {} creates",
            builder_posts()
        );
    }
}
