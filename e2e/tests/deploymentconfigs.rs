//! DeploymentConfigs with real containers, as a project admin drives them after `oc login`:
//! a first deployment, a template change rolled out (Rolling) with pods answering the new
//! page, `oc rollout latest`, `oc rollout undo`, a Recreate deployment, a failing deployment
//! that hands back to the last complete one, the deployer's log through `oc logs dc/x`, and
//! an image change trigger firing when its image stream tag moves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::Cluster;
use e2e::oc::{alice_in_project, oc};
use e2e::real_pods::{PodmanCluster, http_get, real_pods_unavailable};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(180);

/// What `oc` prints for every command that reads deployment configs, as on OpenShift 4.14+.
const DEPRECATED: &str = "Warning: apps.openshift.io/v1 DeploymentConfig is deprecated in v4.14+, unavailable in v4.10000+\n";

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

fn get(home: &Path, what: &str) -> Value {
    serde_json::from_str(&ok(home, &["get", what, "-o", "json"])).unwrap()
}

/// A config serving `page` on 8080 from `image`.
fn config(name: &str, image: &str, page: &str, strategy: Value) -> Value {
    json!({"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
        "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"app": name}, "strategy": strategy,
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                "name": "web", "image": image, "env": [{"name": "PAGE", "value": page}],
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
                "volumeMounts": [{"name": "srv", "mountPath": "/srv"}],
                "command": ["/bin/busybox", "sh", "-c",
                    "echo $PAGE > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv"]}],
                // Scratch space the project's UID may write (restricted-v2).
                "volumes": [{"name": "srv", "emptyDir": {}}]}}}})
}

/// The pages the ready pods of deployment `rc` serve.
fn pages(home: &Path, rc: &str) -> Vec<String> {
    let selector = format!("deployment={rc}");
    let list: Value =
        serde_json::from_str(&ok(home, &["get", "pods", "-l", &selector, "-o", "json"])).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .filter(|p| p["status"]["containerStatuses"][0]["ready"] == true)
        .filter_map(|p| p["status"]["podIP"].as_str())
        .map(|ip| {
            let answer = http_get(ip, "index.html");
            answer
                .rsplit("\r\n\r\n")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

/// Waits for deployment `rc` to be complete with every pod serving `page`.
fn serves(home: &Path, rc: &str, page: &str) {
    let out = ok(home, &["rollout", "status", "dc/web", "--timeout=180s"]);
    assert!(
        out.ends_with(&format!(
            "replication controller \"{rc}\" successfully rolled out\n"
        )),
        "{out}"
    );
    assert_eq!(phase(home, rc), "Complete");
    wait_until(&format!("{rc} serving {page}"), WAIT, || {
        let found = pages(home, rc);
        (found.len() == 2 && found.iter().all(|p| p == page)).then_some(())
    });
}

/// The phase of deployment `rc` ("" while it does not exist).
fn phase(home: &Path, rc: &str) -> String {
    let path = "jsonpath={.metadata.annotations.openshift\\.io/deployment\\.phase}";
    let out = oc(home, &["get", "rc", rc, "-o", path]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply(home: &Path, c: &Cluster, object: &Value) {
    let file = c.file("object.json", &object.to_string());
    ok(home, &["apply", "-f", &file]);
}

#[test]
fn deployment_configs_roll_out_roll_back_and_follow_their_images() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED deployment_configs_roll_out_roll_back_and_follow_their_images: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let worker = PodmanCluster::start_with(
        "dcnode",
        "10.128.140.0/23",
        &["1", "2"],
        &["--htpasswd", htpasswd.to_str().unwrap()],
    );
    let c = &worker.cluster;
    let (v1, v2) = (&worker.images[0], &worker.images[1]);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    alice_in_project(c, &home, "dcs");

    // Version 1: the config trigger deploys it; the deployer's log says how.
    let rolling = json!({"type": "Rolling", "rollingParams": {"maxSurge": 1, "maxUnavailable": 0}});
    let started = Instant::now();
    apply(&home, c, &config("web", v1, "one", rolling.clone()));
    serves(&home, "web-1", "one");
    eprintln!(
        "dc/web version 1: 2 real replicas serving in {:?}",
        started.elapsed()
    );
    let log = ok(&home, &["logs", "dc/web"]);
    assert_eq!(log, "--> Scaling web-1 to 2\n--> Success\n");
    let table = ok(&home, &["get", "dc", "web"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("web    1          2         2         config"),
        "{table}"
    );

    // A template change rolls version 2 out, Rolling: new pods up before old ones go.
    let started = Instant::now();
    apply(&home, c, &config("web", v1, "two", rolling.clone()));
    serves(&home, "web-2", "two");
    eprintln!(
        "dc/web version 2 (Rolling): serving in {:?}",
        started.elapsed()
    );
    let log = ok(&home, &["logs", "dc/web"]);
    assert!(
        log.starts_with("--> Scaling up web-2 from 0 to 2, scaling down web-1 from 2 to 0 (keep 2 pods available, don't exceed 3 pods)\n    Scaling web-2 up to 1\n"),
        "{log}"
    );
    assert!(
        log.ends_with("    Scaling web-1 down to 0\n--> Success\n"),
        "{log}"
    );
    assert_eq!(
        ok(
            &home,
            &["get", "rc", "web-1", "-o", "jsonpath={.spec.replicas}"]
        ),
        "0"
    );

    // `oc rollout latest` deploys the same template again, as a manual change.
    assert_eq!(
        ok(&home, &["rollout", "latest", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web rolled out\n"
    );
    serves(&home, "web-3", "two");
    let dc = get(&home, "dc/web");
    assert_eq!(dc["status"]["details"]["message"], "manual change");

    // `oc rollout undo --to-revision=1` brings version 1's template back as version 4.
    assert_eq!(
        ok(&home, &["rollout", "undo", "dc/web", "--to-revision=1"]),
        "deploymentconfig.apps.openshift.io/web rolled back\n"
    );
    serves(&home, "web-4", "one");
    let history = ok(&home, &["rollout", "history", "dc/web"]);
    assert!(history.contains("REVISION  STATUS    CAUSE"), "{history}");
    assert!(
        history.contains("3         Complete  manual change"),
        "{history}"
    );

    // Recreate: the old pods stop before the new start.
    let recreate = json!({"type": "Recreate", "recreateParams": {"timeoutSeconds": 20}});
    apply(&home, c, &config("web", v1, "three", recreate.clone()));
    serves(&home, "web-5", "three");
    let log = ok(&home, &["logs", "dc/web"]);
    assert_eq!(
        log,
        "--> Scaling web-4 down to zero\n--> Scaling web-5 to 1 before performing acceptance check\n--> Scaling web-5 to 2\n--> Success\n"
    );

    // A deployment whose image cannot be pulled fails after its timeout, and the last
    // complete one (web-5) is scaled back up.
    let missing = v1.replace(":1", ":missing");
    apply(&home, c, &config("web", &missing, "four", recreate));
    wait_until("web-6 to fail", WAIT, || {
        (phase(&home, "web-6") == "Failed").then_some(())
    });
    wait_until("web-5 back at full scale", WAIT, || {
        (pages(&home, "web-5").len() == 2).then_some(())
    });
    assert_eq!(
        ok(
            &home,
            &["get", "rc", "web-6", "-o", "jsonpath={.spec.replicas}"]
        ),
        "0"
    );
    let out = oc(&home, &["rollout", "status", "dc/web"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{DEPRECATED}error: replication controller \"web-6\" has failed progressing\n")
    );
    let log = ok(&home, &["logs", "dc/web"]);
    assert!(
        log.ends_with("error: update acceptor rejected web-6: pods for rc 'dcs/web-6' took longer than 20 seconds to become available\n"),
        "{log}"
    );

    // Scaling the config scales its active deployment.
    assert_eq!(
        ok(&home, &["scale", "dc/web", "--replicas=3"]),
        "deploymentconfig.apps.openshift.io/web scaled\n"
    );
    wait_until("web-5 at 3 pods", WAIT, || {
        (pages(&home, "web-5").len() == 3).then_some(())
    });

    // A paused config starts nothing; resumed, its changed template rolls out.
    assert_eq!(
        ok(&home, &["rollout", "pause", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web paused\n"
    );
    let out = oc(&home, &["rollout", "latest", "dc/web"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{DEPRECATED}error: cannot deploy a paused deployment config\n")
    );
    let mut five = config("web", v1, "five", json!({"type": "Recreate"}));
    five["spec"]["paused"] = json!(true);
    apply(&home, c, &five);
    assert_eq!(get(&home, "dc/web")["status"]["latestVersion"], 6);
    assert_eq!(
        ok(&home, &["rollout", "resume", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web resumed\n"
    );
    serves(&home, "web-7", "five");

    // A deployment that cannot finish is cancelled by hand, retried, and cancelled again;
    // each time the last complete deployment comes back.
    let stuck = json!({"type": "Recreate", "recreateParams": {"timeoutSeconds": 600}});
    apply(&home, c, &config("web", &missing, "six", stuck));
    wait_until("web-8 running", WAIT, || {
        (phase(&home, "web-8") == "Running").then_some(())
    });
    assert_eq!(
        ok(&home, &["rollout", "cancel", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web cancelling\n"
    );
    wait_until("web-8 cancelled", WAIT, || {
        (phase(&home, "web-8") == "Failed").then_some(())
    });
    let out = oc(&home, &["rollout", "status", "dc/web"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{DEPRECATED}error: rollout of replication controller \"web-8\" was cancelled\n")
    );
    wait_until("web-7 back", WAIT, || {
        (pages(&home, "web-7").len() == 2).then_some(())
    });
    assert_eq!(
        ok(&home, &["rollout", "retry", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web retried rollout #8\n"
    );
    wait_until("web-8 running again", WAIT, || {
        (phase(&home, "web-8") == "Running").then_some(())
    });
    assert_eq!(
        ok(&home, &["rollout", "cancel", "dc/web"]),
        "deploymentconfig.apps.openshift.io/web cancelling\n"
    );
    wait_until("web-8 cancelled again", WAIT, || {
        (phase(&home, "web-8") == "Failed").then_some(())
    });
    wait_until("web-7 back again", WAIT, || {
        (pages(&home, "web-7").len() == 2).then_some(())
    });

    // An image change trigger: the config deploys the tag's image, and again when it moves.
    let stream = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream", "metadata": {"name": "app"}});
    apply(&home, c, &stream);
    let mut tracker = config("tracker", " ", "tracked", rolling);
    tracker["spec"]["triggers"] = json!([{"type": "ConfigChange"}, {"type": "ImageChange",
        "imageChangeParams": {"automatic": true, "containerNames": ["web"],
            "from": {"kind": "ImageStreamTag", "name": "app:latest"}}}]);
    apply(&home, c, &tracker);
    let tag = |image: &str| {
        let status = json!({"status": {"dockerImageRepository": "", "tags": [{"tag": "latest",
            "items": [{"created": "2026-01-01T00:00:00Z", "dockerImageReference": image,
                "image": format!("sha256:{}", image.len()), "generation": 1}]}]}});
        c.kubectl_ok(&[
            "-n",
            "dcs",
            "patch",
            "imagestream",
            "app",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ]);
    };
    assert_eq!(get(&home, "dc/tracker")["status"]["latestVersion"], 0);
    tag(v1);
    wait_until("tracker-1 complete", WAIT, || {
        (phase(&home, "tracker-1") == "Complete").then_some(())
    });
    let moved = Instant::now();
    tag(v2);
    wait_until("the config on the new image", WAIT, || {
        let dc = get(&home, "dc/tracker");
        (dc["spec"]["template"]["spec"]["containers"][0]["image"] == v2.as_str()).then_some(())
    });
    eprintln!(
        "dc/tracker: image stream tag moved → config on the new image in {:?}",
        moved.elapsed()
    );
    wait_until("tracker-2 complete", WAIT, || {
        (phase(&home, "tracker-2") == "Complete").then_some(())
    });
    eprintln!(
        "dc/tracker: image stream tag moved → version 2 complete in {:?}",
        moved.elapsed()
    );
    let rc = get(&home, "rc/tracker-2");
    assert_eq!(
        rc["spec"]["template"]["spec"]["containers"][0]["image"],
        v2.as_str()
    );
    let dc = get(&home, "dc/tracker");
    assert_eq!(dc["status"]["details"]["message"], "image change");
    assert_eq!(
        dc["spec"]["triggers"][1]["imageChangeParams"]["lastTriggeredImage"],
        v2.as_str()
    );

    // A Deployment follows the tag through its trigger annotation.
    c.kubectl_ok(&[
        "-n",
        "dcs",
        "create",
        "deployment",
        "follower",
        &format!("--image={v1}"),
    ]);
    assert_eq!(
        ok(
            &home,
            &[
                "set",
                "triggers",
                "deploy/follower",
                "--from-image=app:latest",
                "-c",
                "web"
            ]
        ),
        "deployment.apps/follower triggers updated\n"
    );
    let annotation = ok(
        &home,
        &[
            "get",
            "deploy",
            "follower",
            "-o",
            "jsonpath={.metadata.annotations.image\\.openshift\\.io/triggers}",
        ],
    );
    assert_eq!(
        annotation,
        r#"[{"from":{"kind":"ImageStreamTag","name":"app:latest"},"fieldPath":"spec.template.spec.containers[?(@.name==\"web\")].image"}]"#
    );
    wait_until("the deployment on the tag's image", WAIT, || {
        let image = ok(
            &home,
            &[
                "get",
                "deploy",
                "follower",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ],
        );
        (image == *v2).then_some(())
    });
    let listed = ok(&home, &["set", "triggers", "dc/tracker"]);
    assert!(
        listed.contains("deploymentconfigs/tracker  image   app:latest (web)  true"),
        "{listed}"
    );
}
