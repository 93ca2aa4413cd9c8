//! Build strategies as permissions, as a project admin meets them after `oc login`: the
//! Docker and Source strategies are everyone's, the Custom one nobody's until a cluster admin
//! grants `system:build-strategy-custom` — creating a config or a build with it, or starting
//! a build of a config an admin made, is refused with upstream's message. Once granted, a
//! Custom build ends at once with upstream's reason for a pod that cannot be made, since the
//! nodes do not run builder images privileged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, oc};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

fn config(name: &str, strategy: Value) -> Value {
    json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": name},
        "spec": {"source": {"git": {"uri": "git://127.0.0.1:1/repo"}},
            "strategy": strategy}})
}

fn custom() -> Value {
    json!({"type": "Custom", "customStrategy": {"from": {"kind": "DockerImage",
        "name": "127.0.0.1:5000/tools/custom-builder:1"}}})
}

/// `oc create -f` of `object` as alice: (succeeded, stderr).
fn create(home: &Path, dir: &Path, object: &Value) -> (bool, String) {
    let file = dir.join(format!(
        "{}.json",
        object["metadata"]["name"].as_str().unwrap()
    ));
    std::fs::write(&file, object.to_string()).unwrap();
    let out = oc(home, &["create", "-f", file.to_str().unwrap()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn can_i(kubeconfig: &str, subresource: &str) -> String {
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            kubeconfig,
            "auth",
            "can-i",
            "create",
            "builds",
            "--subresource",
            subresource,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_custom_strategy_needs_its_permission() {
    let (dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "strategies");
    assert_eq!(can_i(&kubeconfig, "docker"), "yes");
    assert_eq!(can_i(&kubeconfig, "source"), "yes");
    assert_eq!(can_i(&kubeconfig, "custom"), "no");

    let docker = config("web", json!({"type": "Docker", "dockerStrategy": {}}));
    let (created, err) = create(&home, dir.path(), &docker);
    assert!(created, "{err}");
    let (created, err) = create(&home, dir.path(), &config("tool", custom()));
    assert!(!created);
    assert!(
        err.contains(
            "buildconfigs.build.openshift.io \"tool\" is forbidden: build strategy Custom is not allowed"
        ),
        "{err}"
    );
    let build = json!({"apiVersion": "build.openshift.io/v1", "kind": "Build",
        "metadata": {"name": "tool-1"},
        "spec": {"source": {"git": {"uri": "git://127.0.0.1:1/repo"}}, "strategy": custom()}});
    let (created, err) = create(&home, dir.path(), &build);
    assert!(!created);
    assert!(
        err.contains(
            "builds.build.openshift.io \"tool-1\" is forbidden: build strategy Custom is not allowed"
        ),
        "{err}"
    );

    // A config the cluster admin made: alice may not start it.
    let file = dir.path().join("admin-tool.json");
    std::fs::write(&file, config("tool", custom()).to_string()).unwrap();
    c.kubectl_ok(&["-n", "strategies", "create", "-f", file.to_str().unwrap()]);
    let out = oc(&home, &["start-build", "tool"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "buildconfigs.build.openshift.io \"tool\" is forbidden: build strategy Custom is not allowed"
        ),
        "{err}"
    );

    // Granted, alice makes Custom configs; their builds end with upstream's reason.
    c.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "alice-custom-builds",
        "--clusterrole=system:build-strategy-custom",
        "--user=alice",
    ]);
    wait_until("alice may use the Custom strategy", WAIT, || {
        (can_i(&kubeconfig, "custom") == "yes").then_some(())
    });
    let (created, err) = create(&home, dir.path(), &config("tool2", custom()));
    assert!(created, "{err}");
    let out = oc(&home, &["start-build", "tool2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ended = wait_until("tool2-1 to end", WAIT, || {
        let out = oc(&home, &["get", "build", "tool2-1", "-o", "json"]);
        let build: Value = serde_json::from_slice(&out.stdout).ok()?;
        (build["status"]["phase"] == "Error").then_some(build)
    });
    assert_eq!(ended["status"]["reason"], "CannotCreateBuildPodSpec");
    assert_eq!(ended["status"]["message"], "Failed to create pod spec.");
    let pod = oc(&home, &["get", "pod", "tool2-1-build"]);
    assert!(!pod.status.success(), "no build pod is made");
    let events = String::from_utf8_lossy(
        &oc(
            &home,
            &["get", "events", "-o", "jsonpath={.items[*].message}"],
        )
        .stdout,
    )
    .into_owned();
    assert!(
        events.contains("the Custom build strategy is not run by this cluster"),
        "{events}"
    );
}
