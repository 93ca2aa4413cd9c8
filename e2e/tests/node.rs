//! Node agents: simulated nodes register, keep their Lease and run the pods bound to them
//! without containers; on a machine with podman (as root), the all-in-one's node runs real
//! pods: an image built here and pulled from a registry on loopback, served on the pod's
//! address on the bridge, a crashing container backed off, and everything of a deleted pod
//! removed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::oc::same_as_kubectl;
use e2e::real_pods::{PodmanCluster, http_get, real_pods_unavailable};
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

fn pod_manifest(name: &str, node: &str, image: &str, extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: {node}\n  terminationGracePeriodSeconds: 2\n  containers:\n  - name: main\n    image: {image}\n{extra}"
    )
}

#[test]
fn simulated_nodes_register_and_run_pods_without_containers() {
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--node-runtime",
            "simulated",
            "--node-name",
            "aio",
            "--node-port",
            "0",
            "--node-pod-cidr",
            "10.128.40.0/23",
        ],
    );
    let agents = c.node_agent(
        "sims",
        &[
            "--runtime",
            "simulated",
            "--count",
            "3",
            "--name-prefix",
            "sim-",
            "--port",
            "0",
            "--pod-cidr",
            "10.128.42.0/23",
        ],
    );
    for node in ["aio", "sim-0", "sim-1", "sim-2"] {
        c.wait_for(
            &["node", node],
            r#"{.status.conditions[?(@.type=="Ready")].status}"#,
            "True",
            WAIT,
        );
    }
    // Each node has its slice of the cluster network, its bound port and its Lease.
    let cidr = c.kubectl_ok(&["get", "node", "sim-1", "-o", "jsonpath={.spec.podCIDR}"]);
    assert_eq!(cidr, "10.128.44.0/23", "{}", agents.log());
    let port = c.kubectl_ok(&[
        "get",
        "node",
        "sim-1",
        "-o",
        "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
    ]);
    assert!(port.parse::<u16>().unwrap() > 0, "{port}");
    let roles = c.kubectl_ok(&["get", "node", "aio", "-o", "jsonpath={.metadata.labels}"]);
    assert!(roles.contains("node-role.kubernetes.io/master"), "{roles}");
    c.wait_for(
        &["lease", "-n", "kube-node-lease", "sim-1"],
        "{.spec.holderIdentity}/{.spec.leaseDurationSeconds}",
        "sim-1/40",
        WAIT,
    );

    // A pod bound to sim-1 runs there, with an address from sim-1's slice.
    c.kubectl_ok(&["create", "namespace", "sim"]);
    let manifest = pod_manifest("p1", "sim-1", "registry.invalid/app:1", "");
    let path = c.file("p1.yaml", &manifest);
    c.kubectl_ok(&["-n", "sim", "create", "-f", &path]);
    c.wait_for(
        &["-n", "sim", "pod", "p1"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let status = |path: &str| {
        c.kubectl_ok(&[
            "-n",
            "sim",
            "get",
            "pod",
            "p1",
            "-o",
            &format!("jsonpath={path}"),
        ])
    };
    assert!(
        status("{.status.podIP}").starts_with("10.128.4"),
        "{}",
        status("{.status}")
    );
    let ip: std::net::Ipv4Addr = status("{.status.podIP}").parse().unwrap();
    assert!(
        (u32::from(ip) >> 9) == (u32::from(std::net::Ipv4Addr::new(10, 128, 44, 0)) >> 9),
        "{ip} is not in sim-1's 10.128.44.0/23"
    );
    assert_eq!(status("{.status.hostIP}"), "127.0.0.1");
    assert_eq!(
        status("{.status.conditions[*].type}"),
        "PodReadyToStartContainers Initialized Ready ContainersReady PodScheduled"
    );
    assert_eq!(status("{.status.containerStatuses[0].ready}"), "true");
    assert!(status("{.status.containerStatuses[0].containerID}").starts_with("simulated://"));

    // Deleted, it is gone, and its address is free again (a new pod gets it).
    c.kubectl_ok(&["-n", "sim", "delete", "pod", "p1", "--wait=true"]);
    let again = c.file(
        "p2.yaml",
        &pod_manifest("p2", "sim-1", "registry.invalid/app:1", ""),
    );
    c.kubectl_ok(&["-n", "sim", "create", "-f", &again]);
    c.wait_for(
        &["-n", "sim", "pod", "p2"],
        "{.status.podIP}",
        &ip.to_string(),
        WAIT,
    );
}

#[test]
fn the_all_in_one_node_runs_real_pods_in_podman() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED the_all_in_one_node_runs_real_pods_in_podman: {why}");
        return;
    }
    let real = PodmanCluster::start("real", "10.128.100.0/23", &["1"]);
    let (c, leftovers, image) = (&real.cluster, &real.leftovers, real.images[0].clone());

    // A project admin (not the cluster admin) creates the pods.
    c.kubectl_ok(&["create", "namespace", "shop"]);
    let alice = c.user_with_role("alice", &[], "admin", "shop");
    let alice = alice.to_str().unwrap();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice, "shop", args);
    as_alice(&[
        "create",
        "configmap",
        "site",
        "--from-literal=index.html=hello from a pod",
    ]);
    as_alice(&[
        "create",
        "secret",
        "generic",
        "creds",
        "--from-literal=token=s3cret",
    ]);
    let web = pod_manifest(
        "web",
        "real",
        &image,
        &format!(
            "    command: [\"/bin/busybox\", \"sh\", \"-c\"]\n    args:\n    - /bin/busybox mkdir -p /srv && /bin/busybox cp /www/index.html /srv/ && /bin/busybox cp /work/init.txt /srv/ && echo \"$POD $NS $IP $TOKEN $GREETING\" > /srv/env.txt && exec /bin/busybox httpd -f -p 8080 -h /srv\n    workingDir: /www\n    env:\n    - {{name: POD, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}\n    - {{name: NS, valueFrom: {{fieldRef: {{fieldPath: metadata.namespace}}}}}}\n    - {{name: IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}\n    - {{name: TOKEN, valueFrom: {{secretKeyRef: {{name: creds, key: token}}}}}}\n    - {{name: GREETING, value: \"hi $(POD)\"}}\n    readinessProbe: {{httpGet: {{path: /index.html, port: 8080}}, periodSeconds: 1}}\n    livenessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}\n    volumeMounts:\n    - {{name: site, mountPath: /www}}\n    - {{name: scratch, mountPath: /work}}\n    - {{name: srv, mountPath: /srv}}\n  volumes:\n  - name: scratch\n    emptyDir: {{}}\n  - name: srv\n    emptyDir: {{}}\n  - name: site\n    configMap: {{name: site}}\n  initContainers:\n  - name: prepare\n    image: {image}\n    command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo prepared > /work/init.txt\"]\n    volumeMounts:\n    - {{name: scratch, mountPath: /work}}\n"
        ),
    );
    let created = Instant::now();
    as_alice(&["create", "-f", &c.file("web.yaml", &web)]);
    c.wait_for(
        &["-n", "shop", "pod", "web"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    eprintln!(
        "pod web: created (bound) to Running in {:?}",
        created.elapsed()
    );
    let get = |pod: &str, path: &str| {
        c.kubectl_ok(&[
            "-n",
            "shop",
            "get",
            "pod",
            pod,
            "-o",
            &format!("jsonpath={path}"),
        ])
    };
    let ip = get("web", "{.status.podIP}");
    assert!(ip.starts_with("10.128.10"), "{ip}");
    assert_eq!(get("web", "{.status.podIPs[0].ip}"), ip);
    assert_eq!(get("web", "{.status.hostIP}"), "127.0.0.1");
    // Ready once its readiness probe succeeds.
    c.wait_for(
        &["-n", "shop", "pod", "web"],
        "{.status.containerStatuses[0].ready}",
        "true",
        WAIT,
    );
    assert_eq!(get("web", "{.status.containerStatuses[0].started}"), "true");
    assert!(get("web", "{.status.containerStatuses[0].containerID}").starts_with("podman://"));
    assert!(get("web", "{.status.containerStatuses[0].imageID}").contains("@sha256:"));
    assert_eq!(get("web", "{.status.containerStatuses[0].image}"), image);
    // The host reaches the pod on the bridge.
    let page = http_get(&ip, "index.html");
    assert!(page.contains("hello from a pod"), "{page}");
    assert!(http_get(&ip, "init.txt").contains("prepared"));
    assert_eq!(
        get(
            "web",
            "{.status.initContainerStatuses[0].state.terminated.reason}"
        ),
        "Completed"
    );
    // Through the API server to the node's HTTPS API: logs and exec.
    let exec = as_alice(&["exec", "web", "--", "/bin/busybox", "cat", "/srv/init.txt"]);
    assert_eq!(exec, "prepared\n");
    let env = http_get(&ip, "env.txt");
    assert!(
        env.contains(&format!("web shop {ip} s3cret hi web")),
        "{env}"
    );
    let events = c.kubectl_ok(&[
        "-n",
        "shop",
        "get",
        "events",
        "-o",
        "jsonpath={range .items[*]}{.reason}:{.source.component} {end}",
    ]);
    for reason in [
        "Pulling:kubelet",
        "Pulled:kubelet",
        "Created:kubelet",
        "Started:kubelet",
    ] {
        assert!(events.contains(reason), "{events}");
    }
    // Its description (states, probes, volumes, environment) is kubectl's.
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = c.kubeconfig().display().to_string();
    same_as_kubectl(
        c,
        &home,
        &kubeconfig,
        &["-n", "shop", "describe", "pod", "web"],
    );

    // A container that keeps failing is restarted, then backed off.
    let crash = pod_manifest(
        "crash",
        "real",
        &image,
        "    command: [\"/bin/busybox\", \"sh\", \"-c\", \"echo dying; exit 3\"]\n",
    );
    as_alice(&["create", "-f", &c.file("crash.yaml", &crash)]);
    c.wait_for(
        &["-n", "shop", "pod", "crash"],
        "{.status.containerStatuses[0].state.waiting.reason}",
        "CrashLoopBackOff",
        WAIT,
    );
    assert_eq!(
        get(
            "crash",
            "{.status.containerStatuses[0].lastState.terminated.exitCode}"
        ),
        "3"
    );
    assert!(
        get("crash", "{.status.containerStatuses[0].restartCount}")
            .parse::<u32>()
            .unwrap()
            >= 1
    );
    let message = get(
        "crash",
        "{.status.containerStatuses[0].state.waiting.message}",
    );
    assert!(
        message.starts_with("back-off 10s restarting failed container=main pod=crash_shop("),
        "{message}"
    );
    assert_eq!(get("crash", "{.status.phase}"), "Running");
    assert_eq!(as_alice(&["logs", "crash", "--previous"]), "dying\n");

    // A sidecar starts before the container and runs along it.
    let sided = pod_manifest(
        "sided",
        "real",
        &image,
        "    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]\n",
    ) + &format!(
        "  initContainers:\n  - name: proxy\n    image: {image}\n    restartPolicy: Always\n    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"9090\"]\n"
    );
    as_alice(&["create", "-f", &c.file("sided.yaml", &sided)]);
    c.wait_for(
        &["-n", "shop", "pod", "sided"],
        r#"{.status.conditions[?(@.type=="Ready")].status}"#,
        "True",
        WAIT,
    );
    assert_eq!(get("sided", "{.status.phase}"), "Running");
    assert_eq!(
        get("sided", "{.status.initContainerStatuses[0].started}"),
        "true"
    );
    assert_eq!(
        get("sided", "{.status.initContainerStatuses[0].ready}"),
        "true"
    );
    assert!(
        !get(
            "sided",
            "{.status.initContainerStatuses[0].state.running.startedAt}"
        )
        .is_empty()
    );

    // A pod that runs to completion under `restartPolicy: Never` succeeds.
    let once = pod_manifest(
        "once",
        "real",
        &image,
        "    command: [\"/bin/busybox\", \"true\"]\n",
    )
    .replace("spec:\n", "spec:\n  restartPolicy: Never\n");
    as_alice(&["create", "-f", &c.file("once.yaml", &once)]);
    c.wait_for(
        &["-n", "shop", "pod", "once"],
        "{.status.phase}",
        "Succeeded",
        WAIT,
    );
    assert_eq!(
        get(
            "once",
            "{.status.containerStatuses[0].state.terminated.reason}"
        ),
        "Completed"
    );
    assert_eq!(
        get("once", r#"{.status.conditions[?(@.type=="Ready")].reason}"#),
        "PodCompleted"
    );

    // An image that cannot be pulled: ErrImagePull, then ImagePullBackOff.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let missing = pod_manifest("missing", "real", &format!("127.0.0.1:{closed}/none:1"), "");
    as_alice(&["create", "-f", &c.file("missing.yaml", &missing)]);
    c.wait_for(
        &["-n", "shop", "pod", "missing"],
        "{.status.containerStatuses[0].state.waiting.reason}",
        "ImagePullBackOff",
        WAIT,
    );
    let pulls = c.kubectl_ok(&["-n", "shop", "get", "events", "-o", r#"jsonpath={range .items[?(@.involvedObject.name=="missing")]}{.reason}: {.message}|{end}"#]);
    assert!(
        pulls.contains(&format!(
            "Failed: Failed to pull image \"127.0.0.1:{closed}/none:1\""
        )),
        "{pulls}"
    );
    assert!(pulls.contains("Failed: Error: ErrImagePull"), "{pulls}");
    assert!(
        pulls.contains(&format!(
            "BackOff: Back-off pulling image \"127.0.0.1:{closed}/none:1\""
        )),
        "{pulls}"
    );
    assert_eq!(get("missing", "{.status.phase}"), "Pending");

    // Readiness follows its probe; a failing liveness probe has the container restarted.
    let probed = pod_manifest(
        "probed",
        "real",
        &image,
        "    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]\n    readinessProbe: {httpGet: {path: /missing, port: 8080}, periodSeconds: 1}\n    livenessProbe: {exec: {command: [/bin/busybox, \"false\"]}, periodSeconds: 1, failureThreshold: 2}\n",
    );
    as_alice(&["create", "-f", &c.file("probed.yaml", &probed)]);
    c.wait_for(
        &["-n", "shop", "pod", "probed"],
        "{.status.containerStatuses[0].restartCount}",
        "1",
        WAIT,
    );
    assert_eq!(
        get("probed", "{.status.containerStatuses[0].ready}"),
        "false"
    );
    assert_eq!(
        get(
            "probed",
            r#"{.status.conditions[?(@.type=="Ready")].reason}"#
        ),
        "ContainersNotReady"
    );
    let unhealthy = c.kubectl_ok(&[
        "-n",
        "shop",
        "get",
        "events",
        "-o",
        r#"jsonpath={range .items[?(@.involvedObject.name=="probed")]}{.reason}: {.message}|{end}"#,
    ]);
    assert!(
        unhealthy
            .contains("Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404"),
        "{unhealthy}"
    );
    assert!(
        unhealthy.contains("Unhealthy: Liveness probe failed"),
        "{unhealthy}"
    );
    assert!(
        unhealthy.contains("Killing: Container main failed liveness probe, will be restarted"),
        "{unhealthy}"
    );
    // The same event again is counted on the first one, not written anew.
    let counts = c.kubectl_ok(&[
        "-n",
        "shop",
        "get",
        "events",
        "-o",
        r#"jsonpath={range .items[?(@.involvedObject.name=="probed")]}{.reason}={.count}|{end}"#,
    ]);
    assert!(
        counts.split('|').any(|e| e
            .strip_prefix("Unhealthy=")
            .is_some_and(|n| n.parse::<u32>().unwrap() > 1)),
        "{counts}"
    );

    // A pod being deleted (held here by a finalizer) has its containers stopped (Killing) and
    // its resources removed while it still exists.
    let held = pod_manifest(
        "held",
        "real",
        &image,
        "    command: [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\"]\n",
    )
    .replace(
        "metadata:\n  name: held\n",
        "metadata:\n  name: held\n  finalizers: [example.com/hold]\n",
    );
    as_alice(&["create", "-f", &c.file("held.yaml", &held)]);
    c.wait_for(
        &["-n", "shop", "pod", "held"],
        "{.status.phase}",
        "Running",
        WAIT,
    );
    let held_uid = get("held", "{.metadata.uid}");
    as_alice(&["delete", "pod", "held", "--wait=false"]);
    let containers_of = |uid: &str| {
        let out = leftovers.podman(&[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("label=io.oxshift.pod-uid={uid}"),
        ]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = Instant::now() + WAIT;
    while !containers_of(&held_uid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the held pod's containers were not removed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let killing = c.kubectl_ok(&[
        "-n",
        "shop",
        "get",
        "events",
        "-o",
        r#"jsonpath={range .items[?(@.involvedObject.name=="held")]}{.reason}: {.message}|{end}"#,
    ]);
    assert!(
        killing.contains("Killing: Stopping container main"),
        "{killing}"
    );
    as_alice(&[
        "patch",
        "pod",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);

    // Deleted, a pod's containers and network namespace are gone.
    let uid = get("web", "{.metadata.uid}");
    let netns: String = uid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(12)
        .collect();
    let netns = format!("/run/netns/oxshift-{netns}");
    assert!(Path::new(&netns).exists(), "{netns}");
    as_alice(&[
        "delete",
        "pod",
        "web",
        "crash",
        "probed",
        "once",
        "missing",
        "sided",
        "--wait=true",
    ]);
    let deadline = Instant::now() + WAIT;
    loop {
        let containers = leftovers.podman(&[
            "ps",
            "--all",
            "--quiet",
            "--filter",
            &format!("label=io.oxshift.pod-uid={uid}"),
        ]);
        let remaining = String::from_utf8_lossy(&containers.stdout)
            .trim()
            .to_string();
        if remaining.is_empty() && !Path::new(&netns).exists() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left after deletion: containers {remaining:?}, {netns}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Every deleted pod's address is given back.
    let ipam = c.data_dir().join("node/ipam");
    while std::fs::read_dir(&ipam).unwrap().next().is_some() {
        if Instant::now() > deadline {
            let held: Vec<String> = std::fs::read_dir(&ipam)
                .unwrap()
                .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                .collect();
            let events = c.kubectl_ok(&[
                "-n",
                "shop",
                "get",
                "events",
                "-o",
                r#"jsonpath={range .items[*]}{.involvedObject.name}={.involvedObject.uid} {.reason}: {.message}{"\n"}{end}"#,
            ]);
            let ps = leftovers.podman(&["ps", "--all", "--format", "{{.Names}} {{.Status}}"]);
            let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
            panic!(
                "addresses still held by pods {held:?} after every pod was deleted:\n{events}\n{}\n{}\n{}",
                String::from_utf8_lossy(&ps.stdout),
                String::from_utf8_lossy(&netns.stdout),
                c.log()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        TcpStream::connect_timeout(
            &format!("{ip}:8080").parse().unwrap(),
            Duration::from_secs(1)
        )
        .is_err()
    );
}
