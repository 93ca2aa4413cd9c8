//! Property: whatever wrongly typed value a client puts anywhere in an object, the server either
//! refuses the write (400 or 422, never a 5xx) or stores an object that the typed clients the
//! controllers use can read. So no tenant can store what stalls a controller.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::testing::Cluster;

/// Where a kind is created, a valid object of it, and whether its typed client reads a value.
type Kind = (&'static str, Value, fn(Value) -> bool);

/// Objects of the kinds controllers watch, as their typed clients read them back.
fn kinds() -> Vec<Kind> {
    use k8s_openapi::api::{apps::v1 as apps, core::v1 as core, rbac::v1 as rbac};
    fn reads<T: serde::de::DeserializeOwned>(v: Value) -> bool {
        serde_json::from_value::<T>(v).is_ok()
    }
    vec![
        (
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "c", "labels": {"a": "b"}, "annotations": {"x": "y"}},
                "data": {"k": "v"}}),
            reads::<core::ConfigMap>,
        ),
        (
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"metadata": {"name": "s"}, "automountServiceAccountToken": true,
                "secrets": [{"name": "t"}]}),
            reads::<core::ServiceAccount>,
        ),
        (
            "/api/v1/namespaces/default/secrets",
            json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"k": "dg=="}}),
            reads::<core::Secret>,
        ),
        (
            "/api/v1/namespaces/default/services",
            json!({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "targetPort": 8080}],
                "selector": {"app": "a"}}}),
            reads::<core::Service>,
        ),
        (
            "/apis/apps/v1/namespaces/default/deployments",
            json!({"metadata": {"name": "d"}, "spec": {"replicas": 1,
                "selector": {"matchLabels": {"app": "a"}},
                "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [
                    {"name": "c", "image": "i", "ports": [{"containerPort": 80}],
                     "resources": {"limits": {"cpu": "1"}}}]}}}}),
            reads::<apps::Deployment>,
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
            json!({"metadata": {"name": "r"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "User", "name": "u", "apiGroup": "rbac.authorization.k8s.io"}]}),
            reads::<rbac::RoleBinding>,
        ),
    ]
}

/// Every place in `value` a client could put something else, as JSON pointers.
fn places(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(here.clone());
                places(v, here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let here = format!("{at}/{i}");
                out.push(here.clone());
                places(v, here, out);
            }
        }
        _ => {}
    }
}

/// Values of every JSON type, and numbers at the edges of Go's integer types.
fn wrong_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("x")),
        Just(json!("")),
        Just(json!(5)),
        Just(json!(-1)),
        Just(json!(1.5)),
        Just(serde_json::from_str::<Value>("9223372036854775808").unwrap_or(Value::Null)),
        Just(json!(2147483648_i64)),
        Just(json!(true)),
        Just(json!([1, "a"])),
        Just(json!({"a": 1})),
        Just(Value::Null),
    ]
}

/// One cluster for every case: each case writes an object of its own name.
fn shared() -> &'static (tokio::runtime::Runtime, Cluster) {
    static SHARED: std::sync::OnceLock<(tokio::runtime::Runtime, Cluster)> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let cluster = runtime.block_on(Cluster::with_default_namespace());
        (runtime, cluster)
    })
}

static CASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn wrong_types_are_refused_or_readable(kind in 0usize..6, place in any::<prop::sample::Index>(), wrong in wrong_value()) {
        let (path, base, readable) = kinds().swap_remove(kind);
        let mut places_of = Vec::new();
        places(&base, String::new(), &mut places_of);
        let pointer = place.get(&places_of).clone();
        let mut obj = base.clone();
        if !pointer.starts_with("/metadata/name") {
            let n = CASE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            obj["metadata"]["name"] = json!(format!("case-{n}"));
        }
        if let Some(slot) = obj.pointer_mut(&pointer) {
            *slot = wrong.clone();
        }
        let (runtime, cluster) = shared();
        let (code, stored) = runtime.block_on(async {
            let answer = cluster.post(path, obj.clone()).await;
            (answer.status.as_u16(), answer.body)
        });
        prop_assert!(code < 500, "{pointer} = {wrong}: {code} {stored}");
        if code < 300 {
            prop_assert!(readable(stored.clone()), "{pointer} = {wrong} stored unreadably: {stored}");
        } else {
            prop_assert!(code == 400 || code == 422 || code == 409, "{pointer} = {wrong}: {code} {stored}");
        }
    }
}
