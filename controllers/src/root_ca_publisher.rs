//! kube-controller-manager's root CA publisher: every namespace holds the ConfigMap
//! `kube-root-ca.crt` with the cluster's CA bundle under `ca.crt`, which pods' service-account
//! volumes project next to their token. A deleted or altered one is made right again.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::Error;
use crate::backoff::Retries;
use crate::lenient::{Meta, Object};
use crate::skipped::Skipped;

/// The ConfigMap's name and key, as upstream's.
pub const NAME: &str = "kube-root-ca.crt";
pub const KEY: &str = "ca.crt";
const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

struct Context {
    client: Client,
    bundle: String,
    skipped: Skipped,
    retries: Retries,
}

/// The ConfigMap as it should be in `namespace`.
fn wanted(namespace: &str, bundle: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(namespace.into()),
            annotations: Some(BTreeMap::from([(
                DESCRIPTION_ANNOTATION.to_string(),
                DESCRIPTION.to_string(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(KEY.to_string(), bundle.to_string())])),
        ..Default::default()
    }
}

/// Whether `current` holds exactly the bundle (upstream also rewrites a map with extra keys).
fn holds(current: &ConfigMap, bundle: &str) -> bool {
    current
        .data
        .as_ref()
        .is_some_and(|d| d.len() == 1 && d.get(KEY).map(String::as_str) == Some(bundle))
}

async fn reconcile(ns: Arc<Meta<Namespace>>, ctx: Arc<Context>) -> Result<Action, Error> {
    if ns.metadata.lacks(&["name", "deletionTimestamp"]) {
        ctx.skipped
            .skip("Namespace", &ns.metadata.meta, &ns.metadata.broken);
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    if ns.metadata.meta.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let maps: Api<Object<ConfigMap>> = Api::namespaced(ctx.client.clone(), &name);
    match maps.get_opt(NAME).await? {
        None => {
            let made = maps
                .create(
                    &PostParams::default(),
                    &Object::new(wanted(&name, &ctx.bundle)),
                )
                .await;
            match made {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        Some(current) => {
            let intact = current
                .object
                .as_ref()
                .is_some_and(|c| holds(c, &ctx.bundle));
            if !intact {
                let mut next = wanted(&name, &ctx.bundle);
                next.metadata.resource_version = current.metadata.meta.resource_version.clone();
                next.metadata.annotations = Some(
                    current
                        .metadata
                        .meta
                        .annotations
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .chain(next.metadata.annotations.take().unwrap_or_default())
                        .collect(),
                );
                next.metadata.labels = current.metadata.meta.labels.clone();
                maps.replace(NAME, &PostParams::default(), &Object::new(next))
                    .await?;
            }
        }
    }
    ctx.retries.succeeded(&name);
    Ok(Action::await_change())
}

fn error_policy(ns: Arc<Meta<Namespace>>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.retries
        .retry("root CA publisher", &ns.name_any(), error)
}

/// Publishes `bundle` (PEM) in every namespace until the process ends.
pub async fn run(client: Client, bundle: String) {
    let namespaces: Api<Meta<Namespace>> = Api::all(client.clone());
    let maps: Api<Meta<ConfigMap>> = Api::all(client.clone());
    let ctx = Arc::new(Context {
        client,
        bundle,
        skipped: Skipped::new("root CA publisher"),
        retries: Retries::new(),
    });
    let only_ours = watcher::Config::default().fields(&format!("metadata.name={NAME}"));
    Controller::new(namespaces, watcher::Config::default())
        // A changed or deleted map brings its namespace back into the queue.
        .watches(maps, only_ours, |cm| {
            cm.namespace()
                .map(|ns| ObjectRef::<Meta<Namespace>>::new(&ns))
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bundle_is_left_alone() {
        let map = wanted("dev", "PEM");
        assert!(holds(&map, "PEM"));
        assert!(!holds(&map, "OTHER"));
        let mut extra = map.clone();
        extra
            .data
            .as_mut()
            .unwrap()
            .insert("more".into(), "x".into());
        assert!(!holds(&extra, "PEM"));
        assert!(!holds(&ConfigMap::default(), "PEM"));
        assert_eq!(
            map.metadata.annotations.unwrap()[DESCRIPTION_ANNOTATION],
            DESCRIPTION
        );
    }
}
