//! Pods placed and kept by the scheduler and the workload controllers that `oxshift start`
//! runs. Node objects are registered by the test, and a small stand-in for node agents marks
//! bound pods running and ready with an address through `pods/status`; the API server, the
//! scheduler and the controllers are the real ones.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster};

fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn register_node(c: &Cluster, name: &str) {
    let node = format!(
        r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}","labels":{{"kubernetes.io/hostname":"{name}"}}}}}}"#
    );
    let file = c.file(&format!("{name}.json"), &node);
    c.kubectl_ok(&["create", "-f", &file]);
    let status = r#"{"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status"}]}}"#;
    c.kubectl_ok(&[
        "patch",
        "node",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ]);
}

/// Marks every bound pod not yet running as running and ready, with an address, and deletes
/// for good the bound pods being deleted, until stopped: what node agents would do.
/// It holds the cluster weakly: a failing test drops the cluster (and stops its server).
fn node_stand_in(c: Arc<Cluster>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let c = Arc::downgrade(&c);
    std::thread::spawn(move || {
        let mut next_ip = 10;
        while !stop.load(Ordering::Relaxed) {
            let Some(c) = c.upgrade() else {
                return;
            };
            let out = c.kubectl(&["get", "pods", "-A", "-o", "json"]);
            let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            for pod in list["items"].as_array().into_iter().flatten() {
                let bound = pod["spec"]["nodeName"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty());
                let name = pod["metadata"]["name"].as_str().unwrap_or_default();
                let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
                // A pod being deleted: its containers stopped, the agent deletes it for good.
                if bound && !pod["metadata"]["deletionTimestamp"].is_null() {
                    c.kubectl(&[
                        "delete",
                        "pod",
                        name,
                        "-n",
                        namespace,
                        "--grace-period=0",
                        "--force",
                    ]);
                    continue;
                }
                let phase_set =
                    pod["status"]["phase"] == "Running" || pod["status"]["phase"] == "Succeeded";
                if !bound || phase_set {
                    continue;
                }
                next_ip += 1;
                // Pods of jobs run to completion at once.
                let phase = match pod["metadata"]["labels"].get("job-name") {
                    Some(_) => "Succeeded",
                    None => "Running",
                };
                let status = format!(
                    r#"{{"status":{{"phase":"{phase}","podIP":"10.128.0.{next_ip}","podIPs":[{{"ip":"10.128.0.{next_ip}"}}],"hostIP":"127.0.0.1","conditions":[{{"type":"Ready","status":"True"}},{{"type":"ContainersReady","status":"True"}},{{"type":"Initialized","status":"True"}}]}}}}"#
                );
                c.kubectl(&[
                    "patch",
                    "pod",
                    pod["metadata"]["name"].as_str().unwrap_or_default(),
                    "-n",
                    pod["metadata"]["namespace"].as_str().unwrap_or_default(),
                    "--subresource=status",
                    "--type=strategic",
                    "-p",
                    &status,
                ]);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
}

fn json(c: &Cluster, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&c.kubectl_ok(&all)).unwrap()
}

/// The running stand-in for node agents; dropped (also when a test fails), it stops and
/// lets go of the cluster, so that the cluster's server is stopped with it.
struct StandIn {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A cluster with three ready nodes, the stand-in for their agents, and a project `team`
/// that alice administers (her kubeconfig's path). The stand-in must be dropped before the
/// cluster (declared after it).
fn cluster() -> (Arc<Cluster>, StandIn, String) {
    let c = Arc::new(Cluster::start(Backend::Embedded));
    for n in ["node-a", "node-b", "node-c"] {
        register_node(&c, n);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stand_in = StandIn {
        thread: Some(node_stand_in(c.clone(), stop.clone())),
        stop,
    };
    c.kubectl_ok(&["create", "namespace", "team"]);
    let alice = c.user_with_role("alice", &["system:authenticated"], "admin", "team");
    (c, stand_in, alice.to_str().unwrap().to_string())
}

fn rollout_status(c: &Cluster, alice: &str, name: &str) {
    let out = c.kubectl_ok(&[
        "--kubeconfig",
        alice,
        "-n",
        "team",
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=90s",
    ]);
    assert!(
        out.ends_with(&format!("deployment \"{name}\" successfully rolled out\n")),
        "{out}"
    );
}

fn rollout_status_admin(c: &Cluster, name: &str) {
    let target = format!("deployment/{name}");
    c.kubectl_ok(&["-n", "team", "rollout", "status", &target, "--timeout=90s"]);
}

/// The images of the pods `selector` selects that are not being deleted, sorted.
fn images(c: &Cluster, selector: &str) -> Vec<String> {
    let pods = json(c, &["get", "pods", "-n", "team", "-l", selector]);
    let mut images: Vec<String> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| {
            p["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    images.sort();
    images
}

#[test]
fn deployments_roll_out_back_and_scale() {
    let (c, _stand_in, alice) = cluster();
    let alice = alice.as_str();
    let kubectl = |args: &[&str]| c.kubectl_ok_in(alice, "team", args);
    kubectl(&["create", "deployment", "front", "--image=x", "--replicas=3"]);
    rollout_status(&c, alice, "front");
    let d = json(&c, &["get", "deployment", "front", "-n", "team"]);
    let revision = &d["metadata"]["annotations"]["deployment.kubernetes.io/revision"];
    assert_eq!(revision, "1");
    assert_eq!(
        d["status"]["conditions"][0]["reason"],
        "MinimumReplicasAvailable"
    );
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        "NewReplicaSetAvailable"
    );
    let first = json(&c, &["get", "rs", "-n", "team", "-l", "app=front"])["items"][0].clone();
    let hash = first["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(first["metadata"]["name"], format!("front-{hash}"));
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    assert!(hash.bytes().all(|b| alphabet.contains(&b)), "{hash}");
    // A service of the deployment lists its pods' addresses.
    kubectl(&["create", "service", "clusterip", "front", "--tcp=80:8080"]);
    let pod_ips = || {
        let pods = json(&c, &["get", "pods", "-n", "team", "-l", "app=front"]);
        let mut ips: Vec<String> = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
            .collect();
        ips.sort();
        ips
    };
    let expected = pod_ips();
    assert_eq!(expected.len(), 3);
    let endpoints = eventually("endpoints of the service", || {
        let ep = json(&c, &["get", "endpoints", "front", "-n", "team"]);
        let ips: Vec<String> = ep["subsets"][0]["addresses"]
            .as_array()?
            .iter()
            .filter_map(|a| a["ip"].as_str().map(str::to_string))
            .collect();
        (ips == expected).then_some(ep)
    });
    assert_eq!(
        endpoints["subsets"][0]["ports"],
        serde_json::json!([{"name": "80-8080", "port": 8080, "protocol": "TCP"}])
    );
    assert_eq!(
        endpoints["subsets"][0]["addresses"][0]["targetRef"]["kind"],
        "Pod"
    );
    // And EndpointSlices of the same pods.
    let slice = eventually("an endpoint slice of the service", || {
        let list = json(
            &c,
            &[
                "get",
                "endpointslices",
                "-n",
                "team",
                "-l",
                "kubernetes.io/service-name=front",
            ],
        );
        let slice = list["items"].as_array()?.first()?.clone();
        (slice["endpoints"].as_array().map(Vec::len) == Some(3)).then_some(slice)
    });
    assert_eq!(
        slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "endpointslice-controller.k8s.io"
    );
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["endpoints"][0]["conditions"]["ready"], true);
    let table = kubectl(&[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=front",
    ]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]);
    // A service's Endpoints go with it.
    kubectl(&["create", "service", "clusterip", "gone", "--tcp=80:8080"]);
    eventually("endpoints of gone", || {
        c.kubectl(&["get", "endpoints", "gone", "-n", "team"])
            .status
            .success()
            .then_some(())
    });
    kubectl(&["delete", "service", "gone"]);
    eventually("endpoints of gone deleted", || {
        (!c.kubectl(&["get", "endpoints", "gone", "-n", "team"])
            .status
            .success())
        .then_some(())
    });
    // A new image rolls to a new ReplicaSet.
    kubectl(&["set", "image", "deployment/front", "x=y"]);
    rollout_status(&c, alice, "front");
    eventually("pods of the new image", || {
        (images(&c, "app=front") == ["y", "y", "y"]).then_some(())
    });
    let history = kubectl(&["rollout", "history", "deployment/front"]);
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );
    // Back to the first template: its ReplicaSet again, under revision 3.
    kubectl(&["rollout", "undo", "deployment/front"]);
    rollout_status(&c, alice, "front");
    eventually("pods of the first image", || {
        (images(&c, "app=front") == ["x", "x", "x"]).then_some(())
    });
    let rs = json(&c, &["get", "rs", &format!("front-{hash}"), "-n", "team"]);
    let revision = &rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"];
    assert_eq!(revision, "3");
    // Paused, a template change waits; resumed, it rolls out. A restart rolls out anew.
    kubectl(&["rollout", "pause", "deployment/front"]);
    kubectl(&["set", "env", "deployment/front", "A=1"]);
    let progressing = eventually("paused", || {
        let d = json(&c, &["get", "deployment", "front", "-n", "team"]);
        let p = d["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Progressing")?
            .clone();
        (p["reason"] == "DeploymentPaused").then_some(p)
    });
    assert_eq!(progressing["status"], "Unknown");
    assert_eq!(
        json(&c, &["get", "rs", "-n", "team", "-l", "app=front"])["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    kubectl(&["rollout", "resume", "deployment/front"]);
    rollout_status(&c, alice, "front");
    kubectl(&["rollout", "restart", "deployment/front"]);
    rollout_status(&c, alice, "front");
    let sets = json(&c, &["get", "rs", "-n", "team", "-l", "app=front"]);
    assert_eq!(sets["items"].as_array().unwrap().len(), 4);
    kubectl(&["scale", "deployment/front", "--replicas=5"]);
    rollout_status(&c, alice, "front");
    eventually("5 pods", || {
        (images(&c, "app=front").len() == 5).then_some(())
    });
}

#[test]
fn replica_sets_get_pods_bound_across_nodes() {
    let (c, _stand_in, alice) = cluster();
    let alice = alice.as_str();
    let rs = r#"{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"x","resources":{"requests":{"cpu":"100m"}}}]}}}}"#;
    let file = c.file("rs.json", rs);
    c.kubectl_ok(&["--kubeconfig", alice, "-n", "team", "create", "-f", &file]);
    let nodes = eventually("3 ready replicas", || {
        let rs = json(&c, &["get", "rs", "web", "-n", "team"]);
        if rs["status"]["readyReplicas"] != 3 || rs["status"]["availableReplicas"] != 3 {
            return None;
        }
        let pods = json(&c, &["get", "pods", "-n", "team", "-l", "app=web"]);
        let nodes: std::collections::BTreeSet<String> = pods["items"]
            .as_array()?
            .iter()
            .map(|p| {
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        Some(nodes)
    });
    assert_eq!(nodes.len(), 3, "replicas spread over the nodes: {nodes:?}");
    let pod = &json(&c, &["get", "pods", "-n", "team", "-l", "app=web"])["items"][0];
    let scheduled = pod["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["status"] == "True");
    assert!(scheduled, "{pod}");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
    assert_eq!(pod["spec"]["tolerations"][0]["tolerationSeconds"], 300);
    // Scaled down through the scale subresource: one pod goes.
    c.kubectl_ok(&[
        "--kubeconfig",
        alice,
        "-n",
        "team",
        "scale",
        "rs/web",
        "--replicas=2",
    ]);
    eventually("2 replicas", || {
        let pods = json(&c, &["get", "pods", "-n", "team", "-l", "app=web"]);
        (pods["items"].as_array()?.len() == 2).then_some(())
    });
    // A pod that fits no node: the condition and event say why, in upstream's words.
    let picky = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"picky"},"spec":{"nodeSelector":{"disk":"none"},"containers":[{"name":"c","image":"x"}]}}"#;
    let file = c.file("picky.json", picky);
    c.kubectl_ok(&["--kubeconfig", alice, "-n", "team", "create", "-f", &file]);
    let expected = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.";
    eventually("PodScheduled=False", || {
        let pod = json(&c, &["get", "pod", "picky", "-n", "team"]);
        let cond = pod["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "PodScheduled")?
            .clone();
        (cond["status"] == "False"
            && cond["reason"] == "Unschedulable"
            && cond["message"] == expected)
            .then_some(())
    });
    let events = eventually("FailedScheduling", || {
        let out = c.kubectl_ok(&[
            "--kubeconfig",
            alice,
            "-n",
            "team",
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=picky",
            "-o",
            "json",
        ]);
        let list: serde_json::Value = serde_json::from_str(&out).ok()?;
        list["items"]
            .as_array()?
            .iter()
            .find(|e| e["reason"] == "FailedScheduling")
            .cloned()
    });
    assert_eq!(events["message"], expected);
    assert_eq!(events["source"]["component"], "default-scheduler");
    // Binding an already bound pod is a conflict with upstream's message.
    let bound = json(&c, &["get", "pods", "-n", "team", "-l", "app=web"])["items"][0].clone();
    let name = bound["metadata"]["name"].as_str().unwrap();
    let binding = format!(
        r#"{{"apiVersion":"v1","kind":"Binding","metadata":{{"name":"{name}"}},"target":{{"kind":"Node","name":"node-a"}}}}"#
    );
    let file = c.file("binding.json", &binding);
    let err = c.kubectl_err(&[
        "create",
        "-n",
        "team",
        "--raw",
        &format!("/api/v1/namespaces/team/pods/{name}/binding"),
        "-f",
        &file,
    ]);
    assert!(
        err.contains(&format!("pod {name} is already assigned to node")),
        "{err}"
    );
    // Bound pods are listed by node with a field selector (what node agents watch).
    let on_node = json(
        &c,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            &format!(
                "spec.nodeName={}",
                bound["spec"]["nodeName"].as_str().unwrap()
            ),
        ],
    );
    assert!(!on_node["items"].as_array().unwrap().is_empty());
}

#[test]
fn a_node_whose_lease_stops_goes_unknown() {
    let c = Cluster::start_with(Backend::Embedded, &["--node-monitor-grace-period=3s"]);
    register_node(&c, "node-a");
    let lease = r#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-a","namespace":"kube-node-lease"},"spec":{"holderIdentity":"node-a","leaseDurationSeconds":40}}"#;
    let file = c.file("lease.json", lease);
    c.kubectl(&["create", "namespace", "kube-node-lease"]);
    c.kubectl_ok(&["create", "-f", &file]);
    // The lease is no longer renewed: the node is lost within the grace period.
    let node = eventually("node Unknown", || {
        let node = json(&c, &["get", "node", "node-a"]);
        let ready = node["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        (ready["status"] == "Unknown").then_some((node, ready))
    });
    assert_eq!(node.1["reason"], "NodeStatusUnknown");
    assert_eq!(node.1["message"], "Kubelet stopped posting node status.");
    let taints = eventually("unreachable taints", || {
        let node = json(&c, &["get", "node", "node-a"]);
        let taints: Vec<(String, String)> = node["spec"]["taints"]
            .as_array()?
            .iter()
            .map(|t| {
                (
                    t["key"].as_str().unwrap_or_default().to_string(),
                    t["effect"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        (taints.len() == 2).then_some(taints)
    });
    assert_eq!(
        taints,
        [
            (
                "node.kubernetes.io/unreachable".to_string(),
                "NoSchedule".to_string()
            ),
            (
                "node.kubernetes.io/unreachable".to_string(),
                "NoExecute".to_string()
            )
        ]
    );
}

#[test]
fn jobs_complete_and_expire() {
    let (c, _stand_in, alice) = cluster();
    let alice = alice.as_str();
    let kubectl = |args: &[&str]| c.kubectl_ok_in(alice, "team", args);
    kubectl(&["create", "job", "pi", "--image=x"]);
    kubectl(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    let job = json(&c, &["get", "job", "pi", "-n", "team"]);
    let types: Vec<&str> = job["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["SuccessCriteriaMet", "Complete"]);
    assert_eq!(
        job["status"]["conditions"][1]["reason"],
        "CompletionsReached"
    );
    assert_eq!(job["status"]["succeeded"], 1);
    assert!(job["status"]["completionTime"].is_string());
    // A job to be gone once finished.
    let short = r#"{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"brief"},"spec":{"completions":2,"parallelism":2,"ttlSecondsAfterFinished":0,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]}}}}"#;
    let file = c.file("brief.json", short);
    kubectl(&["create", "-f", &file]);
    eventually("the finished job deleted", || {
        let out = c.kubectl(&["get", "job", "brief", "-n", "team"]);
        (!out.status.success()).then_some(())
    });
}

#[test]
fn oc_scales_and_rolls_out_as_kubectl() {
    let (c, _stand_in, _) = cluster();
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = c.kubeconfig().display().to_string();
    // kubectl acts on `ka`, oc on `ob` (the same), and both print the same.
    let same = |args: &[&str]| {
        let run = |tool: &str, name: &str| {
            let mut all = vec!["--kubeconfig", kubeconfig.as_str(), "-n", "team"];
            let target = format!("deployment/{name}");
            all.extend(args.iter().map(|a| match *a {
                "TARGET" => target.as_str(),
                "NAME" => name,
                a => a,
            }));
            let out = e2e::oc::tool(&c, &home, tool, &all);
            e2e::oc::outcome(&out, name, "NAME")
        };
        let kubectl = run("kubectl", "ka");
        let oc = run("oc", "ob");
        assert_eq!(oc, kubectl, "{args:?}");
    };
    same(&[
        "create",
        "deployment",
        "NAME",
        "--image=x",
        "--replicas=2",
        "--port=8080",
    ]);
    let spec = |name: &str| {
        let d = json(&c, &["get", "deployment", name, "-n", "team"]);
        d["spec"].to_string().replace(name, "NAME")
    };
    assert_eq!(spec("ob"), spec("ka"));
    // `run` makes the same Pod, and says so alike (also when it exists).
    let run = [
        "run",
        "NAME",
        "--image=x",
        "--restart=Never",
        "--port=8080",
        "--env=A=1",
        "--image-pull-policy=IfNotPresent",
        "--command",
        "--",
        "sh",
        "-c",
        "true",
    ];
    same(&run);
    same(&run);
    let pod = |name: &str| {
        let p = json(&c, &["get", "pod", name, "-n", "team"]);
        let labels = p["metadata"]["labels"].to_string();
        let containers = p["spec"]["containers"].to_string().replace(name, "NAME");
        // The service-account token volume is named at random per pod.
        let token = "kube-api-access-";
        let masked = match containers.find(token) {
            Some(at) => {
                let end = (at + token.len() + 5).min(containers.len());
                format!("{}{token}XXXXX{}", &containers[..at], &containers[end..])
            }
            None => containers,
        };
        format!("{} {masked}", labels.replace(name, "NAME"))
    };
    assert_eq!(pod("ob"), pod("ka"));
    // Compared once rolled out: the waiting lines depend on timing.
    for name in ["ka", "ob"] {
        rollout_status_admin(&c, name);
    }
    same(&["rollout", "status", "TARGET", "--timeout=60s"]);
    same(&["scale", "TARGET", "--replicas=3"]);
    same(&["rollout", "pause", "TARGET"]);
    same(&["rollout", "pause", "TARGET"]);
    same(&["rollout", "resume", "TARGET"]);
    same(&["rollout", "resume", "TARGET"]);
    same(&["rollout", "restart", "TARGET"]);
    for name in ["ka", "ob"] {
        rollout_status_admin(&c, name);
    }
    same(&["rollout", "status", "TARGET", "--timeout=60s"]);
    same(&["rollout", "history", "TARGET"]);
    same(&["rollout", "undo", "TARGET"]);
    same(&["rollout", "undo", "TARGET", "--to-revision=9"]);
    for name in ["ka", "ob"] {
        rollout_status_admin(&c, name);
    }
    same(&["rollout", "history", "TARGET"]);
    same(&["rollout", "pause", "TARGET"]);
    same(&["rollout", "undo", "TARGET"]);
}

#[test]
fn evictions_keep_to_the_disruption_budget() {
    let (c, _stand_in, alice) = cluster();
    let alice = alice.as_str();
    let kubectl = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", alice, "-n", "team"];
        all.extend(args);
        c.kubectl(&all)
    };
    for n in ["web-1", "web-2", "web-3"] {
        let out = kubectl(&["run", n, "--image=x", "--labels=app=web"]);
        assert!(out.status.success(), "{out:?}");
    }
    let out = kubectl(&[
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--min-available=2",
    ]);
    assert!(out.status.success(), "{out:?}");
    let status = eventually("the budget allowing one disruption", || {
        let pdb = json(&c, &["get", "pdb", "web", "-n", "team"]);
        (pdb["status"]["currentHealthy"] == 3 && pdb["status"]["disruptionsAllowed"] == 1)
            .then(|| pdb["status"].clone())
    });
    assert_eq!(status["desiredHealthy"], 2);
    assert_eq!(status["expectedPods"], 3);
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["conditions"][0]["type"], "DisruptionAllowed");
    assert_eq!(status["conditions"][0]["reason"], "SufficientPods");
    let evict_with = |pod: &str, options: &str| {
        let body = format!(
            r#"{{"apiVersion":"policy/v1","kind":"Eviction","metadata":{{"name":"{pod}","namespace":"team"}},"deleteOptions":{options}}}"#
        );
        let file = c.file(&format!("evict-{pod}.json"), &body);
        let path = format!("/api/v1/namespaces/team/pods/{pod}/eviction");
        kubectl(&["create", "--raw", &path, "-f", &file])
    };
    let evict = |pod: &str| evict_with(pod, "{}");
    // A dry run takes nothing from the budget and deletes nothing.
    let dry = evict_with("web-3", r#"{"dryRun":["All"]}"#);
    assert!(dry.status.success(), "{dry:?}");
    let pdb = json(&c, &["get", "pdb", "web", "-n", "team"]);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 1);
    assert!(pdb["status"].get("disruptedPods").is_none());
    let pod = json(&c, &["get", "pod", "web-3", "-n", "team"]);
    assert!(pod["metadata"]["deletionTimestamp"].is_null());
    let first = evict("web-1");
    assert!(first.status.success(), "{first:?}");
    let second = evict("web-2");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(
            "Error from server (TooManyRequests): Cannot evict pod as it would violate the pod's disruption budget."
        ),
        "{stderr}"
    );
    // The evicted pod goes; the others stay, and the budget settles on no more disruptions.
    eventually("the evicted pod gone", || {
        (!kubectl(&["get", "pod", "web-1"]).status.success()).then_some(())
    });
    assert!(kubectl(&["get", "pod", "web-2"]).status.success());
    eventually("the budget without room", || {
        let pdb = json(&c, &["get", "pdb", "web", "-n", "team"]);
        (pdb["status"]["currentHealthy"] == 2
            && pdb["status"]["disruptionsAllowed"] == 0
            && pdb["status"]["conditions"][0]["reason"] == "InsufficientPods"
            && pdb["status"].get("disruptedPods").is_none())
        .then_some(())
    });
}
