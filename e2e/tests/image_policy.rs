//! The image policy's local names, as a project admin meets them after `oc login`: an image
//! stream with `lookupPolicy.local: true` lets pods and workloads name its tags as bare
//! `<stream>:<tag>`, resolved at admission to the tag's image; streams without it, and names
//! with a registry, are left alone unless the pod template asks for every name to be
//! resolved (`alpha.image.policy.openshift.io/resolve-names: "*"`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use e2e::oc::{alice_in_project, cluster_with_alice, oc};
use serde_json::{Value, json};

fn ok(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert!(
        out.status.success(),
        "oc {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn image_of(home: &Path, what: &str, path: &str) -> String {
    ok(home, &["get", what, "-o", &format!("jsonpath={{{path}}}")])
}

#[test]
fn local_names_resolve_to_the_tags_image() {
    let (_dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "lookup");
    let digest = format!("sha256:{}", "ab".repeat(32));
    let pinned = format!("127.0.0.1:5000/team/web@{digest}");
    // Two streams whose `latest` reference the same image; only `web` resolves local names.
    for stream in ["web", "plain"] {
        ok(
            &home,
            &[
                "tag",
                "--source=docker",
                "--reference",
                &pinned,
                &format!("{stream}:latest"),
            ],
        );
    }
    ok(
        &home,
        &[
            "patch",
            "imagestream",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"lookupPolicy":{"local":true}}}"#,
        ],
    );

    // A Deployment naming `web:latest` gets the tag's image in its template.
    ok(
        &home,
        &["create", "deployment", "app", "--image=web:latest"],
    );
    assert_eq!(
        image_of(
            &home,
            "deploy/app",
            ".spec.template.spec.containers[0].image"
        ),
        pinned
    );
    // A pod naming `web` (no tag: latest) too; one naming `plain` is left as it is.
    let pod = |name: &str, image: &str, annotations: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"containers": [{"name": "c", "image": image}]}})
    };
    let file = c.file(
        "pods.json",
        &json!({"apiVersion": "v1", "kind": "List", "items": [
            pod("bare", "web", json!({})),
            pod("plain", "plain:latest", json!({})),
            pod("elsewhere", "127.0.0.1:5000/other/web:latest", json!({})),
        ]})
        .to_string(),
    );
    ok(&home, &["create", "-f", &file]);
    assert_eq!(
        image_of(&home, "pod/bare", ".spec.containers[0].image"),
        pinned
    );
    assert_eq!(
        image_of(&home, "pod/plain", ".spec.containers[0].image"),
        "plain:latest"
    );
    assert_eq!(
        image_of(&home, "pod/elsewhere", ".spec.containers[0].image"),
        "127.0.0.1:5000/other/web:latest"
    );

    // A CronJob's template that asks for every name resolved: the last path component names
    // the stream, whatever its lookup policy.
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {
            "metadata": {"annotations": {"alpha.image.policy.openshift.io/resolve-names": "*"}},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "127.0.0.1:5000/old/plain:latest"}]}}}}}});
    let file = c.file("cron.json", &cron.to_string());
    ok(&home, &["create", "-f", &file]);
    assert_eq!(
        image_of(
            &home,
            "cronjob/nightly",
            ".spec.jobTemplate.spec.template.spec.containers[0].image"
        ),
        pinned
    );

    // Updates are resolved too: the Deployment's image set back to the bare name.
    ok(
        &home,
        &[
            "patch",
            "deploy/app",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"web"},
                {"op":"add","path":"/spec/template/spec/containers/0/env","value":[{"name":"V","value":"2"}]}]"#,
        ],
    );
    assert_eq!(
        image_of(
            &home,
            "deploy/app",
            ".spec.template.spec.containers[0].image"
        ),
        pinned
    );
}
