//! Nodes cordoned and drained by a cluster admin on simulated nodes, `oc adm` beside
//! kubectl: each drains a node of its own that holds one pod of a deployment guarded by a
//! disruption budget (and a daemon pod), and their outputs are compared with the nodes'
//! and pods' names masked — refused for local storage, given up at `--timeout`, and waiting
//! on the budget until the deployment grows, then evicting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::{Backend, Cluster, oc_binary, wait_until};

const WAIT: Duration = Duration::from_secs(120);

fn workload(name: &str, pool: &str) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {pool: "yes"},
                    "terminationGracePeriodSeconds": 1,
                    "volumes": [{"name": "scratch", "emptyDir": {}}],
                    "containers": [{"name": "main", "image": "registry.invalid/shop:1",
                        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
                },
            },
        },
    })
    .to_string()
}

fn budget(name: &str) -> String {
    serde_json::json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}},
    })
    .to_string()
}

fn daemon_set() -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "main", "image": "registry.invalid/agent:1"}]},
            },
        },
    })
    .to_string()
}

/// What a drain printed, with names masked and a line repeated in a row kept once (the
/// retries' count depends on timing).
fn masked(
    out: &(String, String, Option<i32>),
    names: &[(&str, &str)],
) -> (String, String, Option<i32>) {
    let mask = |text: &str| {
        let mut text = text.to_string();
        for (from, to) in names {
            text = text.replace(from, to);
        }
        let mut lines: Vec<&str> = Vec::new();
        for line in text.lines() {
            if lines.last() != Some(&line) {
                lines.push(line);
            }
        }
        lines.iter().map(|l| format!("{l}\n")).collect::<String>()
    };
    (mask(&out.0), mask(&out.1), out.2)
}

fn outcome(out: &Output) -> (String, String, Option<i32>) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// A command run in the background, its output gathered as it comes.
struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn gather(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                return;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            gather(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            gather(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Running {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn finish(mut self) -> (String, String, Option<i32>) {
        let status = wait_until("the drain to end", WAIT, || self.child.try_wait().unwrap());
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let text = |s: &Arc<Mutex<String>>| s.lock().unwrap().clone();
        (text(&self.stdout), text(&self.stderr), status.code())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn oc_command(home: &Path, kubeconfig: &str, args: &[&str]) -> Command {
    let mut command = Command::new(oc_binary());
    command
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args);
    command
}

#[test]
fn a_drain_waits_for_the_budget_and_prints_as_kubectl() {
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
            "10.128.224.0/23",
        ],
    );
    let _agents = c.node_agent(
        "drains",
        &[
            "--runtime",
            "simulated",
            "--count",
            "2",
            "--name-prefix",
            "drn-",
            "--port",
            "0",
            "--pod-cidr",
            "10.128.226.0/23",
        ],
    );
    for node in ["aio", "drn-0", "drn-1"] {
        c.wait_for(
            &["node", node],
            r#"{.status.conditions[?(@.type=="Ready")].status}"#,
            "True",
            WAIT,
        );
    }
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let admin = c.kubeconfig().display().to_string();
    let oc = |args: &[&str]| outcome(&oc_command(&home, &admin, args).output().unwrap());
    let kubectl = |args: &[&str]| outcome(&c.kubectl(args));

    // The spare node (aio) takes either deployment's pods; drn-0 only a's, drn-1 only b's.
    c.kubectl_ok(&["label", "node", "aio", "pool-a=yes", "pool-b=yes"]);
    c.kubectl_ok(&["label", "node", "drn-0", "pool-a=yes"]);
    c.kubectl_ok(&["label", "node", "drn-1", "pool-b=yes"]);

    // Cordoned while the workloads start, so that each lands on its own node.
    let cordoned = oc(&["adm", "cordon", "aio"]);
    assert_eq!(
        cordoned,
        ("node/aio cordoned\n".into(), String::new(), Some(0))
    );
    assert_eq!(oc(&["adm", "cordon", "aio"]), kubectl(&["cordon", "aio"]));
    assert_eq!(
        kubectl(&["get", "node", "aio", "-o", "jsonpath={.spec.unschedulable}"]).0,
        "true"
    );
    c.kubectl_ok(&["create", "namespace", "shop"]);
    for (name, body) in [
        ("a.json", workload("a", "pool-a")),
        ("b.json", workload("b", "pool-b")),
        ("pdb-a.json", budget("a")),
        ("pdb-b.json", budget("b")),
        ("agent.json", daemon_set()),
    ] {
        c.kubectl_ok(&["create", "-f", &c.file(name, &body)]);
    }
    for target in ["deployment/a", "deployment/b", "daemonset/agent"] {
        c.kubectl_ok(&["rollout", "status", target, "-n", "shop", "--timeout=120s"]);
    }
    let pod_on = |app: &str, node: &str| {
        let out = c.kubectl_ok(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            &format!("app={app}"),
            "--field-selector",
            &format!("spec.nodeName={node}"),
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ]);
        assert!(
            !out.is_empty() && !out.contains(' '),
            "{app} on {node}: {out:?}"
        );
        out
    };
    let (pod_a, pod_b) = (pod_on("a", "drn-0"), pod_on("b", "drn-1"));
    let (agent_0, agent_1) = (pod_on("agent", "drn-0"), pod_on("agent", "drn-1"));
    for pdb in ["a", "b"] {
        c.wait_for(
            &["pdb", pdb, "-n", "shop"],
            "{.status.currentHealthy} {.status.disruptionsAllowed}",
            "1 0",
            WAIT,
        );
    }
    let uncordoned = oc(&["adm", "uncordon", "aio"]);
    assert_eq!(uncordoned.0, "node/aio uncordoned\n");
    assert_eq!(
        oc(&["adm", "uncordon", "aio"]),
        kubectl(&["uncordon", "aio"])
    );

    let on_a = [
        ("drn-0", "NODE"),
        (pod_a.as_str(), "POD"),
        (agent_0.as_str(), "DAEMON"),
    ];
    let on_b = [
        ("drn-1", "NODE"),
        (pod_b.as_str(), "POD"),
        (agent_1.as_str(), "DAEMON"),
    ];
    let same = |oc_out: (String, String, Option<i32>),
                kubectl_out: (String, String, Option<i32>)| {
        let (ours, theirs) = (masked(&oc_out, &on_a), masked(&kubectl_out, &on_b));
        assert_eq!(ours, theirs, "oc: {oc_out:?}\nkubectl: {kubectl_out:?}");
        ours
    };

    // The pods' emptyDir stops both drains (after cordoning).
    let refused = same(
        oc(&["adm", "drain", "drn-0", "--ignore-daemonsets"]),
        kubectl(&["drain", "drn-1", "--ignore-daemonsets"]),
    );
    assert_eq!(refused.0, "node/NODE cordoned\n");
    assert!(refused.1.contains("local storage"), "{refused:?}");
    assert_eq!(refused.2, Some(1));

    // The budget allows no disruption: both give up at the timeout.
    let flags = ["--ignore-daemonsets", "--delete-emptydir-data"];
    let with = |node: &'static str, extra: &[&'static str]| {
        let mut args = vec![node];
        args.extend(flags);
        args.extend(extra);
        args
    };
    let timed_out = same(
        oc(&[&["adm", "drain"][..], &with("drn-0", &["--timeout=2s"])].concat()),
        kubectl(&[&["drain"][..], &with("drn-1", &["--timeout=2s"])].concat()),
    );
    assert!(
        timed_out.1.contains("global timeout reached: 2s"),
        "{timed_out:?}"
    );
    assert!(
        timed_out
            .1
            .contains("Cannot evict pod as it would violate the pod's disruption budget."),
        "{timed_out:?}"
    );

    // Without a timeout both wait, refused every 5 s, until the deployments grow.
    let ours = Running::start(oc_command(
        &home,
        &admin,
        &[&["adm", "drain"][..], &with("drn-0", &[])].concat(),
    ));
    let theirs = Running::start(c.kubectl_command(&[&["drain"][..], &with("drn-1", &[])].concat()));
    let refused = |r: &Running| r.stderr.lock().unwrap().contains("will retry after 5s");
    let deadline = std::time::Instant::now() + WAIT;
    while !(refused(&ours) && refused(&theirs)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the drains not refused by the budget: oc {:?} {:?}, kubectl {:?} {:?}\n{}\n{}",
            ours.stdout.lock().unwrap(),
            ours.stderr.lock().unwrap(),
            theirs.stdout.lock().unwrap(),
            theirs.stderr.lock().unwrap(),
            c.kubectl_ok(&["get", "pods,pdb", "-n", "shop", "-o", "yaml"]),
            c.log()
                .lines()
                .filter(|l| l.contains("evict") || l.contains(pod_a.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    c.kubectl_ok(&[
        "scale",
        "deployment",
        "a",
        "b",
        "-n",
        "shop",
        "--replicas=2",
    ]);
    let (ours, theirs) = (ours.finish(), theirs.finish());
    let drained = same(ours, theirs);
    assert_eq!(drained.2, Some(0), "{drained:?}");
    assert!(
        drained.0.ends_with("pod/POD evicted\nnode/NODE drained\n"),
        "{drained:?}"
    );
    assert_eq!(
        drained.1.lines().next().unwrap_or_default(),
        "Warning: ignoring DaemonSet-managed Pods: shop/DAEMON"
    );
    // The evicted pods came back on the spare node; the daemon pods stayed.
    for app in ["a", "b"] {
        wait_until("the replacement on the spare node", WAIT, || {
            let nodes = c.kubectl_ok(&[
                "get",
                "pods",
                "-n",
                "shop",
                "-l",
                &format!("app={app}"),
                "-o",
                "jsonpath={.items[*].spec.nodeName}",
            ]);
            (nodes == "aio aio").then_some(())
        });
    }
    pod_on("agent", "drn-0");
    pod_on("agent", "drn-1");
}
