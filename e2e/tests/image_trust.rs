//! Image trust with real tools: a GPG key the test generates signs an image that skopeo
//! pushes into the integrated registry (`--sign-by`, the signature written to a lookaside
//! directory that a loopback HTTP server publishes); the same image is re-tagged without a
//! new signature and another one pushed unsigned. Under a `signedBy` ImageTrustPolicy a
//! project admin's pod of the signed tag is admitted, the re-tagged and the unsigned ones are
//! refused with the policy's reasons; the policy.json and registries.d file rendered for the
//! nodes give skopeo the same verdicts; and a signature uploaded as an ImageSignature is
//! verified and keeps admitting the image once the lookaside store is gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use e2e::images::{gpg_key, oci_layout};
use e2e::oc::oc;
use e2e::real_pods::real_pods_unavailable;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn failed(out: Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have failed: {}",
        text(&out)
    );
    text(&out)
}

/// `python -m http.server` publishing `dir` on a loopback port.
fn serve(dir: &Path, port: u16) -> Child {
    let child = Command::new(e2e::python())
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < WAIT, "the signature store did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

fn pod(dir: &Path, name: &str, image: &str) -> String {
    let path = dir.join(format!("{name}.json"));
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": image, "command": ["/bin/true"]}]}});
    std::fs::write(&path, pod.to_string()).unwrap();
    path.display().to_string()
}

/// `oc create` of a pod named `name` running `image` in alice's project `shop`.
fn create_pod(home: &Path, dir: &Path, name: &str, image: &str) -> Output {
    oc(
        home,
        &["create", "-n", "shop", "-f", &pod(dir, name, image)],
    )
}

#[test]
fn signed_images_are_admitted_and_the_nodes_policy_agrees() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED signed_images_are_admitted_and_the_nodes_policy_agrees: {why}");
        return;
    }
    if !Path::new("/usr/bin/gpg").exists() || !Path::new("/usr/bin/skopeo").exists() {
        eprintln!(
            "SKIPPED signed_images_are_admitted_and_the_nodes_policy_agrees: gpg or skopeo is missing (hack/setup.sh installs them)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = e2e::htpasswd(dir.path(), "htpasswd", "alice", "pw");
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--registry=true", "--htpasswd", passwords.to_str().unwrap()],
    );
    let registry = c.kubectl_ok(&[
        "get",
        "images.config.openshift.io",
        "cluster",
        "-o",
        "jsonpath={.status.internalRegistryHostname}",
    ]);
    let alice = dir.path().join("alice");
    std::fs::create_dir_all(&alice).unwrap();
    let ca = c.data_dir().join("pki/ca.crt");
    let server = c.server();
    ok(
        oc(
            &alice,
            &[
                "login",
                &server,
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
    ok(oc(&alice, &["new-project", "shop"]), "oc new-project");
    let token = ok(oc(&alice, &["whoami", "-t"]), "oc whoami -t");
    let authfile = alice.join("auth.json");

    let gnupg = dir.path().join("gnupg");
    let fingerprint = gpg_key(&gnupg);
    let sigstore = dir.path().join("sigstore");
    let signing_conf = dir.path().join("registries.d");
    std::fs::create_dir_all(&signing_conf).unwrap();
    std::fs::write(
        signing_conf.join("default.yaml"),
        format!(
            "default-docker:\n  lookaside-staging: file://{}\n",
            sigstore.display()
        ),
    )
    .unwrap();
    let skopeo = |args: &[&str]| {
        Command::new("skopeo")
            .env("GNUPGHOME", &gnupg)
            .args(args)
            .output()
            .unwrap()
    };
    ok(
        skopeo(&[
            "login",
            "--authfile",
            authfile.to_str().unwrap(),
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            &token,
            &registry,
        ]),
        "skopeo login",
    );
    let auth = authfile.to_str().unwrap();
    let conf = signing_conf.to_str().unwrap();
    let signed_layout = oci_layout(&dir.path().join("signed"), "signed");
    let unsigned_layout = oci_layout(&dir.path().join("unsigned"), "unsigned");
    let repo = format!("{registry}/shop/app");
    let digest_file = dir.path().join("digest");
    ok(
        skopeo(&[
            "--insecure-policy",
            "--registries.d",
            conf,
            "copy",
            "--authfile",
            auth,
            "--dest-tls-verify=false",
            "--sign-by",
            &fingerprint,
            "--digestfile",
            digest_file.to_str().unwrap(),
            &signed_layout,
            &format!("docker://{repo}:v1"),
        ]),
        "push signed",
    );
    let digest = std::fs::read_to_string(&digest_file)
        .unwrap()
        .trim()
        .to_string();
    ok(
        skopeo(&[
            "--insecure-policy",
            "copy",
            "--authfile",
            auth,
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{repo}:v1"),
            &format!("docker://{repo}:v2"),
        ]),
        "re-tag without signing",
    );
    ok(
        skopeo(&[
            "--insecure-policy",
            "copy",
            "--authfile",
            auth,
            "--dest-tls-verify=false",
            &unsigned_layout,
            &format!("docker://{repo}:unsigned"),
        ]),
        "push unsigned",
    );
    let signature = sigstore
        .join("shop")
        .join(format!("app@sha256={}", &digest[7..]))
        .join("signature-1");
    assert!(
        signature.exists(),
        "skopeo wrote no signature at {}",
        signature.display()
    );
    for tag in ["v1", "v2", "unsigned"] {
        let start = Instant::now();
        while !c
            .kubectl(&[
                "get",
                "imagestreamtags.image.openshift.io",
                &format!("app:{tag}"),
                "-n",
                "shop",
            ])
            .status
            .success()
        {
            assert!(start.elapsed() < WAIT, "the push of {tag} was not recorded");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // The signatures are published on loopback; the policy names the key and the store.
    let port = e2e::free_port();
    let mut store = serve(&sigstore, port);
    let exported = Command::new("gpg")
        .env("GNUPGHOME", &gnupg)
        .args(["--batch", "--export", &fingerprint])
        .output()
        .unwrap();
    let key_data = base64::engine::general_purpose::STANDARD.encode(&exported.stdout);
    let policy = serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {format!("{registry}/shop"): [
                     {"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data}]}},
                 "lookaside": {format!("{registry}/shop"): format!("http://127.0.0.1:{port}")}}});
    let policy_file = c.file("trust-policy.json", &policy.to_string());
    c.kubectl_ok(&["create", "-f", &policy_file]);
    let bad = c.file(
        "bad-policy.json",
        &serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
            "metadata": {"name": "cluster"}, "spec": {"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}})
        .to_string(),
    );
    let refused = c.kubectl_err(&["replace", "-f", &bad]);
    assert!(
        refused.contains(
            "spec.default[0].keyData: Required value: one of keyData and keyRef is required"
        ),
        "{refused}"
    );

    let dirp = dir.path();
    let created = ok(
        create_pod(&alice, dirp, "signed", &format!("{repo}:v1")),
        "signed pod",
    );
    assert!(created.contains("pod/signed created"), "{created}");
    ok(
        create_pod(&alice, dirp, "pinned", &format!("{repo}@{digest}")),
        "pod by digest",
    );
    let retagged = failed(
        create_pod(&alice, dirp, "retagged", &format!("{repo}:v2")),
        "re-tagged pod",
    );
    assert!(
        retagged.contains(&format!("pods \"retagged\" is forbidden: image \"{repo}:v2\" is not trusted: Signature for identity \"{repo}:v1\" is not accepted")),
        "{retagged}"
    );
    let unsigned = failed(
        create_pod(&alice, dirp, "unsigned", &format!("{repo}:unsigned")),
        "unsigned pod",
    );
    assert!(
        unsigned.contains("A signature was required, but no signature exists"),
        "{unsigned}"
    );
    let deployment = dirp.join("deployment.json");
    std::fs::write(&deployment, serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": format!("{repo}:unsigned")}]}}}}).to_string()).unwrap();
    let refused = failed(
        oc(
            &alice,
            &["create", "-n", "shop", "-f", deployment.to_str().unwrap()],
        ),
        "unsigned deployment",
    );
    assert!(
        refused.contains("deployments.apps \"web\" is forbidden"),
        "{refused}"
    );

    // The nodes' files, as rendered: skopeo with them reaches the same verdicts.
    let start = Instant::now();
    let rendered = loop {
        let policy_json = c.kubectl_ok(&[
            "get",
            "configmap",
            "node-image-config",
            "-n",
            "openshift-config-managed",
            "-o",
            "jsonpath={.data.policy\\.json}",
        ]);
        if policy_json.contains("signedBy") {
            break policy_json;
        }
        assert!(
            start.elapsed() < WAIT,
            "policy.json was not rendered: {policy_json}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let sigstore_yaml = c.kubectl_ok(&[
        "get",
        "configmap",
        "node-image-config",
        "-n",
        "openshift-config-managed",
        "-o",
        "jsonpath={.data.oxshift-sigstore\\.yaml}",
    ]);
    let node_policy = dirp.join("policy.json");
    std::fs::write(&node_policy, &rendered).unwrap();
    let node_conf = dirp.join("node-registries.d");
    std::fs::create_dir_all(&node_conf).unwrap();
    std::fs::write(node_conf.join("oxshift-sigstore.yaml"), &sigstore_yaml).unwrap();
    let pull = |tag: &str| {
        skopeo(&[
            "--policy",
            node_policy.to_str().unwrap(),
            "--registries.d",
            node_conf.to_str().unwrap(),
            "copy",
            "--authfile",
            auth,
            "--src-tls-verify=false",
            &format!("docker://{repo}:{tag}"),
            &format!("dir:{}", dirp.join(format!("pulled-{tag}")).display()),
        ])
    };
    ok(
        pull("v1"),
        "skopeo pull of the signed tag under the node's policy",
    );
    let node_retagged = failed(pull("v2"), "skopeo pull of the re-tagged image");
    assert!(node_retagged.contains("not accepted"), "{node_retagged}");
    let node_unsigned = failed(pull("unsigned"), "skopeo pull of the unsigned image");
    assert!(node_unsigned.contains("signature"), "{node_unsigned}");

    // The signature uploaded as an ImageSignature: verified, and enough once the store is gone.
    let content =
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&signature).unwrap());
    let upload = c.file(
        "signature.json",
        &serde_json::json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageSignature",
            "metadata": {"name": format!("{digest}@uploaded")}, "type": "atomic", "content": content})
        .to_string(),
    );
    c.kubectl_ok(&["create", "-f", &upload]);
    let trusted = c.kubectl_ok(&[
        "get",
        "images.image.openshift.io",
        &digest,
        "-o",
        "jsonpath={.signatures[0].conditions[0].status} {.signatures[0].imageIdentity}",
    ]);
    assert_eq!(trusted, format!("True {repo}:v1"));
    store.kill().unwrap();
    let _ = store.wait();
    ok(
        create_pod(&alice, dirp, "after-upload", &format!("{repo}:v1")),
        "signed pod after the upload",
    );
    let still = failed(
        create_pod(&alice, dirp, "unsigned-2", &format!("{repo}:unsigned")),
        "unsigned pod without a store",
    );
    assert!(still.contains("signatures could not be read"), "{still}");
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &gnupg)
        .args(["--kill", "gpg-agent"])
        .output();
}
