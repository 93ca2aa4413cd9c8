//! Image triggers across a controller manager's restart: a project admin's Deployments and
//! DeploymentConfigs (after `oc login`) follow one image stream tag; the tag moves, the
//! manager hangs and is killed as it starts on the followers' new ReplicaSets and
//! ReplicationControllers, and the manager that takes over finishes the work: every follower
//! ends with exactly one new version, none made twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use e2e::oc::{alice_in_project, oc};
use e2e::{Backend, Cluster, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);
const FOLLOWERS: usize = 15;

/// A Deployment on `image`, following `app:latest`.
fn deployment(name: &str, image: &str) -> Value {
    let triggers = json!([{"from": {"kind": "ImageStreamTag", "name": "app:latest"},
        "fieldPath": "spec.template.spec.containers[?(@.name==\"c\")].image"}]);
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "annotations": {"image.openshift.io/triggers": triggers.to_string()}},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

/// A config following `app:latest`, deployed once the tag has an image.
fn config(name: &str) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"app": name},
            "triggers": [{"type": "ConfigChange"}, {"type": "ImageChange", "imageChangeParams": {
                "automatic": true, "containerNames": ["c"],
                "from": {"kind": "ImageStreamTag", "name": "app:latest"}}}],
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": " "}]}}}})
}

/// The names of `what` in the project, by their controller's name.
fn by_owner(c: &Cluster, kubeconfig: &str, what: &str) -> BTreeMap<String, Vec<String>> {
    let out = c.kubectl_ok(&["--kubeconfig", kubeconfig, "get", what, "-o", "json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in list["items"].as_array().unwrap() {
        let owner = item["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or_default();
        let name = item["metadata"]["name"].as_str().unwrap().to_string();
        owners.entry(owner.to_string()).or_default().push(name);
    }
    owners
}

/// Each follower's versions: ReplicaSets of the Deployments `d<i>`, replication controllers
/// of the configs `dc<i>`.
fn versions(c: &Cluster, kubeconfig: &str) -> BTreeMap<String, Vec<String>> {
    let mut all = by_owner(c, kubeconfig, "replicasets");
    all.extend(by_owner(c, kubeconfig, "replicationcontrollers"));
    all
}

/// Whether every follower has exactly `n` versions (none more).
fn all_at(versions: &BTreeMap<String, Vec<String>>, n: usize) -> bool {
    versions.len() == 2 * FOLLOWERS && versions.values().all(|v| v.len() == n)
}

#[test]
fn each_follower_rolls_once_across_a_manager_restart() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--htpasswd",
            htpasswd.to_str().unwrap(),
            "--controllers=false",
        ],
    );
    let lease = ["--leader-elect-lease-duration", "3s"];
    let mut first = c.controller_manager("first", &lease);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let kubeconfig = alice_in_project(&c, &home, "trig");

    let apply = |name: &str, items: Vec<Value>| {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let file = c.file(name, &list.to_string());
        let out = oc(&home, &["apply", "-f", &file]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    apply(
        "stream.json",
        vec![
            json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "app"}}),
        ],
    );
    // The integrated registry's part: the tag moves (as the cluster admin writes it).
    let tag = |image: &str| {
        let status = json!({"status": {"dockerImageRepository": "", "tags": [{"tag": "latest",
            "items": [{"created": "2026-01-01T00:00:00Z", "dockerImageReference": image,
                "image": format!("sha256:{:064x}", image.len()), "generation": 1}]}]}});
        c.kubectl_ok(&[
            "-n",
            "trig",
            "patch",
            "imagestream",
            "app",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ]);
    };
    let v1 = "127.0.0.1:5000/trig/app@sha256:1";
    tag(v1);
    // The Deployments start on the tag's image, the configs wait for it.
    let mut followers = Vec::new();
    for i in 0..FOLLOWERS {
        followers.push(deployment(&format!("d{i}"), v1));
        followers.push(config(&format!("dc{i}")));
    }
    apply("followers.json", followers);
    wait_until("every follower's first version", WAIT, || {
        all_at(&versions(&c, &kubeconfig), 1).then_some(())
    });

    // The tag moves and the manager hangs at once, then dies: whatever it had begun (the
    // followers' images, the configs' versions, their new deployments) is left half done.
    tag("127.0.0.1:5000/trig/app@sha256:22");
    first.freeze();
    let left = versions(&c, &kubeconfig);
    first.kill();
    assert!(
        !all_at(&left, 2),
        "the rollout ended before the manager hung"
    );
    let second = c.controller_manager("second", &lease);
    let done = wait_until("every follower's second version", WAIT, || {
        let now = versions(&c, &kubeconfig);
        let extra: Vec<_> = now.iter().filter(|(_, v)| v.len() > 2).collect();
        assert!(extra.is_empty(), "versions made twice: {extra:?}");
        all_at(&now, 2).then_some(now)
    });
    // The configs' second deployments are version 2, and the configs record it.
    for i in 0..FOLLOWERS {
        let name = format!("dc{i}");
        let mut rcs = done[&name].clone();
        rcs.sort();
        assert_eq!(rcs, vec![format!("{name}-1"), format!("{name}-2")]);
    }
    let out = c.kubectl_ok(&[
        "--kubeconfig",
        &kubeconfig,
        "get",
        "deploymentconfigs",
        "-o",
        "jsonpath={range .items[*]}{.status.latestVersion}{\"\\n\"}{end}",
    ]);
    assert_eq!(
        out.lines().filter(|l| *l == "2").count(),
        FOLLOWERS,
        "latest versions: {out}\n{}",
        second.log()
    );
}
