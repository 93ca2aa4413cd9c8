//! LimitRanges as a project admin meets them: the cluster admin's LimitRange fills in the
//! limits and requests a pod leaves out (and the new pod's QoS class follows them), and a pod
//! over its maximum is refused with upstream's message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Backend, Cluster};

#[test]
fn limit_ranges_default_and_bound_the_pods_of_a_namespace() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "bounded"]);
    let alice = c.user_with_role("alice", &[], "admin", "bounded");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", alice.as_str(), "-n", "bounded"];
        all.extend_from_slice(args);
        c.kubectl(&all)
    };
    let range = r#"{"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": "bounded"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}}]}}"#;
    c.kubectl_ok(&["create", "-f", &c.file("range.json", range)]);

    let plain = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]}}"#;
    let out = as_alice(&["create", "-f", &c.file("plain.json", plain)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resources = c.kubectl_ok(&[
        "get", "pod", "plain", "-n", "bounded", "-o",
        "jsonpath={.spec.containers[0].resources.limits.cpu} {.spec.containers[0].resources.limits.memory} {.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.requests.memory}",
    ]);
    assert_eq!(resources, "500m 128Mi 100m 128Mi");
    // A new pod is Pending, in the QoS class of the resources admission gave it.
    let status = c.kubectl_ok(&[
        "get",
        "pod",
        "plain",
        "-n",
        "bounded",
        "-o",
        "jsonpath={.status.phase} {.status.qosClass} {.spec.enableServiceLinks}",
    ]);
    assert_eq!(status, "Pending Burstable true");

    let greedy = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "greedy"},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1", "resources": {"limits": {"cpu": "2"}}}]}}"#;
    let file = c.file("greedy.json", greedy);
    let out = as_alice(&["create", "-f", &file]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": pods \"greedy\" is forbidden: maximum cpu usage per Container is 1, but limit is 2\n"
        )
    );
}
