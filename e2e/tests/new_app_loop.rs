//! The whole loop as a project admin meets it after `oc login`: an image pushed with skopeo
//! into the integrated registry, deployed by `oc new-app --image-stream`, pulled by the node
//! from that registry with the service account's pull secret, exposed through a route; then a
//! new image pushed to the same tag rolls the Deployment and the route serves the new page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::oc::oc;
use e2e::real_pods::real_pods_unavailable;
use e2e::source_builds::{AppCluster, ok};
use e2e::wait_until;

const WAIT: Duration = Duration::from_secs(120);

/// An OCI layout of a static busybox serving `page` on 8080 (the port declared, so that
/// new-app makes a Service).
fn build_page(dir: &Path, page: &str) -> String {
    let root = dir.join(format!("buildah-{page}"));
    let storage = [
        format!("--root={}", root.join("root").display()),
        format!("--runroot={}", root.join("run").display()),
    ];
    let buildah = |args: &[&str]| {
        let out = Command::new("buildah")
            .args(&storage)
            .args(args)
            .output()
            .unwrap();
        ok(out, &format!("buildah {args:?}"))
    };
    let site = dir.join(format!("site-{page}"));
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), format!("{page}\n")).unwrap();
    let container = buildah(&["from", "scratch"]);
    buildah(&["copy", &container, "/bin/busybox", "/bin/busybox"]);
    buildah(&["copy", &container, site.to_str().unwrap(), "/srv"]);
    buildah(&[
        "config",
        "--port",
        "8080",
        "--cmd",
        r#"["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"]"#,
        &container,
    ]);
    buildah(&["commit", "--quiet", &container, "built:1"]);
    let layout = format!("oci:{}", dir.join(format!("layout-{page}")).display());
    buildah(&["push", "built:1", &layout]);
    let _ = buildah(&["rmi", "--all", "--force"]);
    layout
}

/// Pushes `layout` to `target` with the OAuth token as password; the pushed digest.
fn push(layout: &str, target: &str, token: &str) -> String {
    let creds = format!("alice:{token}");
    let out = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", &creds])
        .args([layout, &format!("docker://{target}")])
        .output()
        .unwrap();
    ok(out, "skopeo copy");
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--creds", &creds])
        .arg(format!("docker://{target}"))
        .output()
        .unwrap();
    let inspected: serde_json::Value = serde_json::from_str(&ok(out, "skopeo inspect")).unwrap();
    inspected["Digest"].as_str().unwrap().to_string()
}

#[test]
fn a_pushed_image_is_deployed_by_new_app_and_served_through_a_route() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!(
            "SKIPPED a_pushed_image_is_deployed_by_new_app_and_served_through_a_route: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = AppCluster::start(dir.path(), "loopnode", "10.128.170.0/23", "shop");
    let c = &app.worker.cluster;
    let (home, registry) = (app.home.clone(), app.registry.clone());
    assert!(registry.starts_with("127.0.0.1:"), "{registry:?}");
    let token = ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");

    // The default service account gets its pull secret for the integrated registry.
    let secret = wait_until("the default account's pull secret", WAIT, || {
        let out = oc(
            &home,
            &[
                "get",
                "sa",
                "default",
                "-o",
                "jsonpath={.metadata.annotations.openshift\\.io/internal-registry-pull-secret-ref} {.imagePullSecrets[*].name}",
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (named, listed) = text.split_once(' ')?;
        (!named.is_empty() && listed.split(' ').any(|n| n == named)).then(|| named.to_string())
    });
    let suffix = secret
        .strip_prefix("default-dockercfg-")
        .unwrap_or_default();
    assert_eq!(suffix.len(), 5, "{secret}");
    let kind = ok(
        oc(&home, &["get", "secret", &secret, "-o", "jsonpath={.type}"]),
        "the pull secret",
    );
    assert_eq!(kind, "kubernetes.io/dockercfg");

    // Push v1's page, deploy it from the stream.
    let target = format!("{registry}/shop/web:v1");
    let first = push(&build_page(dir.path(), "page-one"), &target, &token);
    c.wait_for(
        &["imagestreamtags.image.openshift.io", "web:v1", "-n", "shop"],
        "{.image.metadata.name}",
        &first,
        WAIT,
    );
    let created = ok(
        oc(&home, &["new-app", "--image-stream=web:v1"]),
        "oc new-app",
    );
    assert!(
        created.contains("deployment.apps \"web\" created"),
        "{created}"
    );
    assert!(created.contains("service \"web\" created"), "{created}");
    let triggers = ok(
        oc(
            &home,
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.metadata.annotations.image\\.openshift\\.io/triggers}",
            ],
        ),
        "the trigger annotation",
    );
    assert!(triggers.contains(r#""name":"web:v1""#), "{triggers}");
    c.wait_for(
        &["deployment", "web", "-n", "shop"],
        "{.spec.template.spec.containers[0].image} {.status.availableReplicas}",
        &format!("{registry}/shop/web@{first} 1"),
        WAIT,
    );
    // The pod carries the account's pull secret: the node pulled with it.
    let pulled_with = ok(
        oc(
            &home,
            &[
                "get",
                "pods",
                "-l",
                "deployment=web",
                "-o",
                "jsonpath={.items[*].spec.imagePullSecrets[*].name}",
            ],
        ),
        "the pod's pull secrets",
    );
    assert!(pulled_with.contains(&secret), "{pulled_with}");

    let exposed = ok(oc(&home, &["expose", "svc/web"]), "oc expose");
    assert_eq!(exposed, "route.route.openshift.io/web exposed");
    let host = "web-shop.apps.oxshift.local";
    app.page(host, "page-one", WAIT);

    // A new image pushed to the same tag: the tag moves, the Deployment rolls, the route
    // serves the new page.
    let second = push(&build_page(dir.path(), "page-two"), &target, &token);
    assert_ne!(first, second);
    c.wait_for(
        &["deployment", "web", "-n", "shop"],
        "{.spec.template.spec.containers[0].image}",
        &format!("{registry}/shop/web@{second}"),
        WAIT,
    );
    app.page(host, "page-two", WAIT);
}
