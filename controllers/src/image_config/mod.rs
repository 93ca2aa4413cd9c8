//! The cluster image configuration rendered for the nodes: on every change of `Image cluster`,
//! an ImageContentSourcePolicy, an ImageDigestMirrorSet or an ImageTagMirrorSet, or
//! `ImageTrustPolicy cluster`, the files the Machine Config Operator would write
//! (`registries.conf`, `policy.json`, `01-image-searchRegistries.conf`, and the trust
//! policy's lookaside stores as `registries.d/oxshift-sigstore.yaml`) are rendered again
//! into the ConfigMap `openshift-config-managed/node-image-config`, written only when they
//! changed. A trust policy's `keyRef`s are read from `openshift-config` at each rendering.

pub mod render;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{ApiResource, DynamicObject, ListParams, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::Value;

use crate::Error;
use render::{MirrorKind, MirrorSet, RegistrySources};

pub const NAMESPACE: &str = "openshift-config-managed";
pub const CONFIG_MAP: &str = "node-image-config";
/// The files' keys in the ConfigMap.
pub const REGISTRIES_CONF: &str = "registries.conf";
pub const POLICY_JSON: &str = "policy.json";
pub const SEARCH_REGISTRIES_CONF: &str = "01-image-searchRegistries.conf";
/// The registries.d file naming the trust policy's lookaside signature stores.
pub const SIGSTORE_YAML: &str = "oxshift-sigstore.yaml";

const RETRY: Duration = Duration::from_secs(5);

fn image_configs(client: &Client) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "config.openshift.io".into(),
        version: "v1".into(),
        api_version: "config.openshift.io/v1".into(),
        kind: "Image".into(),
        plural: "images".into(),
    };
    Api::all_with(client.clone(), &resource)
}

fn trust_policies(client: &Client) -> Api<DynamicObject> {
    let resource = ApiResource {
        group: "config.oxshift.io".into(),
        version: "v1".into(),
        api_version: "config.oxshift.io/v1".into(),
        kind: "ImageTrustPolicy".into(),
        plural: "imagetrustpolicies".into(),
    };
    Api::all_with(client.clone(), &resource)
}

/// The kinds that name mirrors: (group/version, kind, plural, the spec's list, the kind of
/// mirroring).
const MIRROR_KINDS: [(&str, &str, &str, &str, MirrorKind); 3] = [
    (
        "operator.openshift.io/v1alpha1",
        "ImageContentSourcePolicy",
        "imagecontentsourcepolicies",
        "repositoryDigestMirrors",
        MirrorKind::ContentSource,
    ),
    (
        "config.openshift.io/v1",
        "ImageDigestMirrorSet",
        "imagedigestmirrorsets",
        "imageDigestMirrors",
        MirrorKind::Digest,
    ),
    (
        "config.openshift.io/v1",
        "ImageTagMirrorSet",
        "imagetagmirrorsets",
        "imageTagMirrors",
        MirrorKind::Tag,
    ),
];

fn mirror_objects(
    client: &Client,
    (api_version, kind, plural, ..): MirrorKindRow,
) -> Api<DynamicObject> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let resource = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::all_with(client.clone(), &resource)
}

type MirrorKindRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    MirrorKind,
);

/// Renders at start and after every change, until the process ends.
pub async fn run(client: Client) {
    let images = watcher(image_configs(&client), watcher::Config::default())
        .default_backoff()
        .map(|_| ())
        .boxed();
    let mirrors = MIRROR_KINDS.map(|row| {
        watcher(mirror_objects(&client, row), watcher::Config::default())
            .default_backoff()
            .map(|_| ())
            .boxed()
    });
    let trust = watcher(trust_policies(&client), watcher::Config::default())
        .default_backoff()
        .map(|_| ())
        .boxed();
    let mut changes = futures::stream::select_all(
        std::iter::once(images)
            .chain(std::iter::once(trust))
            .chain(mirrors),
    );
    loop {
        if let Err(e) = reconcile(&client).await {
            tracing::warn!(error = %e, "rendering the node image configuration failed");
            tokio::time::sleep(RETRY).await;
            continue;
        }
        if changes.next().await.is_none() {
            return;
        }
        // A burst of events (a watch's initial list) is rendered once.
        while let Some(Some(())) = changes.next().now_or_never() {}
    }
}

/// The rendered files, by key, from `Image cluster` and the objects naming mirrors (each
/// with the kind of mirroring its kind stands for).
pub fn files(
    image: Option<&Value>,
    mirrors: &[(MirrorKind, Value)],
    trust: Option<&trust::TrustPolicy>,
) -> BTreeMap<String, String> {
    let sources = image
        .map(RegistrySources::from_image_config)
        .unwrap_or_default();
    let sets = mirror_sets(mirrors);
    let mut files = BTreeMap::new();
    files.insert(
        REGISTRIES_CONF.to_string(),
        render::registries_conf(&sources, &sets),
    );
    files.insert(
        POLICY_JSON.to_string(),
        render::policy_json(&sources, trust),
    );
    if let Some(sigstore) = render::sigstore_yaml(trust) {
        files.insert(SIGSTORE_YAML.to_string(), sigstore);
    }
    if let Some(search) = render::search_registries_conf(&sources) {
        files.insert(SEARCH_REGISTRIES_CONF.to_string(), search);
    }
    files
}

/// The mirror sets of the objects naming mirrors: ImageContentSourcePolicies, then
/// ImageDigestMirrorSets, then ImageTagMirrorSets, each kind in name order.
fn mirror_sets(objects: &[(MirrorKind, Value)]) -> Vec<MirrorSet> {
    let mut sorted: Vec<&(MirrorKind, Value)> = objects.iter().collect();
    let rank = |k: MirrorKind| MIRROR_KINDS.iter().position(|row| row.4 == k);
    sorted.sort_by_key(|(kind, o)| {
        (
            rank(*kind),
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    });
    sorted
        .into_iter()
        .flat_map(|(kind, o)| {
            let list = MIRROR_KINDS
                .iter()
                .find(|row| row.4 == *kind)
                .map_or("", |row| row.3);
            images::mirrors::entries(o, list)
                .into_iter()
                .map(move |e| MirrorSet {
                    source: e.source,
                    mirrors: e.mirrors,
                    kind: *kind,
                    never_contact_source: e.never_contact_source,
                })
        })
        .collect()
}

async fn reconcile(client: &Client) -> Result<(), Error> {
    let image = image_configs(client).get_opt("cluster").await?;
    let image = image.map(|i| serde_json::to_value(i).unwrap_or(Value::Null));
    let mut mirrors: Vec<(MirrorKind, Value)> = Vec::new();
    for row in MIRROR_KINDS {
        let listed = mirror_objects(client, row)
            .list(&ListParams::default())
            .await?;
        mirrors.extend(
            listed
                .items
                .into_iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .map(|o| (row.4, o)),
        );
    }
    let trust = trust_policy(client).await?;
    let data = files(image.as_ref(), &mirrors, trust.as_ref());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(NAMESPACE).await?.is_none() {
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(NAMESPACE.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match namespaces.create(&PostParams::default(), &ns).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    match maps.get_opt(CONFIG_MAP).await? {
        None => {
            let map = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(CONFIG_MAP.into()),
                    namespace: Some(NAMESPACE.into()),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            maps.create(&PostParams::default(), &map).await?;
        }
        Some(mut map) if map.data.as_ref() != Some(&data) => {
            map.data = Some(data);
            maps.replace(CONFIG_MAP, &PostParams::default(), &map)
                .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// `ImageTrustPolicy cluster` with its `keyRef`s read; None when there is none (or it does
/// not parse, which validation on write prevents).
async fn trust_policy(client: &Client) -> Result<Option<trust::TrustPolicy>, Error> {
    let Some(obj) = trust_policies(client).get_opt("cluster").await? else {
        return Ok(None);
    };
    let spec = serde_json::to_value(&obj)
        .map(|v| v["spec"].clone())
        .unwrap_or(Value::Null);
    let Ok(mut policy) = trust::TrustPolicy::parse(&spec) else {
        tracing::warn!("ImageTrustPolicy cluster does not parse; not rendered");
        return Ok(None);
    };
    let mut keys = BTreeMap::new();
    for r in policy.key_refs() {
        keys.insert(r.clone(), key_ref_bytes(client, &r).await?);
    }
    policy.resolve_refs(|r| {
        keys.get(r)
            .cloned()
            .unwrap_or_else(|| Err("not read".into()))
    });
    Ok(Some(policy))
}

/// The keyring a `keyRef` names (a ConfigMap's `binaryData` or `data`, a Secret's `data`).
async fn key_ref_bytes(
    client: &Client,
    r: &trust::policy::KeyRef,
) -> Result<Result<Vec<u8>, String>, Error> {
    let ns = trust::policy::KEY_NAMESPACE;
    let found = match r.kind.as_str() {
        "Secret" => Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns)
            .get_opt(&r.name)
            .await?
            .map(|s| s.data.and_then(|mut d| d.remove(&r.key)).map(|b| b.0)),
        _ => Api::<ConfigMap>::namespaced(client.clone(), ns)
            .get_opt(&r.name)
            .await?
            .map(|m| {
                m.binary_data
                    .and_then(|mut d| d.remove(&r.key))
                    .map(|b| b.0)
                    .or_else(|| {
                        m.data
                            .and_then(|mut d| d.remove(&r.key))
                            .map(String::into_bytes)
                    })
            }),
    };
    Ok(match found {
        None => Err("not found".into()),
        Some(None) => Err(format!("it has no key {:?}", r.key)),
        Some(Some(bytes)) => Ok(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_from_the_image_config_and_the_policies() {
        let image = serde_json::json!({"spec": {"registrySources": {
            "blockedRegistries": ["untrusted.com"], "containerRuntimeSearchRegistries": ["reg1.io"]}}});
        let policies = [
            (
                MirrorKind::ContentSource,
                serde_json::json!({"metadata": {"name": "b"}, "spec": {"repositoryDigestMirrors": [
                {"source": "quay.io/x", "mirrors": ["m2.io/x"]}]}}),
            ),
            (
                MirrorKind::ContentSource,
                serde_json::json!({"metadata": {"name": "a"}, "spec": {"repositoryDigestMirrors": [
                {"source": "quay.io/x", "mirrors": ["m1.io/x", "m2.io/x"]}]}}),
            ),
        ];
        let files = files(Some(&image), &policies, None);
        let conf = &files[REGISTRIES_CONF];
        assert!(conf.contains("  location = \"quay.io/x\"\n  mirror-by-digest-only = true\n\n  [[registry.mirror]]\n    location = \"m1.io/x\"\n\n  [[registry.mirror]]\n    location = \"m2.io/x\"\n"), "{conf}");
        assert!(
            conf.contains("  location = \"untrusted.com\"\n  blocked = true\n"),
            "{conf}"
        );
        assert!(files[POLICY_JSON].contains(r#""untrusted.com":[{"type":"reject"}]"#));
        assert_eq!(
            files[SEARCH_REGISTRIES_CONF],
            "unqualified-search-registries = ['reg1.io']\n"
        );
        assert_eq!(super::files(None, &[], None).len(), 2);
    }

    #[test]
    fn digest_and_tag_mirror_sets_are_rendered_as_the_machine_config_operator_does() {
        let mirrors = [
            (
                MirrorKind::Tag,
                serde_json::json!({"metadata": {"name": "t"}, "spec": {"imageTagMirrors": [
                {"source": "registry.example/team", "mirrors": ["127.0.0.1:5000/team"]}]}}),
            ),
            (
                MirrorKind::Digest,
                serde_json::json!({"metadata": {"name": "d"}, "spec": {"imageDigestMirrors": [
                {"source": "quay.io/y", "mirrors": ["127.0.0.1:5000/y"], "mirrorSourcePolicy": "NeverContactSource"}]}}),
            ),
        ];
        let conf = &files(None, &mirrors, None)[REGISTRIES_CONF];
        let digest = conf.find("location = \"quay.io/y\"").expect(conf);
        let tag = conf
            .find("location = \"registry.example/team\"")
            .expect(conf);
        assert!(digest < tag, "digest sets come first: {conf}");
        assert!(
            conf.contains("  location = \"quay.io/y\"\n  blocked = true\n"),
            "{conf}"
        );
        assert!(
            conf.contains("pull-from-mirror = \"digest-only\""),
            "{conf}"
        );
        assert!(conf.contains("pull-from-mirror = \"tag-only\""), "{conf}");
    }
}
