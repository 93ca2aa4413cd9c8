//! Imports from a real registry as a project admin meets them: `oc import-image` of a tag, of
//! a digest, of a whole repository (OCI and Docker schema 2 manifests) and of a manifest list
//! in both import modes, each resolved to the digest the registry serves; a tag the registry
//! does not have fails with the registry's answer and changes nothing; a scheduled tag
//! follows the registry.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use e2e::oc::{alice_in_project, oc};
use e2e::real_pods::{Registry, build_and_push, real_pods_unavailable};
use e2e::{Backend, Cluster};

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

fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The digest the registry serves for `image` (of the list itself, for a manifest list).
fn digest(image: &str) -> String {
    let raw = tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{image}"),
        ],
    );
    let sum = sha2_hex(raw.as_bytes());
    format!("sha256:{sum}")
}

fn sha2_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn istag(home: &Path, name: &str, path: &str) -> String {
    ok(
        home,
        &["get", "istag", name, "-o", &format!("jsonpath={{{path}}}")],
    )
}

#[test]
fn images_import_from_a_real_registry_by_tag_digest_repository_and_list() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!(
            "SKIPPED images_import_from_a_real_registry_by_tag_digest_repository_and_list: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start(dir.path());
    let repo = format!("127.0.0.1:{}/team/app", registry.port);
    // v1 as OCI (buildah's format), v2 the same image in Docker schema 2 (another digest), `multi` a list of v1.
    build_and_push(dir.path(), &format!("{repo}:v1"));
    tool(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--format=v2s2",
            &format!("docker://{repo}:v1"),
            &format!("docker://{repo}:v2"),
        ],
    );
    let storage = dir.path().join("lists");
    let root = format!("--root={}", storage.join("root").display());
    let runroot = format!("--runroot={}", storage.join("run").display());
    let buildah = |args: &[&str]| {
        let mut all = vec![root.as_str(), runroot.as_str()];
        all.extend_from_slice(args);
        tool("buildah", &all)
    };
    buildah(&["manifest", "create", "applist"]);
    buildah(&[
        "manifest",
        "add",
        "--tls-verify=false",
        "applist",
        &format!("docker://{repo}:v1"),
    ]);
    buildah(&[
        "manifest",
        "push",
        "--tls-verify=false",
        "--all",
        "applist",
        &format!("docker://{repo}:multi"),
    ]);
    let (v1, v2, multi) = (
        digest(&format!("{repo}:v1")),
        digest(&format!("{repo}:v2")),
        digest(&format!("{repo}:multi")),
    );
    assert_ne!(v1, v2);

    // Scheduled imports every few seconds, so that the test sees one.
    let htpasswd = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--htpasswd",
            htpasswd.to_str().unwrap(),
            "--scheduled-image-import-interval=2s",
        ],
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    alice_in_project(&c, &home, "shop");

    // One tag: the stream is created with --confirm, the tag resolves to the served digest.
    let out = ok(
        &home,
        &[
            "import-image",
            "app:v1",
            &format!("--from={repo}:v1"),
            "--confirm",
            "--insecure",
        ],
    );
    assert!(
        out.starts_with("imagestream.image.openshift.io/app imported\n"),
        "{out}"
    );
    assert_eq!(istag(&home, "app:v1", ".image.metadata.name"), v1);
    assert_eq!(
        istag(&home, "app:v1", ".image.dockerImageReference"),
        format!("{repo}@{v1}")
    );

    // Described as `oc describe istag` describes an image, whitespace aside.
    let described: Vec<String> = ok(&home, &["describe", "istag", "app:v1"])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for line in [
        format!("Image Name: {v1}"),
        format!("Docker Image: {repo}@{v1}"),
        "Command: /bin/busybox httpd -f -p 8080".to_string(),
        "Arch: amd64".to_string(),
    ] {
        assert!(described.contains(&line), "{line:?} in {described:#?}");
    }

    // The tag patched as a tag: its reference policy becomes Local.
    ok(
        &home,
        &[
            "patch",
            "istag",
            "app:v1",
            "--type=merge",
            "-p",
            r#"{"tag":{"referencePolicy":{"type":"Local"}}}"#,
        ],
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "is",
                "app",
                "-o",
                r#"jsonpath={.spec.tags[?(@.name=="v1")].referencePolicy.type}"#,
            ],
        ),
        "Local"
    );

    // By digest, into another tag.
    ok(
        &home,
        &[
            "import-image",
            "app:pinned",
            &format!("--from={repo}@{v2}"),
            "--confirm",
            "--insecure",
        ],
    );
    assert_eq!(istag(&home, "app:pinned", ".image.metadata.name"), v2);

    // The whole repository: every tag the registry lists.
    ok(
        &home,
        &[
            "import-image",
            "everything",
            &format!("--from={repo}"),
            "--all",
            "--confirm",
            "--insecure",
        ],
    );
    let tags = ok(
        &home,
        &[
            "get",
            "is",
            "everything",
            "-o",
            "jsonpath={range .status.tags[*]}{.tag}={.items[0].image}{\"\\n\"}{end}",
        ],
    );
    let mut tags: Vec<&str> = tags.lines().collect();
    tags.sort();
    let v1_in_list = format!("v1={v1}");
    let v2_in_list = format!("v2={v2}");
    assert_eq!(tags.len(), 3, "{tags:?}");
    assert!(tags.contains(&v1_in_list.as_str()), "{tags:?}");
    assert!(tags.contains(&v2_in_list.as_str()), "{tags:?}");

    // A manifest list: Legacy imports the platform's image, PreserveOriginal the list itself.
    ok(
        &home,
        &[
            "import-image",
            "app:legacy",
            &format!("--from={repo}:multi"),
            "--confirm",
            "--insecure",
        ],
    );
    assert_eq!(istag(&home, "app:legacy", ".image.metadata.name"), v1);
    ok(
        &home,
        &[
            "import-image",
            "app:kept",
            &format!("--from={repo}:multi"),
            "--confirm",
            "--insecure",
            "--import-mode=PreserveOriginal",
        ],
    );
    assert_eq!(istag(&home, "app:kept", ".image.metadata.name"), multi);
    assert_eq!(
        istag(&home, "app:kept", ".image.dockerImageManifests[0].digest"),
        v1
    );

    // A tag the registry does not have: the registry's answer, and the stream keeps its tags.
    let out = oc(
        &home,
        &[
            "import-image",
            "app:absent",
            &format!("--from={repo}:absent"),
            "--confirm",
            "--insecure",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tag absent failed"), "{stderr}");
    assert_eq!(istag(&home, "app:v1", ".image.metadata.name"), v1);

    // A registry whose certificate only the cluster's additional trusted CA vouches for.
    let (ca, cert, key) = e2e::loopback_certificates(dir.path());
    let tls = Registry::start_with_tls(dir.path(), Some((&cert, &key)));
    let secure = format!("127.0.0.1:{}/team/app", tls.port);
    tool(
        "skopeo",
        &[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{repo}:v1"),
            &format!("docker://{secure}:v1"),
        ],
    );
    let import_secure = || {
        oc(
            &home,
            &[
                "import-image",
                "secure:v1",
                &format!("--from={secure}:v1"),
                "--confirm",
            ],
        )
    };
    let refused = import_secure();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("tag v1 failed"), "{stderr}");
    let bundle = std::fs::read_to_string(&ca).unwrap();
    let configmap = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
        "data": {format!("127.0.0.1..{}", tls.port): bundle},
    });
    c.kubectl_ok(&["apply", "-f", &c.file("cas.json", &configmap.to_string())]);
    let image_config = r#"{"apiVersion":"config.openshift.io/v1","kind":"Image","metadata":{"name":"cluster"},
        "spec":{"additionalTrustedCA":{"name":"registry-cas"}}}"#;
    c.kubectl_ok(&["apply", "-f", &c.file("image-config.json", image_config)]);
    let trusted = import_secure();
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert_eq!(istag(&home, "secure:v1", ".image.metadata.name"), v1);

    // A scheduled tag follows the registry: the tag moved there is imported again.
    let copy = |from: &str, to: &str| {
        tool(
            "skopeo",
            &[
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{repo}:{from}"),
                &format!("docker://{repo}:{to}"),
            ],
        )
    };
    copy("v1", "moving");
    ok(
        &home,
        &[
            "import-image",
            "app:auto",
            &format!("--from={repo}:moving"),
            "--confirm",
            "--insecure",
            "--scheduled",
        ],
    );
    assert_eq!(istag(&home, "app:auto", ".image.metadata.name"), v1);
    copy("v2", "moving");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while istag(&home, "app:auto", ".image.metadata.name") != v2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled import did not pick up the new digest"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}
