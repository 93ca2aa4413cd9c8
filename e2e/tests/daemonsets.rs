//! DaemonSets as a project admin drives them, on simulated nodes: one pod on each node that
//! fits (with the daemon tolerations, pinned by node affinity), none left where a taint
//! forbids it, a new template rolled out node by node with its revision history, and undone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::oc::same_as_kubectl;
use e2e::wait_until;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(120);

fn daemon_set(image: &str) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "main", "image": image}],
                },
            },
        },
    })
    .to_string()
}

#[test]
fn a_daemon_set_runs_one_pod_per_fitting_node_and_rolls_node_by_node() {
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
            "10.128.220.0/23",
        ],
    );
    let _agents = c.node_agent(
        "daemons",
        &[
            "--runtime",
            "simulated",
            "--count",
            "2",
            "--name-prefix",
            "dsn-",
            "--port",
            "0",
            "--pod-cidr",
            "10.128.222.0/23",
        ],
    );
    for node in ["aio", "dsn-0", "dsn-1"] {
        c.wait_for(
            &["node", node],
            r#"{.status.conditions[?(@.type=="Ready")].status}"#,
            "True",
            WAIT,
        );
    }
    c.kubectl_ok(&["create", "namespace", "daemons"]);
    let alice = c.user_with_role("alice", &[], "admin", "daemons");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "daemons", args);
    let get = |what: &str, path: &str| as_alice(&["get", what, "-o", &format!("jsonpath={path}")]);
    let nodes_of_pods = || {
        let out = get("pods", "{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}");
        let mut nodes: Vec<String> = out.lines().map(str::to_string).collect();
        nodes.sort();
        nodes
    };

    // One pod on each of the three nodes, bound by the scheduler to the node it is pinned to.
    as_alice(&[
        "create",
        "-f",
        &c.file("agent.json", &daemon_set("registry.invalid/agent:1")),
    ]);
    let rollout = as_alice(&["rollout", "status", "daemonset/agent", "--timeout=120s"]);
    assert!(
        rollout.contains("daemon set \"agent\" successfully rolled out"),
        "{rollout}"
    );
    assert_eq!(nodes_of_pods(), ["aio", "dsn-0", "dsn-1"]);
    let status = "{.status.desiredNumberScheduled} {.status.currentNumberScheduled} {.status.numberReady} {.status.updatedNumberScheduled} {.status.numberAvailable} {.status.numberMisscheduled} {.status.observedGeneration}";
    assert_eq!(get("daemonset/agent", status), "3 3 3 3 3 0 1");
    let pod = get("pods", "{.items[0].metadata.name}");
    assert!(pod.starts_with("agent-"), "{pod}");
    let pinned = get(
        &format!("pod/{pod}"),
        "{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key}={.spec.nodeName}",
    );
    let pinned_to = get(
        &format!("pod/{pod}"),
        "{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].values[0]}",
    );
    assert_eq!(pinned, format!("metadata.name={pinned_to}"));
    let tolerations = get(&format!("pod/{pod}"), "{.spec.tolerations[*].key}");
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable",
    ] {
        assert!(tolerations.contains(key), "{tolerations}");
    }
    let hash = get(
        &format!("pod/{pod}"),
        "{.metadata.labels.controller-revision-hash}",
    );
    let revision = get("controllerrevisions", "{.items[*].metadata.name}");
    assert_eq!(revision, format!("agent-{hash}"));

    // A node tainted NoExecute loses its daemon pod; a cordoned one keeps its own.
    c.kubectl_ok(&["taint", "node", "dsn-1", "dedicated=infra:NoExecute"]);
    c.kubectl_ok(&["cordon", "dsn-0"]);
    wait_until("the pod off dsn-1", WAIT, || {
        (get(
            "daemonset/agent",
            "{.status.desiredNumberScheduled} {.status.numberMisscheduled}",
        ) == "2 0"
            && nodes_of_pods() == ["aio", "dsn-0"])
        .then_some(())
    });

    // A new template: the pods are replaced node by node, never more than one unavailable.
    as_alice(&[
        "apply",
        "-f",
        &c.file("agent2.json", &daemon_set("registry.invalid/agent:2")),
    ]);
    wait_until("the new template everywhere", WAIT, || {
        let s = get(
            "daemonset/agent",
            "{.status.observedGeneration} {.status.updatedNumberScheduled} {.status.numberAvailable} {.status.numberUnavailable}",
        );
        let fields: Vec<&str> = s.split(' ').collect();
        if fields.len() == 4 && fields[0] == "2" {
            let unavailable: i32 = fields[3].parse().unwrap_or(0);
            assert!(unavailable <= 1, "more than one node without its pod: {s}");
        }
        (s == "2 2 2 ").then_some(())
    });
    let images = get("pods", "{.items[*].spec.containers[0].image}");
    assert_eq!(images, "registry.invalid/agent:2 registry.invalid/agent:2");
    let rollout = as_alice(&["rollout", "status", "daemonset/agent", "--timeout=60s"]);
    assert!(rollout.contains("successfully rolled out"), "{rollout}");
    let history = as_alice(&["rollout", "history", "daemonset/agent"]);
    let revisions: Vec<&str> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["1", "2"], "{history}");

    // The taint gone, dsn-1 gets its pod back, of the new template.
    c.kubectl_ok(&["taint", "node", "dsn-1", "dedicated=infra:NoExecute-"]);
    wait_until("a pod on dsn-1 again", WAIT, || {
        (nodes_of_pods() == ["aio", "dsn-0", "dsn-1"]
            && get("daemonset/agent", "{.status.desiredNumberScheduled} {.status.numberReady} {.status.updatedNumberScheduled}") == "3 3 3")
            .then_some(())
    });

    // Undone, the first template comes back under a new number, its revision renumbered.
    as_alice(&["rollout", "undo", "daemonset/agent"]);
    wait_until("the first template everywhere again", WAIT, || {
        let images = get("pods", "{.items[*].spec.containers[0].image}");
        let s = get(
            "daemonset/agent",
            "{.status.updatedNumberScheduled} {.status.numberAvailable}",
        );
        (images == "registry.invalid/agent:1 registry.invalid/agent:1 registry.invalid/agent:1"
            && s == "3 3")
            .then_some(())
    });
    let history = as_alice(&["rollout", "history", "daemonset/agent"]);
    let revisions: Vec<&str> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
    let first = get(&format!("controllerrevision/agent-{hash}"), "{.revision}");
    assert_eq!(first, "3");

    // `oc rollout status|history|undo` print kubectl's lines, from the same revisions.
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    for args in [
        &["rollout", "status", "daemonset/agent"][..],
        &["rollout", "history", "daemonset/agent"],
        &["rollout", "history", "daemonset/agent", "--revision=2"],
        &["rollout", "history", "daemonset/agent", "--revision=9"],
        &["rollout", "undo", "daemonset/agent", "--to-revision=9"],
    ] {
        same_as_kubectl(&c, &home, &alice, &[&["-n", "daemons"][..], args].concat());
    }
    // The current template's revision is skipped (kubectl compares the revision's bytes with
    // its own serialization of the template, so it patches anyway here).
    let oc = |args: &[&str]| {
        let out = e2e::oc::oc(
            &home,
            &[&["--kubeconfig", alice.as_str(), "-n", "daemons"][..], args].concat(),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        oc(&["rollout", "undo", "daemonset/agent", "--to-revision=3"]),
        "daemonset.apps/agent skipped rollback (current template already matches revision 3)\n"
    );
    assert_eq!(
        oc(&["rollout", "undo", "daemonset/agent"]),
        "daemonset.apps/agent rolled back\n"
    );
    wait_until("the second template back", WAIT, || {
        (get(
            "daemonset/agent",
            "{.spec.template.spec.containers[0].image}",
        ) == "registry.invalid/agent:2")
            .then_some(())
    });
}
