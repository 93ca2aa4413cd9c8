//! ResourceQuotas as a project admin meets them: the cluster admin's quota on her project is
//! filled in by the quota controller, twenty pods created at once never take more than it
//! allows (the others refused with upstream's message), deletions give usage back, and
//! `oc describe quota` / `oc get quota` print what kubectl prints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, same_as_kubectl};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;

const PROJECT: &str = "quoted";
const WAIT: Duration = Duration::from_secs(90);

fn client(rt: &tokio::runtime::Runtime, kubeconfig: &str) -> kube::Client {
    rt.block_on(async {
        let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        let mut config = kube::Config::from_custom_kubeconfig(config, &Default::default())
            .await
            .unwrap();
        // Each answer is the server's first, not one after the client's retries.
        config.default_retry = false;
        kube::Client::try_from(config).unwrap()
    })
}

fn pod(name: &str, resources: serde_json::Value) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1",
            "resources": resources}]}
    }))
    .unwrap()
}

#[test]
fn a_project_quota_holds_under_concurrent_creates_and_gives_back_on_deletion() {
    let (_dir, c, home) = cluster_with_alice();
    let alice = alice_in_project(&c, &home, PROJECT);
    let quota = r#"{"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "compute", "namespace": "quoted"},
        "spec": {"hard": {"pods": "5", "requests.cpu": "1", "requests.memory": "1Gi"}}}"#;
    c.kubectl_ok(&["create", "-f", &c.file("quota.json", quota)]);
    let best_effort = r#"{"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "best-effort", "namespace": "quoted"},
        "spec": {"hard": {"pods": "2"}, "scopes": ["NotTerminating", "BestEffort"]}}"#;
    c.kubectl_ok(&["create", "-f", &c.file("best-effort.json", best_effort)]);
    let ns = ["resourcequota", "compute", "-n", PROJECT];
    c.wait_for(&ns, "{.status.used.pods}", "0", WAIT);
    let scoped = ["resourcequota", "best-effort", "-n", PROJECT];
    c.wait_for(&scoped, "{.status.used.pods}", "0", WAIT);

    // Twenty creates at once against room for five.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pods: Api<Pod> = Api::namespaced(client(&rt, &alice), PROJECT);
    let requests = serde_json::json!({"requests": {"cpu": "100m", "memory": "64Mi"}});
    let results = rt.block_on(futures::future::join_all((0..20).map(|i| {
        let (pods, pod) = (pods.clone(), pod(&format!("p-{i}"), requests.clone()));
        async move { pods.create(&PostParams::default(), &pod).await }
    })));
    let mut created = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(_) => created.push(format!("p-{i}")),
            Err(kube::Error::Api(e)) => {
                assert_eq!(e.code, 403, "{e:?}");
                assert_eq!(
                    e.message,
                    format!(
                        "pods \"p-{i}\" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=5, limited: pods=5"
                    )
                );
            }
            Err(e) => panic!("p-{i}: {e}"),
        }
    }
    assert_eq!(created.len(), 5, "created {created:?}");
    let stored = c.kubectl_ok(&["get", "pods", "-n", PROJECT, "-o", "name"]);
    assert_eq!(stored.lines().count(), 5, "{stored}");
    c.wait_for(
        &ns,
        "{.status.used.pods} {.status.used.requests\\.cpu} {.status.used.requests\\.memory}",
        "5 500m 320Mi",
        WAIT,
    );

    // A pod that leaves out what the quota limits is refused before it is counted.
    let bare = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]}}"#;
    let file = c.file("bare.json", bare);
    let out = c.kubectl(&["--kubeconfig", &alice, "-n", PROJECT, "create", "-f", &file]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": pods \"bare\" is forbidden: failed quota: compute: must specify requests.cpu for: c; requests.memory for: c\n"
        )
    );

    // The project admin reads the quota as kubectl shows it.
    for args in [
        &["describe", "quota", "compute", "-n", PROJECT][..],
        &["describe", "quota", "best-effort", "-n", PROJECT],
        &["get", "quota", "-n", PROJECT],
        &["get", "quota", "compute", "-n", PROJECT, "-o", "wide"],
    ] {
        same_as_kubectl(&c, &home, &alice, args);
    }
    let described = c.kubectl_ok(&["describe", "quota", "compute", "-n", PROJECT]);
    let row = |name: &str| {
        described
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
    };
    assert_eq!(row("pods").as_deref(), Some("pods 5 5"), "{described}");
    assert_eq!(
        row("requests.memory").as_deref(),
        Some("requests.memory 320Mi 1Gi")
    );

    // Deletions give their usage back, and the room is usable again.
    for name in &created[..2] {
        c.kubectl_ok(&[
            "--kubeconfig",
            &alice,
            "-n",
            PROJECT,
            "delete",
            "pod",
            name,
            "--grace-period=0",
            "--force",
        ]);
    }
    c.wait_for(
        &ns,
        "{.status.used.pods} {.status.used.requests\\.cpu}",
        "3 300m",
        WAIT,
    );
    rt.block_on(pods.create(&PostParams::default(), &pod("again", requests)))
        .unwrap();
    c.wait_for(&ns, "{.status.used.pods}", "4", WAIT);
    // The scoped quota never counted pods that ask for cpu and memory.
    c.wait_for(&scoped, "{.status.used.pods}", "0", WAIT);

    // Any stored kind is counted as `count/<resource>.<group>`.
    let objects = r#"{"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "objects", "namespace": "quoted"},
        "spec": {"hard": {"count/imagestreams.image.openshift.io": "1"}}}"#;
    c.kubectl_ok(&["create", "-f", &c.file("objects.json", objects)]);
    let counted = ["resourcequota", "objects", "-n", PROJECT];
    let path = "{.status.used.count/imagestreams\\.image\\.openshift\\.io}";
    c.wait_for(&counted, path, "0", WAIT);
    let stream = |name: &str| {
        let body = format!(
            r#"{{"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {{"name": "{name}"}}}}"#
        );
        let file = c.file(&format!("{name}.json"), &body);
        let out = c.kubectl(&["--kubeconfig", &alice, "-n", PROJECT, "create", "-f", &file]);
        (file, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert_eq!(stream("one").1, "");
    let (file, refused) = stream("two");
    assert_eq!(
        refused,
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": imagestreams.image.openshift.io \"two\" is forbidden: exceeded quota: objects, requested: count/imagestreams.image.openshift.io=1, used: count/imagestreams.image.openshift.io=1, limited: count/imagestreams.image.openshift.io=1\n"
        )
    );
    c.wait_for(&counted, path, "1", WAIT);
}
