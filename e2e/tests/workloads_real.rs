//! The whole path of a workload with real containers, as a project admin drives it: a
//! Deployment scheduled onto the all-in-one's node, its pods run by podman from an image built
//! here and pulled from a registry on loopback, each answering on its own address, a Service's
//! endpoints, a rolling update to a new image, a deleted pod replaced, logs and exec through
//! the API server, and a Job run to completion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use e2e::Cluster;
use e2e::real_pods::{PodmanCluster, http_get, real_pods_unavailable};
use e2e::wait_until;

const WAIT: Duration = Duration::from_secs(120);

/// The pods' command: a page naming the pod's image, served on 8080.
const SERVE: &str =
    "echo served by web > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv";

/// Whether the pod at `ip` serves its page.
fn serves(ip: &str) -> bool {
    let answer = http_get(ip, "index.html");
    answer.starts_with("HTTP/1.1 200 OK") && answer.contains("served by web")
}

/// The addresses of the namespace's running, ready pods of `app=web` on `image`.
fn ready_pods(c: &Cluster, kubeconfig: &str, image: &str) -> Vec<(String, String)> {
    let out = c.kubectl_ok(&[
        "--kubeconfig",
        kubeconfig,
        "-n",
        "shop",
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "json",
    ]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| p["spec"]["containers"][0]["image"] == image)
        .filter(|p| {
            p["status"]["containerStatuses"][0]["ready"] == true && p["status"]["podIP"].is_string()
        })
        .map(|p| {
            (
                p["metadata"]["name"].as_str().unwrap().to_string(),
                p["status"]["podIP"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_deployment_of_real_containers_rolls_out_serves_and_updates() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_deployment_of_real_containers_rolls_out_serves_and_updates: {why}");
        return;
    }
    let worker = PodmanCluster::start("worker", "10.128.120.0/23", &["1", "2"]);
    let c = &worker.cluster;
    let (v1, v2) = (&worker.images[0], &worker.images[1]);

    // alice administers the project `shop`, nothing more.
    c.kubectl_ok(&["create", "namespace", "shop"]);
    let alice = c.user_with_role("alice", &[], "admin", "shop");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "shop", args);

    // Three replicas, scheduled, pulled, started and ready; each answers on its address. They
    // run under restricted-v2, as the project's UID: the page goes to scratch space any UID
    // may write (an emptyDir), as images for OpenShift arrange it.
    let started = Instant::now();
    let generated = as_alice(&[
        "create",
        "deployment",
        "web",
        &format!("--image={v1}"),
        "--replicas=3",
        "--port=8080",
        "--dry-run=client",
        "-o",
        "json",
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        SERVE,
    ]);
    let mut deployment: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let spec = &mut deployment["spec"]["template"]["spec"];
    spec["volumes"] = serde_json::json!([{"name": "srv", "emptyDir": {}}]);
    spec["containers"][0]["volumeMounts"] =
        serde_json::json!([{"name": "srv", "mountPath": "/srv"}]);
    as_alice(&["create", "-f", &c.file("web.json", &deployment.to_string())]);
    let rollout = as_alice(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(
        rollout.contains("successfully rolled out"),
        "rollout status: {rollout}"
    );
    eprintln!(
        "deployment web: 3 real replicas ready in {:?}",
        started.elapsed()
    );
    let pods = ready_pods(c, &alice, v1);
    assert_eq!(pods.len(), 3, "{pods:?}");
    let addresses: BTreeSet<&str> = pods.iter().map(|(_, ip)| ip.as_str()).collect();
    assert_eq!(addresses.len(), 3, "each pod has its own address: {pods:?}");
    for (name, ip) in &pods {
        assert!(ip.starts_with("10.128.12"), "{name}: {ip}");
        assert!(serves(ip), "{name} at {ip}: {}", http_get(ip, "index.html"));
    }

    // A Service selects them: its endpoints are the three ready addresses.
    as_alice(&[
        "expose",
        "deployment",
        "web",
        "--port=80",
        "--target-port=8080",
    ]);
    wait_until("the service's endpoints", WAIT, || {
        let ips = as_alice(&[
            "get",
            "endpoints",
            "web",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ]);
        let found: BTreeSet<&str> = ips.split_whitespace().collect();
        (found == addresses).then_some(())
    });

    // Logs and exec reach the containers through the API server.
    let (first, _) = &pods[0];
    let said = as_alice(&[
        "exec",
        first,
        "--",
        "/bin/busybox",
        "echo",
        "hello from exec",
    ]);
    assert_eq!(said, "hello from exec\n");
    let listing = as_alice(&["exec", "deploy/web", "--", "/bin/busybox", "ls", "/bin"]);
    assert!(listing.contains("busybox"), "{listing}");
    // The processes run as the project's first UID, which restricted-v2 assigned.
    let range = c.kubectl_ok(&[
        "get",
        "namespace",
        "shop",
        "-o",
        "jsonpath={.metadata.annotations.openshift\\.io/sa\\.scc\\.uid-range}",
    ]);
    let uid = as_alice(&["exec", "deploy/web", "--", "/bin/busybox", "id", "-u"]);
    assert_eq!(
        uid.trim(),
        range.split('/').next().unwrap(),
        "uid range {range}"
    );
    as_alice(&["logs", first]);

    // A deleted pod is replaced by a new one that runs and answers.
    as_alice(&["delete", "pod", first, "--wait=true"]);
    let replaced = wait_until("a replacement pod", WAIT, || {
        let now = ready_pods(c, &alice, v1);
        (now.len() == 3 && now.iter().all(|(n, _)| n != first)).then_some(now)
    });
    for (name, ip) in &replaced {
        assert!(serves(ip), "{name} at {ip}: {}", http_get(ip, "index.html"));
    }

    // A rolling update to the second image ends with three new pods, all serving.
    as_alice(&["set", "image", "deployment/web", &format!("web={v2}")]);
    let rollout = as_alice(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    assert!(
        rollout.contains("successfully rolled out"),
        "rollout status: {rollout}"
    );
    let updated = wait_until("three pods of the new image", WAIT, || {
        let now = ready_pods(c, &alice, v2);
        let old = ready_pods(c, &alice, v1);
        (now.len() == 3 && old.is_empty()).then_some(now)
    });
    for (name, ip) in &updated {
        assert!(serves(ip), "{name} at {ip}: {}", http_get(ip, "index.html"));
    }
    let history = as_alice(&["rollout", "history", "deployment/web"]);
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );

    // A Job's pod runs to completion and the Job completes.
    as_alice(&[
        "create",
        "job",
        "once",
        &format!("--image={v1}"),
        "--",
        "/bin/busybox",
        "sh",
        "-c",
        "echo job done",
    ]);
    as_alice(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "--timeout=120s",
    ]);
    let log = as_alice(&["logs", "job/once"]);
    assert_eq!(log, "job done\n");

    // Once the cluster's image configuration blocks the registry, the node pulls nothing more
    // from it and says why, as an OpenShift node does.
    let blocked = format!(
        "{{\"spec\":{{\"registrySources\":{{\"blockedRegistries\":[\"127.0.0.1:{}\"]}}}}}}",
        worker.registry.port
    );
    c.kubectl_ok(&[
        "patch",
        "image.config.openshift.io",
        "cluster",
        "--type=merge",
        "-p",
        &blocked,
    ]);
    as_alice(&[
        "run",
        "refused",
        &format!("--image={v1}"),
        "--image-pull-policy=Always",
        "--restart=Never",
    ]);
    let why = format!(
        "Failed to pull image \"{v1}\": registry 127.0.0.1:{} is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d",
        worker.registry.port
    );
    wait_until("the refused pull's event", WAIT, || {
        let events = as_alice(&[
            "get",
            "events",
            "--field-selector=involvedObject.name=refused",
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ]);
        events.lines().any(|e| e == why).then_some(())
    });
    let reason = as_alice(&[
        "get",
        "pod",
        "refused",
        "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
    ]);
    assert!(
        reason == "ErrImagePull" || reason == "ImagePullBackOff",
        "{reason}"
    );
}
