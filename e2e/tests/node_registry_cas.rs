//! The node's pulls trust the registries' CAs the cluster's image configuration names
//! (`spec.additionalTrustedCA`), as an OpenShift node does once the Machine Config Operator
//! has written them to its certs.d: a pod whose image is in a registry serving TLS under a
//! CA of its own fails to pull until the administrator configures that CA, then runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use e2e::real_pods::{PodmanCluster, Registry, real_pods_unavailable};
use e2e::wait_until;

const WAIT: Duration = Duration::from_secs(150);

#[test]
fn a_pod_of_a_registry_under_its_own_ca_runs_once_the_ca_is_trusted() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!(
            "SKIPPED a_pod_of_a_registry_under_its_own_ca_runs_once_the_ca_is_trusted: {why}"
        );
        return;
    }
    let worker = PodmanCluster::start("cas", "10.128.62.0/23", &["1"]);
    let c = &worker.cluster;

    // The image, copied into a registry on loopback whose certificate only its CA vouches for.
    let tls_dir = c.scratch("registry-tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let (ca, cert, key) = e2e::loopback_certificates(&tls_dir);
    let secure = Registry::start_with_tls(&tls_dir, Some((&cert, &key)));
    let image = format!("127.0.0.1:{}/web:1", secure.port);
    let copied = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{}", worker.images[0]))
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&copied.stderr)
    );

    c.kubectl_ok(&["create", "namespace", "shop"]);
    let alice = c.user_with_role("alice", &[], "admin", "shop");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "shop", args);
    as_alice(&[
        "run",
        "web",
        &format!("--image={image}"),
        "--restart=Never",
        "--",
        "/bin/busybox",
        "sleep",
        "3600",
    ]);

    // Without the CA the node cannot verify the registry: ErrImagePull, then back-off.
    let failed = wait_until("the untrusted pull's failure", WAIT, || {
        let events = as_alice(&[
            "get",
            "events",
            "--field-selector=involvedObject.name=web",
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ]);
        let prefix = format!("Failed to pull image \"{image}\": ");
        events
            .lines()
            .find(|e| e.starts_with(&prefix))
            .map(str::to_string)
    });
    assert!(
        failed.contains("x509: certificate signed by unknown authority"),
        "{failed}"
    );
    let reason = as_alice(&[
        "get",
        "pod",
        "web",
        "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
    ]);
    assert!(
        reason == "ErrImagePull" || reason == "ImagePullBackOff",
        "{reason}"
    );

    // The administrator trusts the registry's CA for its host and port (`host..port`).
    let cas = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
        "data": {format!("127.0.0.1..{}", secure.port): std::fs::read_to_string(&ca).unwrap()}});
    c.kubectl_ok(&["apply", "-f", &c.file("cas.json", &cas.to_string())]);
    c.kubectl_ok(&[
        "patch",
        "image.config.openshift.io",
        "cluster",
        "--type=merge",
        "-p",
        r#"{"spec":{"additionalTrustedCA":{"name":"registry-cas"}}}"#,
    ]);

    // The next attempt pulls over verified TLS and the pod runs.
    c.wait_for(
        &["--kubeconfig", alice.as_str(), "-n", "shop", "pod", "web"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let pulled = as_alice(&[
        "get",
        "events",
        "--field-selector=involvedObject.name=web,reason=Pulled",
        "-o",
        "jsonpath={.items[*].message}",
    ]);
    assert!(
        pulled.contains(&format!("Successfully pulled image \"{image}\"")),
        "{pulled}"
    );
    // The CA went to the node's own directory, never to the machine's.
    for system in ["/etc/docker/certs.d", "/etc/containers/certs.d"] {
        let dir = std::path::Path::new(system).join(format!("127.0.0.1:{}", secure.port));
        assert!(!dir.exists(), "{}", dir.display());
    }
}
