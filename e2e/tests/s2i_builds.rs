//! Source-to-image for real, as a project admin meets it after `oc login`: a builder image
//! made here (a static busybox, `assemble`/`run`/`save-artifacts` scripts under the
//! `io.openshift.s2i.scripts-url` it names) pushed to the integrated registry as an image
//! stream tag; `oc new-app <builder>~<git-url>` makes a Source build from a repository served
//! by `git daemon` on loopback, whose image runs the builder's `run` and serves the
//! repository's page through the route. The build reports its stages; the image carries the
//! build's labels, the assemble user and `run` as its command. Turned incremental, the next
//! build restores what `save-artifacts` kept of the previous image; a scripts URL on this
//! machine replaces the image's `assemble`, one that serves nothing fails the build.
//!
//! Language detection: with the builder tagged in `openshift` as a builder that `supports`
//! nodejs, `oc new-app <git-url>` of a repository holding a `package.json` and no Dockerfile
//! picks it and the app serves; a repository of an unsupported language gets upstream's
//! error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::oc;
use e2e::real_pods::real_pods_unavailable;
use e2e::source_builds::{
    AppCluster, GitDaemon, commit, ok, push_s2i_builder, wait_for_registry_secrets,
};
use e2e::wait_until;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(150);

fn json_of(home: &Path, args: &[&str]) -> Option<Value> {
    let out = oc(home, args);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).ok())
        .flatten()
}

/// The build once it completed (panics with its state and log if it ends otherwise).
fn completed(home: &Path, name: &str) -> (Value, String) {
    let build = wait_until(&format!("build {name} to end"), WAIT, || {
        let b = json_of(home, &["get", "build", name, "-o", "json"])?;
        matches!(
            b["status"]["phase"].as_str(),
            Some("Complete" | "Failed" | "Error" | "Cancelled")
        )
        .then_some(b)
    });
    let log = oc(home, &["logs", &format!("build/{name}")]);
    let log = String::from_utf8_lossy(&log.stdout).into_owned();
    assert_eq!(build["status"]["phase"], "Complete", "{build:#}\n{log}");
    (build, log)
}

/// The names of the build's stages and of each stage's steps.
fn stages(build: &Value) -> Vec<(String, Vec<String>)> {
    let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
    build["status"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let steps = s["steps"].as_array().into_iter().flatten().map(name);
            (name(s), steps.collect())
        })
        .collect()
}

/// Starts the cluster and pushes the builder as `shop/httpd-s2i:latest`.
fn cluster_with_builder(dir: &Path, node: &str, cidr: &str) -> AppCluster {
    let app = AppCluster::start(dir, node, cidr, "shop");
    wait_for_registry_secrets(&app.home, &["builder", "default"], WAIT);
    let token = ok(oc(&app.home, &["whoami", "-t"]), "oc whoami -t");
    push_s2i_builder(
        dir,
        &format!("{}/shop/httpd-s2i:latest", app.registry),
        "alice",
        &token,
    );
    wait_until("the builder's image stream tag", WAIT, || {
        let out = oc(&app.home, &["get", "istag", "httpd-s2i:latest"]);
        out.status.success().then_some(())
    });
    app
}

/// Exposes the service `name` and waits for its page.
fn serves(app: &AppCluster, name: &str, page: &str) {
    let exposed = ok(
        oc(&app.home, &["expose", &format!("svc/{name}")]),
        "oc expose",
    );
    assert_eq!(exposed, format!("route.route.openshift.io/{name} exposed"));
    app.page(&format!("{name}-shop.apps.oxshift.local"), page, WAIT);
}

#[test]
fn a_source_build_assembles_with_the_builders_scripts_and_an_incremental_one_restores_artifacts() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_source_build_assembles: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = cluster_with_builder(dir.path(), "s2inode", "10.128.236.0/23");
    let (home, registry) = (app.home.clone(), app.registry.clone());

    let repos = dir.path().join("repos");
    commit(&repos.join("site"), &[("index.html", "one\n")], "Page one");
    let daemon = GitDaemon::start(&repos);
    let url = daemon.url("site");

    let created = ok(
        oc(&home, &["new-app", &format!("httpd-s2i~{url}#main")]),
        "oc new-app",
    );
    for line in [
        "--> Found image",
        "in image stream \"shop/httpd-s2i\" under tag \"latest\" for \"httpd-s2i\"",
        &format!("* A source build using source code from {url}#main will be created"),
        "* The resulting image will be pushed to image stream tag \"site:latest\"",
        "buildconfig.build.openshift.io \"site\" created",
        "deployment.apps \"site\" created",
    ] {
        assert!(created.contains(line), "{line:?} in\n{created}");
    }
    let bc = json_of(&home, &["get", "bc", "site", "-o", "json"]).unwrap();
    assert_eq!(bc["spec"]["strategy"]["type"], "Source", "{bc:#}");
    assert_eq!(
        bc["spec"]["strategy"]["sourceStrategy"]["from"]["name"],
        "httpd-s2i:latest"
    );

    // Build 1: assembled by the image's user, run by its run script, served.
    let (first, log) = completed(&home, "site-1");
    for line in [
        format!("Cloning \"{url}\" ..."),
        "Generating dockerfile with builder image".into(),
        "RUN /usr/libexec/s2i/assemble".into(),
        "---> Installing application source ...".into(),
        format!("Pushing image {registry}/shop/site:latest ..."),
        "Push successful".into(),
    ] {
        assert!(log.contains(&line), "{line:?} in\n{log}");
    }
    assert!(!log.contains("Restoring build artifacts"), "{log}");
    let names: Vec<String> = stages(&first).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["FetchInputs", "PullImages", "Build", "PushImage"],
        "{first:#}"
    );
    assert!(
        stages(&first).contains(&("Build".into(), vec!["DockerBuild".into()])),
        "{first:#}"
    );
    assert!(
        stages(&first).contains(&("PushImage".into(), vec!["PushImage".into()])),
        "{first:#}"
    );
    let image = json_of(&home, &["get", "istag", "site:latest", "-o", "json"]).unwrap();
    let config = &image["image"]["dockerImageMetadata"]["Config"];
    assert_eq!(config["User"], "1001", "{config:#}");
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "/usr/libexec/s2i/run"])
    );
    let labels = &config["Labels"];
    assert_eq!(
        labels["io.openshift.s2i.scripts-url"],
        "image:///usr/libexec/s2i"
    );
    assert_eq!(labels["io.openshift.build.name"], "site-1");
    assert_eq!(
        labels["io.openshift.build.commit.id"],
        first["spec"]["revision"]["git"]["commit"]
    );
    assert!(
        labels["io.openshift.build.image"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{registry}/shop/httpd-s2i@sha256:")),
        "{labels:#}"
    );
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(env.contains(&"OPENSHIFT_BUILD_NAME=site-1"), "{env:?}");
    serves(&app, "site", "one");
    let host = "site-shop.apps.oxshift.local";
    app.page_at(host, "builds", "1", WAIT);
    app.page_at(host, "assembled-by", "1001", WAIT);

    // Incremental: build 2 restores the count save-artifacts kept of build 1's image.
    ok(
        oc(
            &home,
            &[
                "patch",
                "bc/site",
                "--type=merge",
                "-p",
                r#"{"spec":{"strategy":{"sourceStrategy":{"incremental":true}}}}"#,
            ],
        ),
        "oc patch bc",
    );
    commit(&repos.join("site"), &[("index.html", "two\n")], "Page two");
    let started = ok(oc(&home, &["start-build", "site"]), "oc start-build");
    assert_eq!(started, "build.build.openshift.io/site-2 started");
    let (second, log) = completed(&home, "site-2");
    assert!(log.contains("---> Restoring build artifacts"), "{log}");
    assert!(log.contains("FROM"), "{log}");
    let pulled: Vec<String> = stages(&second)
        .into_iter()
        .filter(|(n, _)| n == "PullImages")
        .flat_map(|(_, steps)| steps)
        .collect();
    assert!(pulled.contains(&"PullInputImage".to_string()), "{second:#}");
    app.page_at(host, "builds", "2", WAIT);
    app.page(host, "two", WAIT);

    // The strategy's scripts URL: an assemble downloaded from this machine replaces the
    // image's (the rest stay the image's); a URL nothing can be fetched from fails the build.
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(
        scripts.join("assemble"),
        "#!/bin/sh\nset -e\ncp -R /tmp/src/. /opt/app/\necho downloaded > /opt/app/assembled-by\n",
    )
    .unwrap();
    let server = ScriptServer::start(&scripts);
    set_scripts(&home, &format!("http://127.0.0.1:{}", server.port));
    ok(oc(&home, &["start-build", "site"]), "oc start-build");
    let (third, _) = completed(&home, "site-3");
    assert_eq!(
        third["status"]["outputDockerImageReference"],
        format!("{registry}/shop/site:latest").as_str()
    );
    app.page_at(host, "assembled-by", "downloaded", WAIT);
    drop(server);
    let nowhere = format!("http://127.0.0.1:{}", e2e::free_port());
    set_scripts(&home, &nowhere);
    ok(oc(&home, &["start-build", "site"]), "oc start-build");
    let failed = wait_until("build site-4 to fail", WAIT, || {
        let b = json_of(&home, &["get", "build", "site-4", "-o", "json"])?;
        (b["status"]["phase"] == "Failed").then_some(b)
    });
    assert_eq!(
        failed["status"]["reason"], "FetchScriptsFailed",
        "{failed:#}"
    );
    assert_eq!(
        failed["status"]["message"],
        "Failed to fetch specified scripts."
    );
    let log = oc(&home, &["logs", "build/site-4"]);
    let log = String::from_utf8_lossy(&log.stdout).into_owned();
    assert!(
        log.contains(&format!(
            "could not download any scripts from URL {nowhere}"
        )),
        "{log}"
    );
}

/// Sets the Source strategy's scripts URL of `bc/site`.
fn set_scripts(home: &Path, url: &str) {
    let patch = serde_json::json!({"spec": {"strategy": {"sourceStrategy": {"scripts": url}}}});
    ok(
        oc(
            home,
            &["patch", "bc/site", "--type=merge", "-p", &patch.to_string()],
        ),
        "oc patch bc",
    );
}

/// busybox's httpd serving a directory on a loopback port, stopped when dropped.
struct ScriptServer {
    child: std::process::Child,
    port: u16,
}

impl ScriptServer {
    fn start(dir: &Path) -> ScriptServer {
        let port = e2e::free_port();
        let child = std::process::Command::new("busybox")
            .args(["httpd", "-f", "-p", &format!("127.0.0.1:{port}"), "-h"])
            .arg(dir)
            .spawn()
            .unwrap();
        wait_until("the scripts' server to listen", WAIT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        ScriptServer { child, port }
    }
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn new_app_detects_the_language_and_picks_the_builder_that_supports_it() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED new_app_detects_the_language: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = AppCluster::start(dir.path(), "langnode", "10.128.238.0/23", "shop");
    let c = &app.worker.cluster;
    let home = app.home.clone();
    wait_for_registry_secrets(&home, &["builder", "default"], WAIT);
    // A builder published to every project, as a cluster admin does it: pushed to the
    // `openshift` project (by alice, whom the admin lets push there), then tagged `latest`
    // as a builder that supports nodejs.
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "alice-pushes",
        "--clusterrole=system:image-builder",
        "--user=alice",
        "-n",
        "openshift",
    ]);
    let token = ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");
    push_s2i_builder(
        dir.path(),
        &format!("{}/openshift/nodejs:1.0", app.registry),
        "alice",
        &token,
    );
    c.wait_for(
        &["is", "nodejs", "-n", "openshift"],
        "{.status.tags[0].tag}",
        "1.0",
        WAIT,
    );
    let builder_tag = serde_json::json!({"spec": {"tags": [{"name": "latest",
        "annotations": {"supports": "nodejs", "tags": "builder,nodejs"},
        "from": {"kind": "ImageStreamTag", "name": "nodejs:1.0"}}]}});
    c.kubectl_ok(&[
        "patch",
        "is",
        "nodejs",
        "-n",
        "openshift",
        "--type=merge",
        "-p",
        &builder_tag.to_string(),
    ]);
    c.wait_for(
        &["istag", "nodejs:latest", "-n", "openshift"],
        "{.tag.name}",
        "latest",
        WAIT,
    );

    let repos = dir.path().join("repos");
    commit(
        &repos.join("shopfront"),
        &[
            ("package.json", "{\"name\": \"shopfront\"}\n"),
            ("index.html", "front\n"),
        ],
        "A node app",
    );
    commit(
        &repos.join("gems"),
        &[("Gemfile", "source 'x'\n")],
        "A ruby app",
    );
    let daemon = GitDaemon::start(&repos);

    let url = daemon.url("shopfront");
    let created = ok(oc(&home, &["new-app", &url]), "oc new-app");
    for line in [
        "in image stream \"openshift/nodejs\" under tag \"latest\" for \"nodejs\"",
        "* The source repository appears to match: nodejs",
        &format!("* A source build using source code from {url} will be created"),
        "* The resulting image will be pushed to image stream tag \"shopfront:latest\"",
        "buildconfig.build.openshift.io \"shopfront\" created",
    ] {
        assert!(created.contains(line), "{line:?} in\n{created}");
    }
    let bc = json_of(&home, &["get", "bc", "shopfront", "-o", "json"]).unwrap();
    let from = &bc["spec"]["strategy"]["sourceStrategy"]["from"];
    assert_eq!(
        (
            from["kind"].as_str(),
            from["namespace"].as_str(),
            from["name"].as_str()
        ),
        (
            Some("ImageStreamTag"),
            Some("openshift"),
            Some("nodejs:latest")
        ),
        "{bc:#}"
    );
    completed(&home, "shopfront-1");
    serves(&app, "shopfront", "front");

    // No builder supports ruby here: upstream's error, nothing made.
    let gems = oc(&home, &["new-app", &daemon.url("gems")]);
    assert!(!gems.status.success());
    let err = String::from_utf8_lossy(&gems.stderr);
    assert!(
        err.contains("unable to locate any image stream images with a 'supports' annotation, images in image streams, images via the image stream import API with name \"ruby\""),
        "{err}"
    );
    assert!(oc(&home, &["get", "bc", "gems"]).status.code() != Some(0));
}
