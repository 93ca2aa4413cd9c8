//! Mirrors as a cluster admin sets them up and pods meet them: an ImageTagMirrorSet and an
//! ImageDigestMirrorSet that never contact their source send the node's pulls of images named
//! under a registry that does not exist to a registry on loopback; the pods run, and imports
//! of those names read the mirrors too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use e2e::real_pods::{PodmanCluster, real_pods_unavailable};

const WAIT: Duration = Duration::from_secs(120);

fn digest(image: &str) -> String {
    use sha2::Digest;
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{image}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo inspect {image}");
    let sum: String = sha2::Sha256::digest(&out.stdout)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{sum}")
}

#[test]
fn pods_pull_through_tag_and_digest_mirrors() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED pods_pull_through_tag_and_digest_mirrors: {why}");
        return;
    }
    let worker = PodmanCluster::start("mirrors", "10.128.190.0/23", &["1"]);
    let c = &worker.cluster;
    let local = format!("127.0.0.1:{}/web", worker.registry.port);
    let sets = format!(
        "apiVersion: config.openshift.io/v1
kind: ImageTagMirrorSet
metadata:
  name: team
spec:
  imageTagMirrors:
  - source: registry.example/team/web
    mirrors: [\"{local}\"]
    mirrorSourcePolicy: NeverContactSource
---
apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: pinned
spec:
  imageDigestMirrors:
  - source: registry.example/pinned/web
    mirrors: [\"{local}\"]
    mirrorSourcePolicy: NeverContactSource
"
    );
    c.kubectl_ok(&["apply", "-f", &c.file("mirror-sets.yaml", &sets)]);
    assert_eq!(
        c.kubectl_ok(&["get", "itms,idms", "-o", "name"]),
        "imagetagmirrorset.config.openshift.io/team\nimagedigestmirrorset.config.openshift.io/pinned\n"
    );
    // Rendered for the nodes, the mirror marked insecure as its registry is.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let conf = c.kubectl_ok(&[
            "get",
            "configmap",
            "node-image-config",
            "-n",
            "openshift-config-managed",
            "-o",
            "jsonpath={.data.registries\\.conf}",
        ]);
        if conf.contains("registry.example/team/web")
            && conf.contains("registry.example/pinned/web")
        {
            assert!(conf.contains("pull-from-mirror = \"tag-only\""), "{conf}");
            assert!(conf.contains("insecure = true"), "{conf}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not rendered: {conf}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let served = digest(&format!("{local}:1"));
    let by_digest = format!("registry.example/pinned/web@{served}");
    for (name, image) in [
        ("tagged", "registry.example/team/web:1"),
        ("pinned", by_digest.as_str()),
    ] {
        let pod = format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: web\n    image: {image}\n"
        );
        c.kubectl_ok(&["create", "-f", &c.file(&format!("{name}.yaml"), &pod)]);
    }
    for name in ["tagged", "pinned"] {
        c.wait_for(&["pod", name], "{.status.phase}", "Running", WAIT);
    }

    // An import of a name under the mirrored source reads the mirror; the image keeps its name.
    c.kubectl_ok(&["create", "namespace", "imports"]);
    let isi = r#"{"apiVersion":"image.openshift.io/v1","kind":"ImageStreamImport",
        "metadata":{"name":"web","namespace":"imports"},
        "spec":{"import":true,"images":[{"from":{"kind":"DockerImage","name":"registry.example/team/web:1"},"to":{"name":"1"}}]}}"#;
    let imported = c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("isi.json", isi),
        "-o",
        "jsonpath={.status.images[0].status.status} {.status.images[0].image.metadata.name} {.status.images[0].image.dockerImageReference}",
    ]);
    assert_eq!(
        imported,
        format!("Success {served} registry.example/team/web@{served}")
    );
}
