//! Builds for real, as a project admin meets them after `oc login`: a git repository made
//! here (a `file://` URL the node reads) with a Dockerfile serving a page, a BuildConfig whose
//! ConfigChange trigger starts build 1, the node running the build pod's steps with git and
//! buildah, the image pushed to the integrated registry with the builder account's secret,
//! the image stream tag following the push, the Build Complete with its digest; its logs
//! through `builds/log` and the pod's containers. Then a commit that breaks the Dockerfile:
//! build 2, started through `instantiate`, fails with the builder's reason and the log's tail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::oc::oc;
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::source_builds::{commit, ok, push_base};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);

/// kubectl as alice (the kubeconfig `oc login` wrote).
fn kubectl(home: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .env("KUBECONFIG", home.join(".kube/config"))
        .args(args)
        .output()
        .unwrap()
}

fn build_of(home: &Path, name: &str) -> Option<Value> {
    let out = oc(home, &["get", "build", name, "-o", "json"]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// The build once it reached a terminal phase (its state and its pod's, if it does not).
fn finished(home: &Path, name: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let build = build_of(home, name);
        let phase = build.as_ref().and_then(|b| b["status"]["phase"].as_str());
        if let (Some("Complete" | "Failed" | "Error" | "Cancelled"), Some(build)) = (phase, &build)
        {
            return build.clone();
        }
        if Instant::now() > deadline {
            let pod = oc(
                home,
                &["get", "pod", &format!("{name}-build"), "-o", "json"],
            );
            panic!(
                "build {name} did not finish: {build:#?}\npod: {}",
                String::from_utf8_lossy(&pod.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_git_repository_is_built_and_pushed_to_the_integrated_registry() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_git_repository_is_built_and_pushed_to_the_integrated_registry: {why}");
        return;
    }
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED a_git_repository_is_built_and_pushed_to_the_integrated_registry: git is missing"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("htpasswd");
    let hashed = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(&passwords, format!("alice:{hashed}\n")).unwrap();
    let worker = PodmanCluster::start_with(
        "buildnode",
        "10.128.176.0/23",
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
    assert!(registry.starts_with("127.0.0.1:"), "{registry:?}");

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
    ok(oc(&home, &["new-project", "shop"]), "oc new-project");
    let token = ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");
    // The builder account's secret for the integrated registry is what the build pushes with.
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
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    });
    push_base(
        dir.path(),
        &format!("{registry}/shop/base:1"),
        "alice",
        &token,
    );

    let repo = dir.path().join("repo");
    let dockerfile = format!(
        "FROM {registry}/shop/base:1\nCOPY index.html /srv/index.html\nEXPOSE 8080\n\
         CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]\n"
    );
    let first = commit(
        &repo,
        &[("Dockerfile", &dockerfile), ("index.html", "one\n")],
        "First page",
    );
    let stream = dir.path().join("is.json");
    std::fs::write(
        &stream,
        json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
            "metadata": {"name": "web"}})
        .to_string(),
    )
    .unwrap();
    ok(
        oc(&home, &["create", "-f", stream.to_str().unwrap()]),
        "oc create is",
    );
    let bc = json!({
        "apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "web"},
        "spec": {
            "source": {"type": "Git", "git": {"uri": format!("file://{}", repo.display())}},
            "strategy": {"type": "Docker", "dockerStrategy": {}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}},
            "triggers": [{"type": "ConfigChange"}]
        }
    });
    let bc_file = dir.path().join("bc.json");
    std::fs::write(&bc_file, bc.to_string()).unwrap();
    let started = Instant::now();
    ok(
        oc(&home, &["create", "-f", bc_file.to_str().unwrap()]),
        "oc create bc",
    );

    // Build 1: cloned, built, pushed; the tag follows the push.
    let build = finished(&home, "web-1");
    let took = started.elapsed();
    let log = |name: &str| {
        let path = format!("/apis/build.openshift.io/v1/namespaces/shop/builds/{name}/log");
        String::from_utf8_lossy(&kubectl(&home, &["get", "--raw", &path]).stdout).into_owned()
    };
    assert_eq!(
        build["status"]["phase"],
        "Complete",
        "{build:#}\n{}",
        log("web-1")
    );
    let digest = build["status"]["output"]["to"]["imageDigest"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{build:#}");
    assert_eq!(build["spec"]["revision"]["git"]["commit"], first.as_str());
    assert_eq!(
        build["status"]["outputDockerImageReference"],
        format!("{registry}/shop/web:latest").as_str()
    );
    eprintln!(
        "BuildConfig created -> build Complete: {:.2} s",
        took.as_secs_f64()
    );
    let tagged = wait_until("the tag to name the pushed image", WAIT, || {
        let out = oc(
            &home,
            &[
                "get",
                "istag",
                "web:latest",
                "-o",
                "jsonpath={.image.metadata.name}",
            ],
        );
        let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (name == digest).then_some(name)
    });
    assert_eq!(tagged, digest);
    let text = log("web-1");
    assert!(
        text.contains(&format!("Cloning \"file://{}\" ...", repo.display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("\tCommit:\t{first} (First page)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("Successfully pushed {registry}/shop/web@{digest}")),
        "{text}"
    );
    assert!(text.trim_end().ends_with("Push successful"), "{text}");
    let clone_log = ok(
        oc(&home, &["logs", "web-1-build", "-c", "git-clone"]),
        "oc logs -c git-clone",
    );
    assert!(clone_log.starts_with("Cloning "), "{clone_log}");

    // A commit that breaks the Dockerfile: build 2 fails with the builder's reason.
    commit(
        &repo,
        &[(
            "Dockerfile",
            &format!(
                "FROM {registry}/shop/base:1\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo the page is missing; exit 3\"]\n"
            ),
        )],
        "Broken",
    );
    let request = dir.path().join("request.json");
    std::fs::write(
        &request,
        json!({"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
            "metadata": {"name": "web"},
            "triggeredBy": [{"message": "Manually triggered"}]})
        .to_string(),
    )
    .unwrap();
    ok(
        kubectl(
            &home,
            &[
                "create",
                "--raw",
                "/apis/build.openshift.io/v1/namespaces/shop/buildconfigs/web/instantiate",
                "-f",
                request.to_str().unwrap(),
            ],
        ),
        "instantiate",
    );
    let failed = finished(&home, "web-2");
    assert_eq!(failed["status"]["phase"], "Failed", "{failed:#}");
    assert_eq!(
        failed["status"]["reason"], "DockerBuildFailed",
        "{failed:#}"
    );
    assert_eq!(
        failed["status"]["message"],
        "Dockerfile build strategy has failed."
    );
    // The snippet follows once the build container has ended (the builder reports the
    // failure first).
    let snippet = wait_until("web-2's log snippet", WAIT, || {
        build_of(&home, "web-2").and_then(|b| b["status"]["logSnippet"].as_str().map(String::from))
    });
    let snippet = snippet.as_str();
    assert!(snippet.contains("the page is missing"), "{snippet}");
    assert!(
        snippet
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("error: "),
        "{snippet}"
    );
    // The tag still names build 1's image.
    let out = oc(
        &home,
        &[
            "get",
            "istag",
            "web:latest",
            "-o",
            "jsonpath={.image.metadata.name}",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), digest);
}
