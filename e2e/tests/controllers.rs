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

/// The number of ConfigMaps in `ns`.
/// The ConfigMaps of `ns` the test made (every namespace also holds the published
/// `kube-root-ca.crt`).
fn configmaps(c: &Cluster, ns: &str) -> usize {
    c.kubectl_ok(&["get", "configmaps", "-n", ns, "-o", "name"])
        .lines()
        .filter(|name| *name != "configmap/kube-root-ca.crt")
        .count()
}

/// ConfigMaps `<prefix>-<i>` in `ns` owned by `owner` (uid), with `extra` metadata lines.
/// The file they were created from.
fn dependents(
    c: &Cluster,
    ns: &str,
    prefix: &str,
    count: usize,
    owner: &str,
    extra: &str,
) -> String {
    let uid = c.kubectl_ok(&[
        "get",
        "configmap",
        owner,
        "-n",
        ns,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    let documents: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {prefix}-{i}\n  namespace: {ns}\n{extra}  ownerReferences:\n  - {{apiVersion: v1, kind: ConfigMap, name: {owner}, uid: {uid}, blockOwnerDeletion: true}}\n"
            )
        })
        .collect();
    let file = c.file(&format!("{prefix}.yaml"), &documents.join("---\n"));
    c.kubectl_ok(&["create", "-f", &file, "-o", "name"]);
    file
}

#[test]
fn a_crashed_controller_manager_is_replaced_and_the_cascade_completes() {
    let c = Cluster::start_with(Backend::Embedded, &["--controllers=false"]);
    let lease = ["--leader-elect-lease-duration", "3s"];
    let mut first = c.controller_manager("first", &lease);
    eventually("the first manager to lead", || {
        first.log().contains("acquired the lease").then_some(())
    });
    // A standby waits while the leader lives.
    let second = c.controller_manager("second", &lease);
    eventually("the standby to wait", || {
        second.log().contains("another manager leads").then_some(())
    });

    c.kubectl_ok(&["create", "namespace", "cascade"]);
    for owner in ["big", "waiting"] {
        c.kubectl_ok(&["create", "configmap", owner, "-n", "cascade"]);
    }
    let big = 1000;
    dependents(&c, "cascade", "d", big, "big", "");
    let held = "  labels: {hold: \"yes\"}\n  finalizers: [example.com/hold]\n";
    let held = dependents(&c, "cascade", "h", 20, "waiting", held);

    // A foreground cascade in progress: the dependents are being deleted (held by their
    // finalizer), the owner waits for them.
    c.kubectl_ok(&[
        "delete",
        "configmap",
        "waiting",
        "-n",
        "cascade",
        "--cascade=foreground",
        "--wait=false",
    ]);
    eventually("the foreground cascade to reach the dependents", || {
        let marked = c.kubectl_ok(&[
            "get",
            "configmaps",
            "-n",
            "cascade",
            "-l",
            "hold=yes",
            "-o",
            "jsonpath={range .items[*]}{.metadata.deletionTimestamp}{\"\\n\"}{end}",
        ]);
        (marked.lines().filter(|l| !l.is_empty()).count() == 20).then_some(())
    });
    // The leader hangs, a large background cascade starts, and the leader dies.
    first.freeze();
    c.kubectl_ok(&[
        "delete",
        "configmap",
        "big",
        "-n",
        "cascade",
        "--wait=false",
    ]);
    first.kill();
    c.kubectl_ok(&[
        "patch",
        "-f",
        &held,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);

    // The standby takes over and finishes both: nothing is left behind.
    let deadline = Instant::now() + Duration::from_secs(60);
    while configmaps(&c, "cascade") > 0 {
        assert!(
            Instant::now() < deadline,
            "left behind: {}\n{}",
            c.kubectl_ok(&["get", "configmaps", "-n", "cascade", "-o", "name"]),
            second.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        second.log().contains("acquired the lease"),
        "{}",
        second.log()
    );
    let transitions = c.kubectl_ok(&[
        "get",
        "lease",
        "oxshift-controller-manager",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.spec.leaseTransitions}",
    ]);
    assert_eq!(transitions, "1");
}
