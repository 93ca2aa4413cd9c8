//! Source secrets, as a project admin meets them after `oc login`: a git repository served
//! over HTTPS on loopback (a test CA's certificate) that asks for basic auth. A config
//! without a secret fails to fetch it, one whose secret holds a wrong password too (with
//! upstream's words about the credentials); a `kubernetes.io/basic-auth` secret with the
//! password and the CA, annotated `build.openshift.io/source-secret-match-uri-1`, is given
//! to a new config for that URL, mounted in the build pod as upstream mounts it, and the
//! build clones, builds and pushes. The password appears in no log, Build or event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::git_http::GitHttpServer;
use e2e::oc::oc;
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::source_builds::{commit, ok, push_base};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(150);
const PASSWORD: &str = "Op3n-S3same-7d41";

fn kubectl(home: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .env("KUBECONFIG", home.join(".kube/config"))
        .args(args)
        .output()
        .unwrap()
}

fn create(home: &Path, dir: &Path, object: &Value) {
    let file = dir.join(format!(
        "{}-{}.json",
        object["kind"].as_str().unwrap(),
        object["metadata"]["name"].as_str().unwrap()
    ));
    std::fs::write(&file, object.to_string()).unwrap();
    ok(
        oc(home, &["create", "-f", file.to_str().unwrap()]),
        "oc create",
    );
}

/// The build once it reached a terminal phase.
fn finished(home: &Path, name: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = oc(home, &["get", "build", name, "-o", "json"]);
        let build: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        let phase = build.as_ref().and_then(|b| b["status"]["phase"].as_str());
        if let (Some("Complete" | "Failed" | "Error" | "Cancelled"), Some(build)) = (phase, &build)
        {
            return build.clone();
        }
        assert!(
            Instant::now() < deadline,
            "build {name} did not finish: {build:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn log(home: &Path, build: &str) -> String {
    let path = format!("/apis/build.openshift.io/v1/namespaces/vault/builds/{build}/log");
    String::from_utf8_lossy(&kubectl(home, &["get", "--raw", &path]).stdout).into_owned()
}

fn config(name: &str, uri: &str, secret: Option<&str>) -> Value {
    let mut bc = json!({
        "apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": name},
        "spec": {
            "source": {"type": "Git", "git": {"uri": uri}},
            "strategy": {"type": "Docker", "dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}},
            "triggers": [{"type": "ConfigChange"}]
        }
    });
    if let Some(secret) = secret {
        bc["spec"]["source"]["sourceSecret"] = json!({"name": secret});
    }
    bc
}

fn basic_auth(name: &str, password: &str, ca: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
        "metadata": {"name": name, "annotations": annotations},
        "stringData": {"username": "ann", "password": password, "ca.crt": ca}})
}

#[test]
fn a_private_https_repository_builds_with_its_source_secret() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_private_https_repository_builds_with_its_source_secret: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = e2e::htpasswd(dir.path(), "htpasswd", "alice", "pw");
    let worker = PodmanCluster::start_with(
        "secretnode",
        "10.128.196.0/23",
        &[],
        &["--registry=true", "--htpasswd", passwords.to_str().unwrap()],
    );
    let c = &worker.cluster;
    let registry = c.kubectl_ok(&[
        "get",
        "images.config.openshift.io",
        "cluster",
        "-o",
        "jsonpath={.status.internalRegistryHostname}",
    ]);
    let home = dir.path().join("alice");
    std::fs::create_dir_all(&home).unwrap();
    let ca = c.data_dir().join("pki/ca.crt");
    ok(
        oc(
            &home,
            &[
                "login",
                &c.server(),
                "-u",
                "alice",
                "-p",
                "pw",
                "--certificate-authority",
                ca.to_str().unwrap(),
            ],
        ),
        "oc login",
    );
    ok(oc(&home, &["new-project", "vault"]), "oc new-project");
    let token = ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");
    wait_until("the builder account's registry secret", WAIT, || {
        let out = oc(
            &home,
            &[
                "get",
                "sa",
                "builder",
                "-o",
                "jsonpath={.metadata.annotations.openshift\\.io/internal-registry-pull-secret-ref}",
            ],
        );
        (out.status.success() && !out.stdout.trim_ascii().is_empty()).then_some(())
    });
    push_base(
        dir.path(),
        &format!("{registry}/vault/base:1"),
        "alice",
        &token,
    );

    let base = dir.path().join("git");
    let head = commit(
        &base.join("app"),
        &[
            (
                "Dockerfile",
                &format!(
                    "FROM {registry}/vault/base:1\nCOPY index.html /srv/index.html\n\
                     CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]\n"
                ),
            ),
            ("index.html", "private\n"),
        ],
        "Private page",
    );
    let server = GitHttpServer::start(dir.path(), &base, "ann", PASSWORD);
    let uri = server.url("app");
    let server_ca = std::fs::read_to_string(&server.ca).unwrap();

    create(
        &home,
        dir.path(),
        &json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "web"}}),
    );
    // Without a secret, and with a wrong password: the source cannot be fetched.
    create(
        &home,
        dir.path(),
        &basic_auth("wrong", "not-the-password", &server_ca, json!({})),
    );
    create(&home, dir.path(), &config("plain", &uri, None));
    create(&home, dir.path(), &config("wrong", &uri, Some("wrong")));
    // The right one, found by its annotation for the config made after it.
    let pattern = format!("https://127.0.0.1:{}/*", server.port);
    create(
        &home,
        dir.path(),
        &basic_auth(
            "git-creds",
            PASSWORD,
            &server_ca,
            json!({"build.openshift.io/source-secret-match-uri-1": pattern}),
        ),
    );
    create(&home, dir.path(), &config("web", &uri, None));
    let injected = ok(
        oc(
            &home,
            &[
                "get",
                "bc",
                "web",
                "-o",
                "jsonpath={.spec.source.sourceSecret.name}",
            ],
        ),
        "oc get bc web",
    );
    assert_eq!(injected, "git-creds");
    let plain_bc = ok(
        oc(&home, &["get", "bc", "plain", "-o", "json"]),
        "oc get bc plain",
    );
    assert!(!plain_bc.contains("sourceSecret"), "{plain_bc}");

    for name in ["plain-1", "wrong-1"] {
        let build = finished(&home, name);
        assert_eq!(build["status"]["phase"], "Failed", "{build:#}");
        assert_eq!(build["status"]["reason"], "FetchSourceFailed", "{build:#}");
        assert_eq!(
            build["status"]["message"], "Failed to fetch the input source.",
            "{build:#}"
        );
    }
    let wrong_log = log(&home, "wrong-1");
    assert!(
        wrong_log.contains(&format!(
            "failed to fetch requested repository {uri:?} with provided credentials"
        )),
        "{wrong_log}"
    );

    let built = finished(&home, "web-1");
    assert_eq!(
        built["status"]["phase"],
        "Complete",
        "{built:#}\n{}",
        log(&home, "web-1")
    );
    assert_eq!(built["spec"]["revision"]["git"]["commit"], head.as_str());
    assert!(
        built["status"]["output"]["to"]["imageDigest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{built:#}"
    );
    let web_log = log(&home, "web-1");
    assert!(
        web_log.contains(&format!("Cloning {uri:?} ...")),
        "{web_log}"
    );
    let pod: Value = serde_json::from_str(&ok(
        oc(&home, &["get", "pod", "web-1-build", "-o", "json"]),
        "oc get pod",
    ))
    .unwrap();
    let clone = &pod["spec"]["initContainers"][0];
    assert_eq!(clone["name"], "git-clone");
    let mounts = clone["volumeMounts"].to_string();
    assert!(
        mounts.contains("/var/run/secrets/openshift.io/source"),
        "{mounts}"
    );
    let env = clone["env"].to_string();
    assert!(env.contains("SOURCE_SECRET_PATH"), "{env}");

    // The password is nowhere a user reads.
    let builds = ok(oc(&home, &["get", "builds", "-o", "json"]), "oc get builds");
    let events = ok(oc(&home, &["get", "events", "-o", "json"]), "oc get events");
    for (what, text) in [
        ("builds", builds),
        ("events", events),
        ("web-1's log", web_log),
        ("wrong-1's log", wrong_log),
        ("plain-1's log", log(&home, "plain-1")),
    ] {
        assert!(
            !text.contains(PASSWORD),
            "the password is in {what}: {text}"
        );
    }
}
