//! Source to running app, as a project admin meets it after `oc login`: a Git repository made
//! here (served by `git daemon` on loopback) whose Dockerfile builds `FROM` an image pushed to
//! the integrated registry; `oc new-app <git-url>` makes the stream, the BuildConfig, the
//! Deployment and the Service; build 1 runs on the node, the image lands in the stream, the
//! Deployment rolls out and the route answers the page. Then a commit and a call of the
//! generic webhook whose URL `oc describe bc` shows start the next build, and the app
//! redeploys with the new page; another commit delivered as a GitHub push does it again, at
//! the pushed commit. `oc new-build` makes a build configuration alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::oc::oc;
use e2e::real_pods::real_pods_unavailable;
use e2e::source_builds::{AppCluster, GitDaemon, commit, ok, push_base};
use e2e::wait_until;
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

fn commit_page(repo: &Path, text: &str, registry: &str) -> String {
    let files = page(text, registry);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    commit(repo, &files, &format!("Page {text}"))
}

/// The URL of the webhook of `title` (`Generic`, `GitHub`) that `oc describe bc` shows.
fn webhook_url(described: &str, title: &str) -> String {
    described
        .lines()
        .skip_while(|l| !l.starts_with(&format!("Webhook {title}:")))
        .find_map(|l| l.trim().strip_prefix("URL:"))
        .map(|u| u.trim().to_string())
        .unwrap_or_else(|| panic!("no {title} webhook in\n{described}"))
}

/// The secret of the bc's trigger of `kind`.
fn trigger_secret(home: &Path, kind: &str, field: &str) -> String {
    ok(
        oc(
            home,
            &[
                "get",
                "bc",
                "web",
                "-o",
                &format!("jsonpath={{.spec.triggers[?(@.type==\"{kind}\")].{field}.secret}}"),
            ],
        ),
        "a webhook secret",
    )
}

/// POSTs to a webhook; the Build it answers with.
fn call_webhook(url: &str, ca: &Path, headers: &[&str], body: &str) -> Value {
    let mut curl = Command::new("curl");
    curl.args(["-s", "-X", "POST", "--cacert", ca.to_str().unwrap()]);
    for h in headers {
        curl.args(["-H", h]);
    }
    if !body.is_empty() {
        curl.args(["--data", body]);
    }
    let out = curl.arg(url).output().unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer["kind"], "Build", "{answer:#}");
    answer
}

/// The image the Deployment runs once the build's image rolled out, and the page answering.
fn redeployed(app: &AppCluster, build: &Value, text: &str) -> String {
    let digest = build["status"]["output"]["to"]["imageDigest"]
        .as_str()
        .unwrap()
        .to_string();
    app.worker.cluster.wait_for(
        &["deployment", "web", "-n", "shop"],
        "{.spec.template.spec.containers[0].image}",
        &format!("{}/shop/web@{digest}", app.registry),
        WAIT,
    );
    app.page("web-shop.apps.oxshift.local", text, WAIT);
    digest
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

#[test]
fn new_app_builds_a_git_repository_deploys_it_and_a_webhook_redeploys_it() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED new_app_builds_a_git_repository: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = AppCluster::start(dir.path(), "appnode", "10.128.178.0/23", "shop");
    let c = &app.worker.cluster;
    let (home, registry) = (app.home.clone(), app.registry.clone());
    let ca = c.data_dir().join("pki/ca.crt");
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

    // new-app: the repository read (its main branch), the base image found, the objects made.
    let created = ok(
        oc(&home, &["new-app", &format!("{url}#main")]),
        "oc new-app",
    );
    for line in [
        format!("* A Docker build using source code from {url}#main will be created"),
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
    assert_eq!(bc["spec"]["source"]["git"]["ref"], "main");
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
    let stages: Vec<(&str, Vec<&str>)> = first["status"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let steps = s["steps"].as_array().into_iter().flatten();
            (
                s["name"].as_str().unwrap_or_default(),
                steps.filter_map(|p| p["name"].as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("FetchInputs", vec!["FetchGitSource"]),
            ("PullImages", vec!["PullBaseImage"]),
            ("Build", vec!["DockerBuild"]),
            ("PushImage", vec!["PushDockerImage"]),
        ],
        "{first:#}"
    );
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
    app.page(host, "one", WAIT);

    // A commit, then the generic webhook `oc describe bc` shows: the next build, a redeploy.
    commit_page(&repo, "two", &registry);
    let described = ok(oc(&home, &["describe", "bc", "web"]), "oc describe bc");
    let hook = webhook_url(&described, "Generic");
    assert!(
        hook.ends_with(
            "/apis/build.openshift.io/v1/namespaces/shop/buildconfigs/web/webhooks/<secret>/generic"
        ),
        "{hook}"
    );
    let secret = trigger_secret(&home, "Generic", "generic");
    let answer = call_webhook(&hook.replace("<secret>", &secret), &ca, &[], "");
    let second = completed(&home, answer["metadata"]["name"].as_str().unwrap());
    let digest2 = redeployed(&app, &second, "two");
    assert_ne!(digest, digest2);

    // Another commit, delivered as GitHub delivers a push: built at that commit.
    let third_commit = commit_page(&repo, "three", &registry);
    let hook = webhook_url(&described, "GitHub");
    let secret = trigger_secret(&home, "GitHub", "github");
    let push = serde_json::json!({
        "ref": "refs/heads/main", "after": third_commit,
        "head_commit": {"id": third_commit, "message": "Page three",
            "author": {"name": "Ann Author", "email": "ann@example.com"},
            "committer": {"name": "Ann Author", "email": "ann@example.com"}},
    });
    let answer = call_webhook(
        &hook.replace("<secret>", &secret),
        &ca,
        &["Content-Type: application/json", "X-GitHub-Event: push"],
        &push.to_string(),
    );
    let third = completed(&home, answer["metadata"]["name"].as_str().unwrap());
    assert_eq!(
        third["spec"]["revision"]["git"]["commit"],
        third_commit.as_str()
    );
    let digest3 = redeployed(&app, &third, "three");
    assert_ne!(digest2, digest3);

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
