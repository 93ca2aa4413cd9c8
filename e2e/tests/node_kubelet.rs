//! The node agent's kubelet behaviours around a pod's containers, with real containers in
//! podman: the service-account token every pod mounts (bound to the pod, asked by the node
//! for pods it runs only), pods on the node's network, containers' cgroup limits (a
//! container over its memory is OOM-killed) and their lifecycle hooks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use e2e::real_pods::{NodeLeftovers, PodmanCluster, real_pods_unavailable};

const WAIT: Duration = Duration::from_secs(90);
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn pod_manifest(name: &str, image: &str, extra_spec: &str, extra_container: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  terminationGracePeriodSeconds: 2\n{extra_spec}  containers:\n  - name: main\n    image: {image}\n    command: [\"/bin/busybox\", \"sleep\", \"3600\"]\n{extra_container}"
    )
}

/// Whether a TokenReview finds `token` valid, and for whom (`user|extra`).
fn review(c: &e2e::Cluster, token: &str) -> String {
    let review = format!(
        "{{\"apiVersion\": \"authentication.k8s.io/v1\", \"kind\": \"TokenReview\", \"spec\": {{\"token\": \"{token}\"}}}}"
    );
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("review.json", &review),
        "-o",
        "jsonpath={.status.authenticated}|{.status.user.username}|{.status.user.extra}",
    ])
}

#[test]
fn pods_mount_a_bound_service_account_token_their_node_asks_for() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED pods_mount_a_bound_service_account_token_their_node_asks_for: {why}");
        return;
    }
    let real = PodmanCluster::start("tokens", "10.128.110.0/23", &["1"]);
    let (c, image) = (&real.cluster, real.images[0].clone());
    c.kubectl_ok(&["create", "namespace", "apps"]);
    let alice = c.user_with_role("alice", &[], "admin", "apps");
    let alice = alice.to_str().unwrap();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice, "apps", args);
    // The namespace's CA bundle is published for pods to trust the API server with.
    c.wait_for(
        &["-n", "apps", "configmap", "kube-root-ca.crt"],
        "{.metadata.name}",
        "kube-root-ca.crt",
        WAIT,
    );
    as_alice(&[
        "create",
        "-f",
        &c.file("reader.yaml", &pod_manifest("reader", &image, "", "")),
    ]);
    let get =
        |pod: &str, path: &str| as_alice(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);
    // Admission gave it its account and the projected volume, mounted read-only.
    assert_eq!(get("reader", "{.spec.serviceAccountName}"), "default");
    let volume = get("reader", "{.spec.volumes[0].name}");
    assert!(volume.starts_with("kube-api-access-"), "{volume}");
    assert_eq!(volume.len(), "kube-api-access-".len() + 5);
    assert_eq!(
        get("reader", "{.spec.containers[0].volumeMounts[0].mountPath}"),
        SA_DIR
    );
    assert_eq!(
        get(
            "reader",
            "{.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds}"
        ),
        "3607"
    );
    c.wait_for(
        &["-n", "apps", "pod", "reader"],
        "{.status.phase}",
        "Running",
        WAIT,
    );

    // The container reads its token, CA and namespace.
    let read = |file: &str| {
        as_alice(&[
            "exec",
            "reader",
            "--",
            "/bin/busybox",
            "cat",
            &format!("{SA_DIR}/{file}"),
        ])
    };
    assert_eq!(read("namespace"), "apps");
    let ca = read("ca.crt");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    let token = read("token");
    assert_eq!(token.split('.').count(), 3, "{token}");

    // The token is the pod's account's, bound to the pod.
    let reviewed = review(c, &token);
    assert!(
        reviewed.starts_with("true|system:serviceaccount:apps:default|"),
        "{reviewed}"
    );
    assert!(
        reviewed.contains(r#""authentication.kubernetes.io/pod-name":["reader"]"#),
        "{reviewed}"
    );
    // With the pod's CA and token alone, the API server is trusted and trusts the caller.
    let server = c.kubectl_ok(&[
        "config",
        "view",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ]);
    let ca_file = c.file("pod-ca.crt", &ca);
    let whoami = Command::new("kubectl")
        .args(["--kubeconfig", "/dev/null", "--server", &server])
        .args(["--certificate-authority", &ca_file, "--token", &token])
        .args([
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ])
        .output()
        .unwrap();
    assert!(
        whoami.status.success(),
        "{}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout),
        "system:serviceaccount:apps:default"
    );

    // A node asks only for tokens bound to pods it runs.
    let other = c.user_kubeconfig("system:node:elsewhere", &["system:nodes"]);
    let other = other.to_str().unwrap();
    let uid = get("reader", "{.metadata.uid}");
    let unbound = c.kubectl_err(&[
        "--kubeconfig",
        other,
        "-n",
        "apps",
        "create",
        "token",
        "default",
    ]);
    assert!(
        unbound.contains("node requested token not bound to a pod"),
        "{unbound}"
    );
    let foreign = c.kubectl_err(&[
        "--kubeconfig",
        other,
        "-n",
        "apps",
        "create",
        "token",
        "default",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "reader",
        "--bound-object-uid",
        &uid,
    ]);
    assert!(
        foreign.contains("node requested token bound to a pod scheduled on a different node"),
        "{foreign}"
    );
    let node = c.user_kubeconfig("system:node:tokens", &["system:nodes"]);
    let own = c.kubectl_ok(&[
        "--kubeconfig",
        node.to_str().unwrap(),
        "-n",
        "apps",
        "create",
        "token",
        "default",
        "--bound-object-kind",
        "Pod",
        "--bound-object-name",
        "reader",
        "--bound-object-uid",
        &uid,
    ]);
    assert!(review(c, own.trim()).starts_with("true|"));

    // A pod that opts out mounts nothing.
    let quiet = pod_manifest(
        "quiet",
        &image,
        "  automountServiceAccountToken: false\n",
        "",
    );
    as_alice(&["create", "-f", &c.file("quiet.yaml", &quiet)]);
    assert_eq!(get("quiet", "{.spec.volumes}"), "");
    assert_eq!(get("quiet", "{.spec.containers[0].volumeMounts}"), "");

    // Once the pod is gone, its token is worth nothing.
    as_alice(&["delete", "pod", "reader", "--wait=true"]);
    assert_eq!(review(c, &token), "false||");

    // A pod on the node's network: refused to a project admin by the SCCs, run for the
    // cluster admin with the node's address, answering on the node's loopback.
    let port = e2e::free_port();
    let host = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: host\nspec:\n  hostNetwork: true\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: main\n    image: {image}\n    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"127.0.0.1:{port}\", \"-h\", \"/bin\"]\n    ports: [{{containerPort: {port}}}]\n"
    );
    let path = c.file("host.yaml", &host);
    let refused = c.kubectl_err(&["--kubeconfig", alice, "-n", "apps", "create", "-f", &path]);
    assert!(
        refused.contains("Host network is not allowed to be used"),
        "{refused}"
    );
    c.kubectl_ok(&["-n", "apps", "create", "-f", &path]);
    c.wait_for(
        &["-n", "apps", "pod", "host"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    assert_eq!(
        get("host", "{.status.podIP}/{.status.hostIP}"),
        "127.0.0.1/127.0.0.1"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    c.kubectl_ok(&["-n", "apps", "delete", "pod", "host", "--wait=true"]);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// The reasons and messages of the namespace's events, one `reason: message` a line.
fn events(c: &e2e::Cluster, namespace: &str) -> String {
    c.kubectl_ok(&[
        "-n",
        namespace,
        "get",
        "events",
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ])
}

/// Waits until the namespace has an event of `reason`; its message.
fn wait_for_event(c: &e2e::Cluster, namespace: &str, reason: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all = events(c, namespace);
        if let Some(line) = all.lines().find(|l| l.starts_with(&format!("{reason}: "))) {
            return line[reason.len() + 2..].to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {reason} event: {all}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn containers_get_their_limits_and_run_their_lifecycle_hooks() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED containers_get_their_limits_and_run_their_lifecycle_hooks: {why}");
        return;
    }
    let real = PodmanCluster::start("hooks", "10.128.112.0/23", &["1"]);
    let (c, image) = (&real.cluster, real.images[0].clone());
    c.kubectl_ok(&["create", "namespace", "limits"]);
    let alice = c.user_with_role("alice", &[], "admin", "limits");
    let alice = alice.to_str().unwrap();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice, "limits", args);
    let get =
        |pod: &str, path: &str| as_alice(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);

    // The container's cgroup holds its limits.
    let capped = pod_manifest(
        "capped",
        &image,
        "",
        "    resources:\n      limits: {memory: 64Mi, cpu: 250m}\n",
    );
    as_alice(&["create", "-f", &c.file("capped.yaml", &capped)]);
    // A container over its memory limit is killed by the kernel: OOMKilled, 137.
    let hog = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hog\nspec:\n  restartPolicy: Never\n  containers:\n  - name: main\n    image: {image}\n    command: [\"/bin/busybox\", \"sh\", \"-c\", \"x=0123456789abcdef; while true; do x=$x$x; done\"]\n    resources:\n      limits: {{memory: 32Mi}}\n"
    );
    as_alice(&["create", "-f", &c.file("hog.yaml", &hog)]);
    c.wait_for(
        &["-n", "limits", "pod", "capped"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let cgroup =
        |script: &str| as_alice(&["exec", "capped", "--", "/bin/busybox", "sh", "-c", script]);
    let memory = cgroup(
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
    );
    assert_eq!(memory.trim(), "67108864");
    let cpu =
        cgroup("cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us");
    assert!(cpu.starts_with("25000"), "{cpu}");
    c.wait_for(
        &["-n", "limits", "pod", "hog"],
        "{.status.phase}",
        "Failed",
        WAIT,
    );
    assert_eq!(
        get(
            "hog",
            "{.status.containerStatuses[0].state.terminated.reason}/{.status.containerStatuses[0].state.terminated.exitCode}"
        ),
        "OOMKilled/137"
    );

    // postStart runs once the container started; preStop before it is told to stop, and the
    // container then gets its SIGTERM. (The cluster admin's pod may mount the host's
    // directory the test reads.)
    let out = c.scratch("hooks-out");
    std::fs::create_dir_all(&out).unwrap();
    let hooked = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hooked\nspec:\n  terminationGracePeriodSeconds: 20\n  containers:\n  - name: main\n    image: {image}\n    command: [\"/bin/busybox\", \"sh\", \"-c\", \"trap 'echo term >> /out/log; exit 0' TERM; while true; do /bin/busybox sleep 1; done\"]\n    volumeMounts: [{{name: out, mountPath: /out}}]\n    lifecycle:\n      postStart: {{exec: {{command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo poststart >> /out/log\"]}}}}\n      preStop: {{exec: {{command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo prestop >> /out/log; /bin/busybox sleep 2\"]}}}}\n    securityContext: {{privileged: true}}\n  volumes:\n  - name: out\n    hostPath: {{path: {}}}\n",
        out.display()
    );
    c.kubectl_ok(&[
        "-n",
        "limits",
        "create",
        "-f",
        &c.file("hooked.yaml", &hooked),
    ]);
    c.wait_for(
        &["-n", "limits", "pod", "hooked"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let log = out.join("log");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "poststart\n");
    c.kubectl_ok(&["-n", "limits", "delete", "pod", "hooked", "--wait=true"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "poststart\nprestop\nterm\n"
    );

    // A failed postStart hook kills the container, with the kubelet's event.
    let failing = pod_manifest(
        "badstart",
        &image,
        "",
        "    lifecycle:\n      postStart: {exec: {command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo -n nope; exit 3\"]}}\n",
    );
    as_alice(&["create", "-f", &c.file("badstart.yaml", &failing)]);
    let uid = get("badstart", "{.metadata.uid}");
    let message = wait_for_event(c, "limits", "FailedPostStartHook");
    assert_eq!(
        message,
        format!(
            "Exec lifecycle hook ([/bin/busybox sh -c echo -n nope; exit 3]) for Container \"main\" in Pod \"badstart_limits({uid})\" failed - error: command '/bin/busybox sh -c echo -n nope; exit 3' exited with 3: nope, message: \"nope\""
        )
    );
    c.wait_for(
        &["-n", "limits", "pod", "badstart"],
        "{.status.containerStatuses[0].lastState.terminated.exitCode}",
        "137",
        WAIT,
    );

    // A failed preStop hook is reported; the pod still goes.
    let port = e2e::free_port();
    let stopping = pod_manifest(
        "badstop",
        &image,
        "",
        &format!(
            "    lifecycle:\n      preStop: {{httpGet: {{host: 127.0.0.1, port: {port}, path: /stop}}}}\n"
        ),
    );
    as_alice(&["create", "-f", &c.file("badstop.yaml", &stopping)]);
    c.wait_for(
        &["-n", "limits", "pod", "badstop"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let uid = get("badstop", "{.metadata.uid}");
    as_alice(&["delete", "pod", "badstop", "--wait=true"]);
    assert_eq!(
        wait_for_event(c, "limits", "FailedPreStopHook"),
        format!(
            "HTTP lifecycle hook (/stop) for Container \"main\" in Pod \"badstop_limits({uid})\" failed - error: Get \"http://127.0.0.1:{port}/stop\": dial tcp 127.0.0.1:{port}: connect: connection refused"
        )
    );
}

#[test]
fn a_restarted_agent_finishes_the_pods_it_was_stopping() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_restarted_agent_finishes_the_pods_it_was_stopping: {why}");
        return;
    }
    let mut real = PodmanCluster::start("first", "10.128.114.0/23", &["1"]);
    let image = real.images[0].clone();
    // A second node, in a process of its own that the test can kill.
    let leftovers = NodeLeftovers {
        node_dir: real.cluster.scratch("again.node"),
    };
    let removal = leftovers.clone();
    real.cluster.after_stop(move || removal.remove_all());
    let c = &real.cluster;
    let args = [
        "--runtime",
        "podman",
        "--name",
        "again",
        "--port",
        "0",
        "--pod-cidr",
        "10.128.116.0/23",
    ];
    let mut agent = c.node_agent("again", &args);
    c.wait_for(
        &["node", "again"],
        r#"{.status.conditions[?(@.type=="Ready")].status}"#,
        "True",
        WAIT,
    );
    c.kubectl_ok(&["create", "namespace", "restart"]);
    // A container that ignores SIGTERM, with a long grace period: its stop takes a while.
    let stubborn = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: stubborn\nspec:\n  nodeName: again\n  terminationGracePeriodSeconds: 20\n  containers:\n  - name: main\n    image: {image}\n    command: [\"/bin/busybox\", \"sh\", \"-c\", \"trap '' TERM; while true; do /bin/busybox sleep 1; done\"]\n"
    );
    c.kubectl_ok(&[
        "-n",
        "restart",
        "create",
        "-f",
        &c.file("stubborn.yaml", &stubborn),
    ]);
    c.wait_for(
        &["-n", "restart", "pod", "stubborn"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let states = || {
        let out = leftovers.podman(&["ps", "--all", "--format", "{{.State}}"]);
        String::from_utf8_lossy(&out.stdout).trim().to_lowercase()
    };
    c.kubectl_ok(&["-n", "restart", "delete", "pod", "stubborn", "--wait=false"]);
    let deadline = std::time::Instant::now() + WAIT;
    while states() != "stopping" {
        assert!(
            std::time::Instant::now() < deadline,
            "never stopping: {}\n{}",
            states(),
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The agent dies mid-stop; the one started next finds the pod still being deleted and
    // its container still held, finishes the stop and removes all of it.
    agent.kill();
    let agent = c.node_agent("again", &args);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let pod = c.kubectl(&["-n", "restart", "get", "pod", "stubborn"]);
        let gone = !pod.status.success() && states().is_empty();
        if gone {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left behind: {:?}\n{}",
            states(),
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
