//! ClusterResourceQuotas as a project admin meets them: the cluster admin's quota (made with
//! `oc create clusterresourcequota`) over two projects labelled for alice is filled in by the
//! cluster quota controller; twenty pods created at once across both projects never take
//! more than the combined limit (the others refused with upstream's message naming the
//! cluster quota); alice reads the quota through `appliedclusterresourcequotas` with
//! `oc get` and `oc describe` as kubectl prints them; deletions give usage back; a quota
//! that selects nothing is refused as upstream refuses it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, oc, same_as_kubectl};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::PostParams;

const PROJECTS: [&str; 2] = ["shared-one", "shared-two"];
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

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]}
    }))
    .unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_cluster_quota_limits_alices_projects_together() {
    let (_dir, c, home) = cluster_with_alice();
    let alice = alice_in_project(&c, &home, PROJECTS[0]);
    ok(oc(&home, &["new-project", PROJECTS[1]]));
    let admin = c.kubeconfig().display().to_string();
    for project in PROJECTS {
        c.kubectl_ok(&["label", "namespace", project, "quota-owner=alice"]);
    }

    // The cluster admin's quota, as oc builds it.
    let created = ok(oc(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "create",
            "clusterresourcequota",
            "for-alice",
            "--project-label-selector=quota-owner=alice",
            "--hard=pods=4",
        ],
    ));
    assert_eq!(
        created,
        "clusterresourcequota.quota.openshift.io/for-alice created\n"
    );
    let quota = ["clusterresourcequota", "for-alice"];
    c.wait_for(
        &quota,
        "{.status.total.used.pods} {.status.namespaces[*].namespace}",
        "0 shared-one shared-two",
        WAIT,
    );

    // Twenty creates at once, ten in each project, against room for four in all.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let user = client(&rt, &alice);
    let results = rt.block_on(futures::future::join_all((0..20).map(|i| {
        let api: Api<Pod> = Api::namespaced(user.clone(), PROJECTS[i % 2]);
        async move {
            api.create(&PostParams::default(), &pod(&format!("p-{i}")))
                .await
        }
    })));
    let mut created = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        match result {
            Ok(_) => created.push((PROJECTS[i % 2], format!("p-{i}"))),
            Err(kube::Error::Api(e)) => {
                assert_eq!(e.code, 403, "{e:?}");
                assert_eq!(
                    e.message,
                    format!(
                        "pods \"p-{i}\" is forbidden: exceeded quota: for-alice, requested: pods=1, used: pods=4, limited: pods=4"
                    )
                );
            }
            Err(e) => panic!("p-{i}: {e}"),
        }
    }
    assert_eq!(created.len(), 4, "created {created:?}");
    let stored: usize = PROJECTS
        .iter()
        .map(|p| {
            c.kubectl_ok(&["get", "pods", "-n", p, "-o", "name"])
                .lines()
                .count()
        })
        .sum();
    assert_eq!(stored, 4);
    let per_project = |p: &str| created.iter().filter(|(q, _)| *q == p).count();
    let shares = format!(
        "4 {} {}",
        per_project(PROJECTS[0]),
        per_project(PROJECTS[1])
    );
    c.wait_for(
        &quota,
        "{.status.total.used.pods} {.status.namespaces[*].status.used.pods}",
        &shares,
        WAIT,
    );

    // Alice reads the quota her projects share, as kubectl shows it, but not the cluster's.
    let listed = ok(oc(
        &home,
        &["get", "appliedclusterresourcequota", "-n", PROJECTS[1]],
    ));
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "LABELS", "SELECTOR", "ANNOTATIONS", "SELECTOR"],
            vec!["for-alice", "quota-owner=alice", "map[]"]
        ],
        "{listed}"
    );
    let described = ok(oc(
        &home,
        &[
            "describe",
            "appliedclusterresourcequota",
            "for-alice",
            "-n",
            PROJECTS[0],
        ],
    ));
    for line in [
        "Namespace Selector: [\"shared-one\" \"shared-two\"]",
        "Label Selector: quota-owner=alice",
        "AnnotationSelector: map[]",
    ] {
        assert!(described.lines().any(|l| l == line), "{described}");
    }
    let pods_row = described
        .lines()
        .find(|l| l.starts_with("pods"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    assert_eq!(pods_row.as_deref(), Some("pods 4 4"), "{described}");
    for args in [
        &["get", "appliedclusterresourcequota", "-n", PROJECTS[0]][..],
        &[
            "get",
            "appliedclusterresourcequota",
            "for-alice",
            "-n",
            PROJECTS[1],
            "-o",
            "yaml",
        ],
    ] {
        same_as_kubectl(&c, &home, &alice, args);
    }
    let refused = oc(&home, &["get", "clusterresourcequota", "for-alice"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is forbidden"),
        "{refused:?}"
    );

    // A deletion gives its pod back, and the room is usable again, in either project.
    let (project, name) = &created[0];
    c.kubectl_ok(&[
        "--kubeconfig",
        &alice,
        "delete",
        "pod",
        name,
        "-n",
        project,
        "--grace-period=0",
        "--force",
    ]);
    c.wait_for(&quota, "{.status.total.used.pods}", "3", WAIT);
    let api: Api<Pod> = Api::namespaced(user.clone(), PROJECTS[1]);
    rt.block_on(api.create(&PostParams::default(), &pod("again")))
        .unwrap();
    let err = rt
        .block_on(api.create(&PostParams::default(), &pod("over")))
        .unwrap_err();
    assert!(
        err.to_string().contains("exceeded quota: for-alice"),
        "{err}"
    );

    // A quota must restrict the projects it selects.
    let unrestricted = r#"{"apiVersion": "quota.openshift.io/v1", "kind": "ClusterResourceQuota",
        "metadata": {"name": "everyone"}, "spec": {"selector": {}, "quota": {"hard": {"pods": "-1"}}}}"#;
    let err = c.kubectl_err(&["create", "-f", &c.file("everyone.json", unrestricted)]);
    assert!(
        err.contains("spec.selector: Required value: must restrict the selected projects"),
        "{err}"
    );
    assert!(
        err.contains(
            "spec.quota.hard[pods]: Invalid value: \"-1\": must be greater than or equal to 0"
        ),
        "{err}"
    );
}
