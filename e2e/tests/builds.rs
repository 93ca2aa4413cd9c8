//! Builds through the API, as a project admin drives them after `oc login`, on a cluster
//! with the integrated registry and no node (so build pods stay Pending, which the queue
//! tests rely on): a config's first build from its ConfigChange trigger, the build pod's
//! shape, `oc start-build` queueing behind it (Serial), webhooks with a right and a wrong
//! secret, `oc cancel-build`, SerialLatestOnly cancelling the builds not yet running, and
//! pruning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::{alice_in_project, oc};
use e2e::wait_until;
use e2e::{Backend, Cluster};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

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

fn get(home: &Path, what: &str) -> Option<Value> {
    let out = oc(home, &["get", what, "-o", "json"]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

fn phase(home: &Path, build: &str) -> String {
    get(home, &format!("build/{build}"))
        .map(|b| {
            b["status"]["phase"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

fn wait_phase(home: &Path, build: &str, wanted: &str) {
    wait_until(&format!("{build} {wanted}"), WAIT, || {
        (phase(home, build) == wanted).then_some(())
    });
}

/// POSTs to a webhook as an anonymous caller would: (status code, body).
fn webhook(c: &Cluster, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let ca = c.data_dir().join("pki/ca.crt");
    let mut args = vec![
        "-s".to_string(),
        "-w".to_string(),
        "\n%{http_code}".to_string(),
        "--cacert".to_string(),
        ca.display().to_string(),
        "-X".to_string(),
        "POST".to_string(),
        "--data-binary".to_string(),
        body.to_string(),
    ];
    for h in headers {
        args.push("-H".into());
        args.push(h.to_string());
    }
    args.push(format!("{}{path}", c.server()));
    let out = std::process::Command::new("curl")
        .args(&args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

#[test]
fn builds_queue_trigger_cancel_and_prune_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--registry=true", "--htpasswd", htpasswd.to_str().unwrap()],
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    alice_in_project(&c, &home, "bp");
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hook"},
        "stringData": {"WebHookSecretKey": "from-a-secret"}});
    let stream = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
        "metadata": {"name": "web"}});
    let bc = json!({"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "web"},
        "spec": {"source": {"git": {"uri": "https://127.0.0.1:1/repo.git", "ref": "main"}},
            "strategy": {"dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}},
            "triggers": [{"type": "ConfigChange"},
                {"type": "Generic", "generic": {"secret": "inline-secret"}},
                {"type": "GitHub", "github": {"secretReference": {"name": "hook"}}}]}});
    for (name, object) in [("secret", &secret), ("stream", &stream), ("bc", &bc)] {
        let file = c.file(&format!("{name}.json"), &object.to_string());
        ok(&home, &["create", "-f", &file]);
    }

    // The ConfigChange trigger makes web-1; the controller makes its pod, upstream's shape.
    wait_phase(&home, "web-1", "Pending");
    let build = get(&home, "build/web-1").unwrap();
    assert_eq!(
        build["metadata"]["labels"]["openshift.io/build-config.name"],
        "web"
    );
    assert_eq!(
        build["metadata"]["annotations"]["openshift.io/build.number"],
        "1"
    );
    assert_eq!(
        build["spec"]["triggeredBy"][0]["message"],
        "Build configuration change"
    );
    let output = build["status"]["outputDockerImageReference"]
        .as_str()
        .unwrap();
    assert!(output.ends_with("/bp/web:latest"), "{output}");
    let pod = get(&home, "pod/web-1-build").unwrap();
    assert_eq!(
        pod["metadata"]["labels"]["openshift.io/build.name"],
        "web-1"
    );
    assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "Build");
    assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
    assert_eq!(pod["spec"]["serviceAccountName"], "builder");
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    let init: Vec<&str> = pod["spec"]["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(init, ["git-clone", "manage-dockerfile"]);
    let main = &pod["spec"]["containers"][0];
    assert_eq!(main["name"], "docker-build");
    assert_eq!(main["args"], json!(["openshift-docker-build"]));
    assert_eq!(main["image"], "oxshift/builder:latest");
    assert_eq!(main["securityContext"]["privileged"], true);
    let env: Vec<&str> = main["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"BUILD") && env.contains(&"PUSH_DOCKERCFG_PATH"),
        "{env:?}"
    );
    let embedded: Value = serde_json::from_str(
        main["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "BUILD")
            .unwrap()["value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(embedded["spec"]["output"]["to"]["kind"], "DockerImage");
    assert!(
        main["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/var/run/secrets/openshift.io/push"),
        "{main}"
    );
    let table = ok(&home, &["get", "builds"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.contains("web-1") && table.contains("Docker"),
        "{table}"
    );

    // Serial: a started build waits behind the pending one.
    let started = ok(&home, &["start-build", "web", "-e", "A=1"]);
    assert_eq!(started, "build.build.openshift.io/web-2 started\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(phase(&home, "web-2"), "New");

    // Webhooks: refused on a wrong secret, a build for the right one (inline or referenced).
    let base = "/apis/build.openshift.io/v1/namespaces/bp/buildconfigs/web/webhooks";
    let (code, body) = webhook(&c, &format!("{base}/wrong/generic"), &[], "");
    assert_eq!(code, 401, "{body}");
    assert!(
        body.contains("the webhook \\\"generic\\\" for \\\"web\\\" did not accept your secret"),
        "{body}"
    );
    let json_type = "Content-Type: application/json";
    let (code, body) = webhook(
        &c,
        &format!("{base}/inline-secret/generic"),
        &[json_type],
        r#"{"git":{"ref":"refs/heads/main","commit":"0123456789abcdef0123456789abcdef01234567"}}"#,
    );
    assert_eq!(code, 200, "{body}");
    let hooked: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(hooked["metadata"]["name"], "web-3");
    assert_eq!(
        hooked["spec"]["triggeredBy"][0]["message"],
        "Generic WebHook"
    );
    let (code, body) = webhook(
        &c,
        &format!("{base}/from-a-secret/github"),
        &[json_type, "X-GitHub-Event: push"],
        r#"{"ref":"refs/heads/other","head_commit":{"id":"1"}}"#,
    );
    assert_eq!(
        (code, body.as_str()),
        (200, ""),
        "another branch builds nothing"
    );
    let (code, body) = webhook(
        &c,
        &format!("{base}/from-a-secret/github"),
        &[json_type, "X-GitHub-Event: push"],
        r#"{"ref":"refs/heads/main","head_commit":{"id":"abc","message":"m"}}"#,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"name\":\"web-4\""), "{body}");

    // Cancel one queued build.
    let out = ok(&home, &["cancel-build", "web-2"]);
    assert_eq!(
        out,
        "build.build.openshift.io/web-2 marked for cancellation, waiting to be cancelled\nbuild.build.openshift.io/web-2 cancelled\n"
    );
    assert_eq!(phase(&home, "web-1"), "Pending");

    // SerialLatestOnly: the queued builds older than the newest are cancelled.
    ok(
        &home,
        &[
            "patch",
            "bc/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"runPolicy":"SerialLatestOnly"}}"#,
        ],
    );
    ok(&home, &["start-build", "web"]);
    ok(&home, &["start-build", "web"]);
    // Every older build not yet running is cancelled (web-1 is Pending: its pod never got a
    // node), and the newest one runs.
    wait_phase(&home, "web-6", "Pending");
    for older in ["web-1", "web-3", "web-4", "web-5"] {
        assert_eq!(phase(&home, older), "Cancelled", "{older}");
    }
    assert!(
        get(&home, "pod/web-1-build").is_none(),
        "a cancelled build's pod is deleted"
    );

    // Pruning: at most one failed (or cancelled) build is kept.
    ok(
        &home,
        &[
            "patch",
            "bc/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"failedBuildsHistoryLimit":1}}"#,
        ],
    );
    wait_until("the cancelled builds pruned", WAIT, || {
        let list = get(&home, "builds").unwrap();
        let cancelled = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["status"]["phase"] == "Cancelled")
            .count();
        (cancelled == 1).then_some(())
    });
    assert!(
        get(&home, "build/web-2").is_none(),
        "the older cancelled build is gone"
    );
}
