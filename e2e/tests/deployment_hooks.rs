//! DeploymentConfig lifecycle hooks with real containers, as a project admin uses them after
//! `oc login`: `pre` and `mid` hooks run as hook pods made from the template's container,
//! a `post` hook tags the deployed image, all in the deployer's log; then a failing `pre`
//! hook aborts the next rollout and the previous deployment stays the active one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::{alice_in_project, oc};
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(180);

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

/// A field of `what` by JSONPath ("" while it does not exist).
fn field(home: &Path, what: &str, path: &str) -> String {
    let out = oc(home, &["get", what, "-o", &format!("jsonpath={{{path}}}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn phase(home: &Path, rc: &str) -> String {
    field(
        home,
        &format!("rc/{rc}"),
        ".metadata.annotations.openshift\\.io/deployment\\.phase",
    )
}

/// A hook running `script` in a pod made from the container `web`.
fn exec_hook(script: &str, policy: &str) -> Value {
    json!({"failurePolicy": policy, "execNewPod": {"containerName": "web",
        "command": ["/bin/busybox", "sh", "-c", script],
        "env": [{"name": "GREETING", "value": "hello from"}]}})
}

/// A Recreate config of one replica serving on 8080 from `image`, with `params` (its hooks).
fn config(image: &str, page: &str, params: Value) -> Value {
    let mut params = params;
    params["timeoutSeconds"] = json!(120);
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"app": "web"},
            "strategy": {"type": "Recreate", "recreateParams": params},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                "name": "web", "image": image, "env": [{"name": "PAGE", "value": page}],
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                "volumeMounts": [{"name": "srv", "mountPath": "/srv"}],
                "command": ["/bin/busybox", "sh", "-c",
                    "echo $PAGE > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv"]}],
                "volumes": [{"name": "srv", "emptyDir": {}}]}}}})
}

#[test]
fn lifecycle_hooks_run_in_order_and_a_failing_pre_hook_keeps_the_old_deployment() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED lifecycle hooks: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let worker = PodmanCluster::start_with(
        "hooknode",
        "10.128.214.0/23",
        &["1"],
        &["--htpasswd", htpasswd.to_str().unwrap()],
    );
    let c = &worker.cluster;
    let image = &worker.images[0];
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    alice_in_project(c, &home, "hooks");

    // Version 1: pre and mid hooks run as pods, the post hook tags the deployed image.
    let hooks = json!({
        "pre": exec_hook("echo $GREETING pre of $OPENSHIFT_DEPLOYMENT_NAMESPACE/$OPENSHIFT_DEPLOYMENT_NAME", "Abort"),
        "mid": exec_hook("echo mid sees PAGE=$PAGE", "Abort"),
        "post": {"failurePolicy": "Abort", "tagImages": [{"containerName": "web",
            "to": {"kind": "ImageStreamTag", "name": "web:deployed"}}]}});
    let file = c.file("v1.json", &config(image, "one", hooks).to_string());
    ok(&home, &["apply", "-f", &file]);
    let out = ok(&home, &["rollout", "status", "dc/web", "--timeout=180s"]);
    assert!(
        out.ends_with("replication controller \"web-1\" successfully rolled out\n"),
        "{out}"
    );
    assert_eq!(
        ok(&home, &["logs", "dc/web"]),
        format!(
            "--> pre: Running hook pod ...\nhello from pre of hooks/web-1\n--> pre: Success\n\
             --> mid: Running hook pod ...\nmid sees PAGE=one\n--> mid: Success\n\
             --> Scaling web-1 to 1\n\
             --> post: Tagged \"{image}\" into /web:deployed\n--> Success\n"
        )
    );
    // The post hook's tag: the stream `web` made with its tag `deployed` from the image.
    assert_eq!(
        field(
            &home,
            "is/web",
            ".spec.tags[?(@.name==\"deployed\")].from.name"
        ),
        image.as_str()
    );
    // A complete deployment's hook pods are gone, as upstream's deployer pods.
    wait_until("web-1's hook pods removed", WAIT, || {
        let pods = field(&home, "pods", ".items[*].metadata.name");
        (!pods.contains("hook")).then_some(())
    });

    // Version 2: its pre hook fails; the rollout is aborted before the old pods are touched.
    let failing = json!({"pre": exec_hook("echo about to fail; exit 3", "Abort")});
    let file = c.file("v2.json", &config(image, "two", failing).to_string());
    ok(&home, &["apply", "-f", &file]);
    wait_until("web-2 to fail", WAIT, || {
        (phase(&home, "web-2") == "Failed").then_some(())
    });
    assert_eq!(
        ok(&home, &["logs", "dc/web"]),
        "--> pre: Running hook pod ...\nabout to fail\n--> pre: Failed\n\
         error: pre hook failed: the pre hook failed: , aborting rollout of hooks/web-2\n"
    );
    let pod: Value =
        serde_json::from_str(&ok(&home, &["get", "pod", "web-2-hook-pre", "-o", "json"])).unwrap();
    assert_eq!(
        pod["metadata"]["labels"],
        json!({"openshift.io/deployer-pod-for.name": "web-2", "openshift.io/deployer-pod.type": "hook-pre"})
    );
    assert_eq!(
        pod["metadata"]["annotations"]["openshift.io/deployment.name"],
        "web-2"
    );
    assert_eq!(pod["spec"]["containers"][0]["name"], "lifecycle");
    assert_eq!(pod["spec"]["containers"][0]["image"], image.as_str());
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert_eq!(pod["status"]["phase"], "Failed");
    // The old deployment was never scaled down and stays the active one.
    assert_eq!(phase(&home, "web-1"), "Complete");
    assert_eq!(field(&home, "rc/web-1", ".spec.replicas"), "1");
    assert_eq!(field(&home, "rc/web-2", ".spec.replicas"), "0");
    wait_until("web-1 ready", WAIT, || {
        (field(&home, "rc/web-1", ".status.readyReplicas") == "1").then_some(())
    });
    let events = ok(&home, &["get", "events", "-o", "json"]);
    assert!(
        events.contains("The pre-hook failed: , aborting rollout of hooks/web-2"),
        "{events}"
    );
}
