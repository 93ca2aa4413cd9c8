//! image.openshift.io against `oxshift start`, driven as a project admin after `oc login`:
//! `oc tag` from a pull spec and between streams, image stream tags read and deleted, and an
//! ImageStreamMapping posted by a privileged user as the integrated registry posts pushes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use e2e::oc::{cluster_with_alice, oc};
use serde_json::{Value, json};

fn ok(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert!(
        out.status.success(),
        "oc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert!(!out.status.success(), "oc {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256(content: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(content);
    format!(
        "sha256:{}",
        hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A mapping of a schema 2 image into `stream:tag`, as the registry reports a push.
fn mapping(stream: &str, tag: &str) -> (String, Value) {
    let config =
        json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"], "User": "1001"}})
            .to_string();
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": sha256(config.as_bytes())},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1234, "digest": sha256(b"layer")}]})
    .to_string();
    let digest = sha256(manifest.as_bytes());
    let body = json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageStreamMapping",
        "metadata": {"name": stream, "namespace": "p1"}, "tag": tag,
        "image": {"metadata": {"name": digest}, "dockerImageReference": format!("127.0.0.1:5000/p1/{stream}@{digest}"),
                  "dockerImageManifest": manifest, "dockerImageConfig": config}});
    (digest, body)
}

#[test]
fn tags_streams_and_mappings_as_a_project_admin() {
    let (dir, c, home) = cluster_with_alice();
    let server = c.server();
    let ca = c.data_dir().join("pki/ca.crt");
    ok(
        &home,
        &[
            "login",
            &server,
            "-u",
            "alice",
            "-p",
            "wonderland",
            "--certificate-authority",
            ca.to_str().unwrap(),
        ],
    );
    ok(&home, &["new-project", "p1"]);

    // A reference tag records the pull spec at once; it has no image, so no ImageStreamTag.
    assert_eq!(
        ok(
            &home,
            &["tag", "quay.io/team/app:v1", "app:ref", "--reference"]
        ),
        "Tag app:ref set to quay.io/team/app:v1.\n"
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "is",
                "app",
                "-o",
                "jsonpath={.status.tags[0].items[0].dockerImageReference}"
            ]
        ),
        "quay.io/team/app:v1"
    );
    assert!(
        err(&home, &["get", "istag", "app:ref"])
            .contains("imagestreamtags.image.openshift.io \"app:ref\" not found")
    );

    // The registry's push, posted by a privileged user.
    let (digest, body) = mapping("app", "v1");
    let file = dir.path().join("mapping.json");
    std::fs::write(&file, body.to_string()).unwrap();
    c.kubectl_ok(&[
        "create",
        "--raw",
        "/apis/image.openshift.io/v1/namespaces/p1/imagestreammappings",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "istag",
                "app:v1",
                "-o",
                "jsonpath={.image.metadata.name}"
            ]
        ),
        digest
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "istag",
                "app:v1",
                "-o",
                "jsonpath={.image.dockerImageMetadata.Config.User}"
            ]
        ),
        "1001"
    );

    // Between streams: the source tag's current image.
    assert_eq!(
        ok(&home, &["tag", "app:v1", "other:prod"]),
        format!("Tag other:prod set to app@{digest}.\n")
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "istag",
                "other:prod",
                "-o",
                "jsonpath={.image.metadata.name}"
            ]
        ),
        digest
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                &format!("isimage/other@{}", &digest[7..19]),
                "-o",
                "jsonpath={.image.metadata.name}"
            ]
        ),
        digest
    );
    let listed = ok(&home, &["get", "istag"]);
    assert!(listed.starts_with("NAME"), "{listed}");
    assert!(listed.contains("other:prod"), "{listed}");

    // An alias tracks its source.
    assert_eq!(
        ok(&home, &["tag", "app:v1", "app:stable", "--alias"]),
        "Tag app:stable set up to track app:v1.\n"
    );
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "istag",
                "app:stable",
                "-o",
                "jsonpath={.image.metadata.name}"
            ]
        ),
        digest
    );

    assert_eq!(
        ok(&home, &["tag", "-d", "other:prod"]),
        "Deleted tag p1/other:prod.\n"
    );
    assert!(err(&home, &["get", "istag", "other:prod"]).contains("not found"));
    assert!(err(&home, &["tag", "-d", "other:prod"]).contains("not found"));

    // A pull spec to import: the import controller asks for it, and the failure (nothing
    // listens on the port) is recorded on the tag.
    assert_eq!(
        ok(&home, &["tag", "127.0.0.1:1/none/app:v1", "imported:v1"]),
        "Tag imported:v1 set to 127.0.0.1:1/none/app:v1.\n"
    );
    c.wait_for(
        &["is", "imported", "-n", "p1"],
        "{.status.tags[0].conditions[0].type}/{.status.tags[0].conditions[0].status}/{.status.tags[0].conditions[0].reason}",
        "ImportSuccess/False/InternalError",
        std::time::Duration::from_secs(30),
    );
    assert!(
        c.kubectl_ok(&[
            "get",
            "is",
            "imported",
            "-n",
            "p1",
            "-o",
            "jsonpath={.metadata.annotations}"
        ])
        .contains("openshift.io/image.dockerRepositoryCheck")
    );
}
