//! The integrated registry as its users meet it: a project admin logs in to it with the OAuth
//! token `oc login` gave, pushes an image into a stream of the project with skopeo and reads
//! it back, and the push makes the stream and the Image; a user without rights in the project
//! cannot pull it, nobody anonymous can, and the admin cannot push into a project that is not
//! theirs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use e2e::oc::{oc, registry_login};
use e2e::real_pods::real_pods_unavailable;
use e2e::{Backend, Cluster};

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn failed(out: Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn skopeo(authfile: &Path, args: &[&str]) -> Output {
    Command::new("skopeo")
        .args(args)
        .arg("--authfile")
        .arg(authfile)
        .output()
        .unwrap()
}

/// An OCI layout holding an image of a static busybox, built with buildah.
fn build_image(dir: &Path) -> String {
    let root = dir.join("buildah");
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
    let container = buildah(&["from", "scratch"]);
    buildah(&["copy", &container, "/bin/busybox", "/bin/busybox"]);
    buildah(&["commit", "--quiet", &container, "built:1"]);
    let layout = format!("oci:{}", dir.join("layout").display());
    buildah(&["push", "built:1", &layout]);
    let _ = buildah(&["rmi", "--all", "--force"]);
    layout
}

#[test]
fn project_admins_push_and_pull_others_are_denied() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED project_admins_push_and_pull_others_are_denied: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("htpasswd");
    let line = |user: &str| format!("{user}:{}\n", bcrypt::hash("pw", 4).unwrap());
    std::fs::write(&passwords, line("alice") + &line("bob")).unwrap();
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--registry=true", "--htpasswd", passwords.to_str().unwrap()],
    );
    // Recorded before the server answers its first request.
    let registry = c.kubectl_ok(&[
        "get",
        "images.config.openshift.io",
        "cluster",
        "-o",
        "jsonpath={.status.internalRegistryHostname}",
    ]);
    assert!(registry.starts_with("127.0.0.1:"), "{registry:?}");
    let login = |user: &str| {
        let (home, authfile, _) = registry_login(&c, dir.path(), user, &registry);
        (home, authfile)
    };
    let (alice, alice_auth) = login("alice");
    ok(oc(&alice, &["new-project", "shop"]), "oc new-project");
    c.kubectl_ok(&["create", "namespace", "elsewhere"]);

    let layout = build_image(dir.path());
    let target = format!("docker://{registry}/shop/web:v1");
    ok(
        skopeo(
            &alice_auth,
            &["copy", "--dest-tls-verify=false", &layout, &target],
        ),
        "push into the admin's project",
    );
    let inspected = ok(
        skopeo(&alice_auth, &["inspect", "--tls-verify=false", &target]),
        "pull from the admin's project",
    );
    let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    let digest = inspected["Digest"].as_str().unwrap();
    assert!(digest.starts_with("sha256:"), "{inspected}");

    // The registry's notification made the stream (alice may create streams in shop) and
    // the Image, named by its digest, pointing into the registry.
    let within = Duration::from_secs(30);
    c.wait_for(
        &["imagestreams", "web", "-n", "shop"],
        "{.metadata.name}",
        "web",
        within,
    );
    c.wait_for(
        &["images.image.openshift.io", digest],
        "{.dockerImageReference}",
        &format!("{registry}/shop/web@{digest}"),
        within,
    );

    // The push's mapping tagged the stream: `istag web:v1` names the pushed digest.
    c.wait_for(
        &["imagestreamtags.image.openshift.io", "web:v1", "-n", "shop"],
        "{.image.metadata.name}",
        digest,
        within,
    );
    let istag = ok(
        oc(
            &alice,
            &[
                "get",
                "istag",
                "web:v1",
                "-n",
                "shop",
                "-o",
                "jsonpath={.image.metadata.name}",
            ],
        ),
        "oc get istag",
    );
    assert_eq!(istag, digest);

    // `oc registry login` writes the same credentials to a Docker config, which skopeo reads.
    let written = alice.join("docker.json");
    // (The host is named: streams say it in their status only once the image API fills it.)
    let out = oc(
        &alice,
        &[
            "registry",
            "login",
            "--registry",
            &registry,
            "--to",
            written.to_str().unwrap(),
        ],
    );
    assert_eq!(
        ok(out, "oc registry login"),
        format!("Saved credentials for {registry}")
    );
    ok(
        skopeo(&written, &["inspect", "--tls-verify=false", &target]),
        "a pull with oc registry login's credentials",
    );

    // bob has no role in shop: his token grants no pull there.
    let (_bob, bob_auth) = login("bob");
    let refused = failed(
        skopeo(&bob_auth, &["inspect", "--tls-verify=false", &target]),
        "bob's pull",
    );
    assert!(
        refused.contains("denied") || refused.contains("unauthorized"),
        "{refused}"
    );
    // Nobody anonymous either.
    let anonymous = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--no-creds", &target])
        .output()
        .unwrap();
    let refused = failed(anonymous, "an anonymous pull");
    assert!(
        refused.contains("denied") || refused.contains("unauthorized"),
        "{refused}"
    );

    // alice cannot push into a project that is not hers.
    let refused = failed(
        skopeo(
            &alice_auth,
            &[
                "copy",
                "--dest-tls-verify=false",
                &layout,
                &format!("docker://{registry}/elsewhere/web:v1"),
            ],
        ),
        "a push into another project",
    );
    assert!(
        refused.contains("denied") || refused.contains("unauthorized"),
        "{refused}"
    );
}

#[test]
fn the_node_image_configuration_follows_image_cluster_and_mirrors() {
    let c = Cluster::start(Backend::Embedded);
    let within = Duration::from_secs(30);
    let config = [
        "configmap",
        "node-image-config",
        "-n",
        "openshift-config-managed",
    ];
    c.wait_for(
        &config,
        "{.data.policy\\.json}",
        r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
        within,
    );
    let image = |sources: &str| {
        let file = c.scratch("image.json");
        let object = format!(
            r#"{{"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{{"name":"cluster"}},"spec":{{"registrySources":{sources}}}}}"#
        );
        std::fs::write(&file, object).unwrap();
        file.display().to_string()
    };
    let both = image(r#"{"allowedRegistries":["a.io"],"blockedRegistries":["b.io"]}"#);
    let refused = c.kubectl_err(&["create", "-f", &both]);
    assert!(
        refused.contains("spec.registrySources: Invalid value: \"object\": Only one of blockedRegistries or allowedRegistries may be set"),
        "{refused}"
    );
    let blocked = image(
        r#"{"blockedRegistries":["untrusted.com"],"containerRuntimeSearchRegistries":["reg1.io","reg2.io"]}"#,
    );
    c.kubectl_ok(&["create", "-f", &blocked]);
    c.wait_for(
        &config,
        "{.data.01-image-searchRegistries\\.conf}",
        "unqualified-search-registries = ['reg1.io', 'reg2.io']\n",
        within,
    );
    let policy = r#"apiVersion: operator.openshift.io/v1alpha1
kind: ImageContentSourcePolicy
metadata:
  name: payload
spec:
  repositoryDigestMirrors:
  - mirrors:
    - internal-mirror.io/openshift-payload
    source: quay.io/openshift-payload
"#;
    let file = c.scratch("icsp.yaml");
    std::fs::write(&file, policy).unwrap();
    c.kubectl_ok(&["create", "-f", file.to_str().unwrap()]);
    c.wait_for(
        &config,
        "{.data.registries\\.conf}",
        r#"unqualified-search-registries = ["registry.access.redhat.com", "docker.io"]
short-name-mode = ""

[[registry]]
  prefix = ""
  location = "quay.io/openshift-payload"
  mirror-by-digest-only = true

  [[registry.mirror]]
    location = "internal-mirror.io/openshift-payload"

[[registry]]
  prefix = ""
  location = "untrusted.com"
  blocked = true
"#,
        within,
    );
}
