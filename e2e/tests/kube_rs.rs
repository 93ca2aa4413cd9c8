//! kube-rs against the real `oxshift start`: typed CRUD through the admin kubeconfig (client
//! certificate over TLS) and a kube-runtime `watcher` seeing creates, updates and deletes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::{Backend, Cluster};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Api, Client, Config};

/// The label of the test's ConfigMaps: the namespace also holds the published
/// `kube-root-ca.crt`, which the watch and the list leave out by selecting this.
const LABEL: (&str, &str) = ("test", "kube-rs");

fn configmap(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(LABEL.0.to_string(), LABEL.1.to_string())])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("key".to_string(), value.to_string())])),
        ..Default::default()
    }
}

async fn client(c: &Cluster) -> Client {
    let kubeconfig = Kubeconfig::read_from(c.kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// The next event of a watcher, within a deadline.
async fn next<
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
>(
    events: &mut S,
) -> watcher::Event<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("watcher stalled")
        .expect("stream ended")
        .expect("watcher error")
}

fn name_of(event: &watcher::Event<ConfigMap>) -> Option<(&'static str, String)> {
    match event {
        watcher::Event::Apply(cm) => Some(("apply", cm.metadata.name.clone().unwrap_or_default())),
        watcher::Event::Delete(cm) => {
            Some(("delete", cm.metadata.name.clone().unwrap_or_default()))
        }
        _ => None,
    }
}

async fn kube_rs_client(backend: Backend) {
    let c = Cluster::start(backend);
    let api: Api<ConfigMap> = Api::namespaced(client(&c).await, "default");
    api.create(&PostParams::default(), &configmap("before", "1"))
        .await
        .unwrap();

    // The watcher lists first (the initial state, ending with InitDone), then watches.
    let selector = format!("{}={}", LABEL.0, LABEL.1);
    let config = watcher::Config::default().labels(&selector);
    let mut events = Box::pin(watcher(api.clone(), config));
    assert!(matches!(next(&mut events).await, watcher::Event::Init));
    match next(&mut events).await {
        watcher::Event::InitApply(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("before")),
        other => panic!("expected the initial object, got {other:?}"),
    }
    assert!(matches!(next(&mut events).await, watcher::Event::InitDone));

    let created = api
        .create(&PostParams::default(), &configmap("live", "1"))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert_eq!(
        name_of(&next(&mut events).await),
        Some(("apply", "live".to_string()))
    );
    let patch = serde_json::json!({"data": {"key": "2"}});
    let patched = api
        .patch("live", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["key"], "2");
    match next(&mut events).await {
        watcher::Event::Apply(cm) => assert_eq!(cm.data.unwrap()["key"], "2"),
        other => panic!("expected the update, got {other:?}"),
    }
    api.delete("live", &DeleteParams::default()).await.unwrap();
    assert_eq!(
        name_of(&next(&mut events).await),
        Some(("delete", "live".to_string()))
    );
    let listed = api
        .list(&kube::api::ListParams::default().labels(&selector))
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .filter_map(|cm| cm.metadata.name.as_deref())
            .collect::<Vec<_>>(),
        ["before"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_on_the_embedded_store() {
    kube_rs_client(Backend::Embedded).await;
}

#[cfg(feature = "etcd")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_on_etcd() {
    kube_rs_client(Backend::Etcd).await;
}
