//! Upstream's ServiceAccount admission of new pods: the pod runs as its named account or
//! `default` (named in its spec); a pod that names no pull secrets gets its account's, so
//! that the integrated registry's per-account secrets reach the node; and, unless the pod or
//! its account opts out (`automountServiceAccountToken: false`), every container mounts the
//! projected volume `kube-api-access-<random>` at
//! `/var/run/secrets/kubernetes.io/serviceaccount`: a bound token the node requests, the
//! cluster's CA (`kube-root-ca.crt`) and the namespace.
//!
//! Upstream refuses a pod whose account does not exist yet; here the pod is admitted (with
//! the volume), and its node retries the token until the account exists, since the accounts
//! of a new namespace are made an instant after it.

use serde_json::{Value, json};

use super::Attributes;
use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "ServiceAccount";

/// New pods.
pub fn applies(a: &Attributes<'_>) -> bool {
    a.creates_pod()
}

/// Where the volume is mounted, and its name's prefix, as upstream's.
pub const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
pub const VOLUME_PREFIX: &str = "kube-api-access-";
/// The token's lifetime the volume asks for (upstream's 1 hour + 7 s, which marks it).
const TOKEN_SECONDS: i64 = 3607;

/// The account a pod runs as: `spec.serviceAccountName`, else `default`.
fn account(pod: &Value) -> &str {
    match pod["spec"]["serviceAccountName"].as_str() {
        Some(name) if !name.is_empty() => name,
        _ => "default",
    }
}

/// Whether the pod names pull secrets already (then they are its own choice, as upstream).
fn names_pull_secrets(pod: &Value) -> bool {
    pod["spec"]["imagePullSecrets"]
        .as_array()
        .is_some_and(|list| !list.is_empty())
}

/// What a pod takes from its account: only these fields are decoded.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    #[serde(default)]
    image_pull_secrets: Vec<Value>,
    automount_service_account_token: Option<bool>,
}

/// Admits a pod being created: its account named, its pull secrets, its token volume.
pub async fn admit(server: &ApiServer, pod: &mut Value) -> Result<(), ApiError> {
    let Some(namespace) = pod["metadata"]["namespace"].as_str().map(str::to_string) else {
        return Ok(());
    };
    let name = account(pod).to_string();
    let sa = read_account(server, &namespace, &name).await?;
    if let Some(spec) = pod["spec"].as_object_mut() {
        spec.insert("serviceAccountName".into(), json!(name));
        // The deprecated alias, as the API shows it.
        spec.insert("serviceAccount".into(), json!(name));
    }
    if let Some(sa) = &sa {
        inherit(pod, sa);
    }
    if automounts(pod, sa.as_ref()) {
        mount(pod, &crate::registry::object::generated_name(VOLUME_PREFIX));
    }
    Ok(())
}

/// The account, from the watch cache once it holds this server's own writes of accounts (a
/// pull secret just added is seen); from the store when the cache has not seen it (an
/// account another server made a moment ago).
async fn read_account(
    server: &ApiServer,
    namespace: &str,
    name: &str,
) -> Result<Option<Account>, ApiError> {
    let (def, fresh) = server
        .fresh_named_cache("", "v1", "serviceaccounts")
        .await?;
    if let Some(cache) = fresh
        && let Some(cached) = def.with_key(Some(namespace), name, |key| cache.get(key))
    {
        return Ok(serde_json::from_slice(&cached.json).ok());
    }
    Ok(server
        .get_object(def, Some(namespace), name)
        .await?
        .and_then(|sa| serde_json::from_value(sa).ok()))
}

/// Copies the account's `imagePullSecrets` into a pod being created without any.
fn inherit(pod: &mut Value, sa: &Account) {
    if names_pull_secrets(pod) || sa.image_pull_secrets.is_empty() {
        return;
    }
    if let Some(spec) = pod["spec"].as_object_mut() {
        spec.insert(
            "imagePullSecrets".into(),
            Value::Array(sa.image_pull_secrets.clone()),
        );
    }
}

/// The pod's choice, else its account's, else yes.
fn automounts(pod: &Value, sa: Option<&Account>) -> bool {
    pod["spec"]["automountServiceAccountToken"]
        .as_bool()
        .or_else(|| sa.and_then(|sa| sa.automount_service_account_token))
        .unwrap_or(true)
}

/// The projected volume named `name`, with the defaults the API gives it: built once, as
/// every new pod gets one.
fn token_volume(name: &str) -> Value {
    static VOLUME: std::sync::LazyLock<Value> = std::sync::LazyLock::new(unnamed_token_volume);
    named(&VOLUME, name)
}

/// A container's mount of the volume named `name`, built once.
fn token_mount(name: &str) -> Value {
    static MOUNT: std::sync::LazyLock<Value> =
        std::sync::LazyLock::new(|| json!({"name": "", "readOnly": true, "mountPath": MOUNT_PATH}));
    named(&MOUNT, name)
}

/// A copy of `template` with its `name` set.
fn named(template: &Value, name: &str) -> Value {
    let mut copy = template.clone();
    if let Some(field) = copy.get_mut("name") {
        *field = Value::String(name.to_string());
    }
    copy
}

fn unnamed_token_volume() -> Value {
    json!({
        "name": "",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace",
                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    })
}

/// Mounts the token volume (an existing `kube-api-access-*` one, else `fresh`) in every
/// container and init container that mounts nothing at the path yet; adds the volume if one
/// of them needs it, as upstream's `mountServiceAccountToken`.
fn mount(pod: &mut Value, fresh: &str) {
    let Some(spec) = pod["spec"].as_object_mut() else {
        return;
    };
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str())
        .find(|n| n.starts_with(VOLUME_PREFIX))
        .map(str::to_string);
    let name = existing.clone().unwrap_or_else(|| fresh.to_string());
    let mut needed = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers.iter_mut().filter(|c| c.is_object()) {
            let mounts = &mut container["volumeMounts"];
            let taken = mounts
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["mountPath"] == MOUNT_PATH));
            if taken {
                continue;
            }
            if !mounts.is_array() {
                *mounts = json!([]);
            }
            if let Some(mounts) = mounts.as_array_mut() {
                mounts.push(token_mount(&name));
                needed = true;
            }
        }
    }
    if existing.is_none() && needed {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if !volumes.is_array() {
            *volumes = json!([]);
        }
        if let Some(volumes) = volumes.as_array_mut() {
            volumes.push(token_volume(&name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_account_is_named_or_default() {
        assert_eq!(
            account(&json!({"spec": {"serviceAccountName": "web"}})),
            "web"
        );
        assert_eq!(
            account(&json!({"spec": {"serviceAccountName": ""}})),
            "default"
        );
        assert_eq!(account(&json!({"spec": {}})), "default");
    }

    #[test]
    fn pods_take_their_accounts_pull_secrets_unless_they_name_their_own() {
        let sa: Account = serde_json::from_value(json!({"metadata": {"name": "default"},
            "secrets": [{"name": "t"}], "imagePullSecrets": [{"name": "default-dockercfg-x"}]}))
        .unwrap();
        let mut pod = json!({"spec": {"containers": []}});
        inherit(&mut pod, &sa);
        assert_eq!(
            pod["spec"]["imagePullSecrets"],
            json!([{"name": "default-dockercfg-x"}])
        );
        let mut own = json!({"spec": {"imagePullSecrets": [{"name": "mine"}]}});
        inherit(&mut own, &sa);
        assert_eq!(own["spec"]["imagePullSecrets"], json!([{"name": "mine"}]));
    }

    #[test]
    fn pods_with_their_own_pull_secrets_keep_them() {
        assert!(names_pull_secrets(
            &json!({"spec": {"imagePullSecrets": [{"name": "a"}]}})
        ));
        assert!(!names_pull_secrets(
            &json!({"spec": {"imagePullSecrets": []}})
        ));
        assert!(!names_pull_secrets(&json!({"spec": {}})));
    }

    #[test]
    fn the_pod_or_its_account_may_opt_out_of_the_token() {
        let pod = json!({"spec": {}});
        assert!(automounts(&pod, None));
        let off: Account = serde_json::from_value(
            json!({"metadata": {"name": "x"}, "automountServiceAccountToken": false}),
        )
        .unwrap();
        assert!(!automounts(&pod, Some(&off)));
        let pod_on = json!({"spec": {"automountServiceAccountToken": true}});
        assert!(automounts(&pod_on, Some(&off)));
        let pod_off = json!({"spec": {"automountServiceAccountToken": false}});
        assert!(!automounts(&pod_off, None));
    }

    #[test]
    fn every_container_mounts_the_token_volume_once() {
        let mut pod = json!({"spec": {
            "initContainers": [{"name": "i"}],
            "containers": [
                {"name": "a", "volumeMounts": [{"name": "x", "mountPath": "/x"}]},
                {"name": "b", "volumeMounts": [{"name": "own", "mountPath": MOUNT_PATH}]},
            ],
            "volumes": [{"name": "x", "emptyDir": {}}],
        }});
        mount(&mut pod, "kube-api-access-abcde");
        let spec = &pod["spec"];
        assert_eq!(
            spec["initContainers"][0]["volumeMounts"],
            json!([{"name": "kube-api-access-abcde", "readOnly": true, "mountPath": MOUNT_PATH}])
        );
        assert_eq!(
            spec["containers"][0]["volumeMounts"][1]["name"],
            "kube-api-access-abcde"
        );
        // A container with its own mount there keeps it alone.
        assert_eq!(
            spec["containers"][1]["volumeMounts"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(spec["volumes"][1]["name"], "kube-api-access-abcde");
        assert_eq!(
            spec["volumes"][1]["projected"]["sources"][1]["configMap"]["name"],
            "kube-root-ca.crt"
        );
        assert_eq!(
            spec["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3607
        );
        // A pod that has the volume already (a copy of another pod) keeps its name.
        let mut copy = pod.clone();
        copy["spec"]["containers"][0]["volumeMounts"] = json!([]);
        mount(&mut copy, "kube-api-access-zzzzz");
        assert_eq!(copy["spec"]["volumes"].as_array().unwrap().len(), 2);
        assert_eq!(
            copy["spec"]["containers"][0]["volumeMounts"][0]["name"],
            "kube-api-access-abcde"
        );
        // No container needs it: no volume.
        let mut all_own = json!({"spec": {"containers": [
            {"name": "b", "volumeMounts": [{"name": "own", "mountPath": MOUNT_PATH}]}]}});
        mount(&mut all_own, "kube-api-access-abcde");
        assert!(all_own["spec"]["volumes"].is_null());
    }
}
