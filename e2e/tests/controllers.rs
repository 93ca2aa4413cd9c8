//! The controllers `oxshift start` runs (through the API, with their own credentials): service
//! accounts per namespace, and unique security allocations that survive a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster};

/// Waits until `check` returns `Some`.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn uid_range(c: &Cluster, ns: &str) -> Option<String> {
    let out = c.kubectl(&[
        "get",
        "namespace",
        ns,
        "-o",
        r"jsonpath={.metadata.annotations.openshift\.io/sa\.scc\.uid-range} {.metadata.annotations.openshift\.io/sa\.scc\.mcs}",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (text.split(' ').count() == 2 && !text.starts_with(' ')).then_some(text)
}

#[test]
fn service_accounts_and_security_allocations() {
    let mut c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "team-a"]);
    let accounts = eventually("service accounts", || {
        let out = c.kubectl_ok(&["get", "serviceaccounts", "-n", "team-a", "-o", "name"]);
        (out.lines().count() == 3).then_some(out)
    });
    assert_eq!(
        accounts,
        "serviceaccount/builder\nserviceaccount/default\nserviceaccount/deployer\n"
    );
    let bindings = eventually("role bindings", || {
        let out = c.kubectl_ok(&["get", "rolebindings", "-n", "team-a", "-o", "name"]);
        (out.lines().count() == 3).then_some(out)
    });
    assert!(
        bindings.contains("rolebinding.rbac.authorization.k8s.io/system:image-pullers"),
        "{bindings}"
    );
    // A deleted one comes back; its tokens work.
    c.kubectl_ok(&["delete", "serviceaccount", "default", "-n", "team-a"]);
    eventually("default recreated", || {
        c.kubectl(&["get", "serviceaccount", "default", "-n", "team-a"])
            .status
            .success()
            .then_some(())
    });
    let token = c.kubectl_ok(&["create", "token", "default", "-n", "team-a"]);
    assert!(token.starts_with("eyJ"), "{token}");

    // Every namespace gets its own UID block and MCS label, also after a restart.
    let mut seen = HashSet::new();
    for ns in ["default", "kube-system", "team-a"] {
        let allocation = eventually("allocation", || uid_range(&c, ns));
        assert!(
            seen.insert(allocation.clone()),
            "{allocation} allocated twice"
        );
    }
    c.restart();
    c.kubectl_ok(&["create", "namespace", "team-b"]);
    let after = eventually("allocation after restart", || uid_range(&c, "team-b"));
    assert!(seen.insert(after.clone()), "{after} allocated twice");
    let (range, mcs) = after.split_once(' ').unwrap();
    assert!(
        range.ends_with("/10000") && range.starts_with("1000"),
        "{range}"
    );
    assert!(mcs.starts_with("s0:c"), "{mcs}");
}

#[test]
fn aggregated_cluster_roles_follow_their_sources() {
    let c = Cluster::start(Backend::Embedded);
    let role = c.file(
        "widgets.json",
        r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"widget-viewer","labels":{"rbac.authorization.k8s.io/aggregate-to-view":"true"}},"rules":[{"apiGroups":["example.com"],"resources":["widgets"],"verbs":["get"]}]}"#,
    );
    c.kubectl_ok(&["create", "-f", &role]);
    let rules = || c.kubectl_ok(&["get", "clusterrole", "view", "-o", "jsonpath={.rules}"]);
    eventually("view to aggregate widgets", || {
        rules().contains("widgets").then_some(())
    });
    // The defaults are still there, and the rule goes when its source does.
    assert!(rules().contains("deploymentconfigs"));
    c.kubectl_ok(&["delete", "clusterrole", "widget-viewer"]);
    eventually("view to drop widgets", || {
        (!rules().contains("widgets")).then_some(())
    });
    // Bob is bound to nothing: the aggregation grants nothing by itself.
    let out = c.kubectl(&[
        "auth",
        "can-i",
        "watch",
        "deploymentconfigs.apps.openshift.io",
        "--as=bob",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no\n");
}
