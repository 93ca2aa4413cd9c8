//! Source to running app, as a project admin meets it after `oc login`: a Git repository made
//! here (served by `git daemon` on loopback) whose Dockerfile builds `FROM` an image pushed to
//! the integrated registry; `oc new-app <git-url>` makes the stream, the BuildConfig, the
//! Deployment and the Service; build 1 runs on the node, the image lands in the stream, the
//! Deployment rolls out and the route answers the page. Then a commit and a call of the
//! generic webhook whose URL `oc describe bc` shows start the next build, and the app
//! redeploys with the new page. `oc new-build` makes a build configuration alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::free_port;
use e2e::oc::oc;
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::source_builds::{GitDaemon, commit, ok, push_base, wait_until};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(150);

fn page(page: &str, registry: &str) -> [(String, String); 2] {
    let dockerfile = format!(
        "FROM {registry}/shop/base:1\nCOPY index.html /srv/index.html\nEXPOSE 8080\n\
         CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv\"]\n"
    );
    [
        ("Dockerfile".into(), dockerfile),
        ("index.html".into(), format!("{page}\n")),
    ]
}

fn commit_page(repo: &Path, text: &str, registry: &str) {
    let files = page(text, registry);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    commit(repo, &files, &format!("Page {text}"));
}

fn json_of(home: &Path, args: &[&str]) -> Option<Value> {
    let out = oc(home, args);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// The build once it completed (panics with its state if it ends otherwise).
fn completed(home: &Path, name: &str) -> Value {
    let build = wait_until(&format!("build {name} to end"), WAIT, || {
        let b = json_of(home, &["get", "build", name, "-o", "json"])?;
        matches!(
            b["status"]["phase"].as_str(),
            Some("Complete" | "Failed" | "Error" | "Cancelled")
        )
        .then_some(b)
    });
    let log = oc(home, &["logs", &format!("build/{name}")]);
    assert_eq!(
        build["status"]["phase"],
        "Complete",
        "{build:#}\n{}",
        String::from_utf8_lossy(&log.stdout)
    );
    build
}

fn page_through_router(router: &str, host: &str, wanted: &str) {
    wait_until(&format!("{wanted:?} through the router"), WAIT, || {
        let out = Command::new("curl")
            .args(["-s", "-m", "10", "-H", &format!("Host: {host}")])
            .arg(format!("http://{router}/"))
            .output()
            .unwrap();
        (String::from_utf8_lossy(&out.stdout).trim() == wanted).then_some(())
    });
}

#[test]
fn new_app_builds_a_git_repository_deploys_it_and_a_webhook_redeploys_it() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED new_app_builds_a_git_repository: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("htpasswd");
    let hashed = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(&passwords, format!("alice:{hashed}\n")).unwrap();
    let router = format!("127.0.0.1:{}", free_port());
    let https = format!("127.0.0.1:{}", free_port());
    let worker = PodmanCluster::start_with(
        "appnode",
        "10.128.178.0/23",
        &[],
        &[
            "--registry=true",
            "--htpasswd",
            passwords.to_str().unwrap(),
            "--router=true",
            "--router-http",
            &router,
            "--router-https",
            &https,
        ],
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
    ok(oc(&home, &["new-project", "shop"]), "oc new-project");
    let token = ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");
    for account in ["builder", "default"] {
        wait_until(
            &format!("the {account} account's registry secret"),
            WAIT,
            || {
                let out = oc(
                    &home,
                    &[
                        "get",
                        "sa",
                        account,
                        "-o",
                        "jsonpath={.metadata.annotations.openshift\\.io/internal-registry-pull-secret-ref}",
                    ],
                );
                (out.status.success() && !out.stdout.is_empty()).then_some(())
            },
        );
    }
    push_base(
        dir.path(),
        &format!("{registry}/shop/base:1"),
        "alice",
        &token,
    );

    let repos = dir.path().join("repos");
    let repo = repos.join("web");
    commit_page(&repo, "one", &registry);
    let daemon = GitDaemon::start(&repos);
    let url = daemon.url("web");

    // new-app: the repository read, the base image found, the objects made.
    let created = ok(oc(&home, &["new-app", &url]), "oc new-app");
    for line in [
        format!("* A Docker build using source code from {url} will be created"),
        "* The resulting image will be pushed to image stream tag \"web:latest\"".into(),
        "imagestream.image.openshift.io \"web\" created".into(),
        "buildconfig.build.openshift.io \"web\" created".into(),
        "deployment.apps \"web\" created".into(),
        "service \"web\" created".into(),
        "Build scheduled, use 'oc logs -f buildconfig/web' to track its progress.".into(),
    ] {
        assert!(created.contains(&line), "{line:?} in\n{created}");
    }
    let bc = json_of(&home, &["get", "bc", "web", "-o", "json"]).unwrap();
    assert_eq!(bc["spec"]["source"]["git"]["uri"], url.as_str());
    assert_eq!(bc["spec"]["strategy"]["type"], "Docker");
    assert_eq!(bc["spec"]["output"]["to"]["name"], "web:latest", "{bc:#}");
    let types: Vec<&str> = bc["spec"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["type"].as_str())
        .collect();
    for t in ["GitHub", "Generic", "ConfigChange"] {
        assert!(types.contains(&t), "{types:?}");
    }

    // Build 1 lands in the stream; the Deployment follows it and the route serves the page.
    let first = completed(&home, "web-1");
    let digest = first["status"]["output"]["to"]["imageDigest"]
        .as_str()
        .unwrap()
        .to_string();
    c.wait_for(
        &["deployment", "web", "-n", "shop"],
        "{.spec.template.spec.containers[0].image} {.status.availableReplicas}",
        &format!("{registry}/shop/web@{digest} 1"),
        WAIT,
    );
    assert_eq!(
        ok(oc(&home, &["expose", "svc/web"]), "oc expose"),
        "route.route.openshift.io/web exposed"
    );
    let host = "web-shop.apps.oxshift.local";
    page_through_router(&router, host, "one");

    // A commit, then the generic webhook `oc describe bc` shows: the next build, a redeploy.
    commit_page(&repo, "two", &registry);
    let described = ok(oc(&home, &["describe", "bc", "web"]), "oc describe bc");
    let hook = described
        .lines()
        .skip_while(|l| !l.starts_with("Webhook Generic:"))
        .find_map(|l| l.trim().strip_prefix("URL:"))
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| panic!("no generic webhook in\n{described}"));
    assert!(
        hook.ends_with(
            "/apis/build.openshift.io/v1/namespaces/shop/buildconfigs/web/webhooks/<secret>/generic"
        ),
        "{hook}"
    );
    let secret = ok(
        oc(
            &home,
            &[
                "get",
                "bc",
                "web",
                "-o",
                "jsonpath={.spec.triggers[?(@.type==\"Generic\")].generic.secret}",
            ],
        ),
        "the generic secret",
    );
    let out = Command::new("curl")
        .args(["-s", "-X", "POST", "--cacert", ca.to_str().unwrap()])
        .arg(hook.replace("<secret>", &secret))
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer["kind"], "Build", "{answer:#}");
    let next = answer["metadata"]["name"].as_str().unwrap().to_string();
    let second = completed(&home, &next);
    let digest2 = second["status"]["output"]["to"]["imageDigest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(digest, digest2);
    c.wait_for(
        &["deployment", "web", "-n", "shop"],
        "{.spec.template.spec.containers[0].image}",
        &format!("{registry}/shop/web@{digest2}"),
        WAIT,
    );
    page_through_router(&router, host, "two");

    // new-build: the configuration alone, labelled for the build, pushing to --to.
    let made = ok(
        oc(
            &home,
            &["new-build", &url, "--name=web-copy", "--to=copy:v1"],
        ),
        "oc new-build",
    );
    for line in [
        "--> Creating resources with label build=web-copy ...",
        "imagestream.image.openshift.io \"copy\" created",
        "buildconfig.build.openshift.io \"web-copy\" created",
        "Build configuration \"web-copy\" created and build triggered.",
    ] {
        assert!(made.contains(line), "{line:?} in\n{made}");
    }
    assert!(!made.contains("deployment"), "{made}");
    let copy = completed(&home, "web-copy-1");
    assert_eq!(
        copy["status"]["outputDockerImageReference"],
        format!("{registry}/shop/copy:v1").as_str()
    );
}
