//! Image trust with real tools: a GPG key the test generates signs an image pushed into the
//! integrated registry (`skopeo standalone-sign`, the signature written into a lookaside
//! directory that a loopback HTTP server publishes); the same image is re-tagged without a
//! new signature and another one pushed unsigned. Under a `signedBy` ImageTrustPolicy a
//! project admin's pod of the signed tag is admitted, the re-tagged and the unsigned ones are
//! refused with the policy's reasons; a signature uploaded as an ImageSignature is verified;
//! the policy.json and registries.d file rendered for the nodes give skopeo the same verdicts
//! (skopeo reads the signature through the registry's signature extension); and the
//! ImageSignature keeps admitting the image once the lookaside store is gone.
//!
//! With the admission plugin switched off, the node enforces the same policy itself: podman's
//! pulls get the rendered policy.json and registries.d, an unsigned image and one already
//! present but signed under another name end `ErrImagePull`/`ImagePullBackOff` with
//! containers/image's reason, a signed one runs; a user given `system:image-signer` uploads
//! signatures, and one made by an expired key is kept but not trusted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use e2e::image_signing::{
    RegistryAuth, SignedRepository, fingerprint, gpg, gpg_key, key_data, serve_store,
    signing_unavailable,
};
use e2e::oc::{alice_in_project, oc};
use e2e::output::{failed, ok, text};
use e2e::real_pods::PodmanCluster;
use e2e::{Backend, Cluster, wait_until};

const WAIT: Duration = Duration::from_secs(60);

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
    if let Some(why) = signing_unavailable() {
        eprintln!("SKIPPED signed_images_are_admitted_and_the_nodes_policy_agrees: {why}");
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

    ok(
        Command::new("skopeo")
            .args(["login", "--authfile", authfile.to_str().unwrap()])
            .args(["--tls-verify=false", "-u", "alice", "-p", &token, &registry])
            .output()
            .unwrap(),
        "skopeo login",
    );
    let auth = authfile.to_str().unwrap();
    let repo = format!("{registry}/shop/app");
    // v1 signed in a lookaside store, re-tagged as v2 without a signature; `unsigned` not.
    let mut signed = SignedRepository::push(dir.path(), &repo, RegistryAuth::AuthFile(auth));
    let (digest, signature) = (signed.digest.clone(), signed.signature.clone());
    let skopeo = |args: &[&str]| signed.skopeo(args);
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
    let port = signed.store_port;
    let policy = serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {format!("{registry}/shop"): signed.signed_by()}},
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
    // The nodes' files, as rendered: skopeo with them reaches the same verdicts. (It reads the
    // integrated registry's signatures through its extension, which lists the ImageSignatures
    // and the store's signatures: a registry that serves the extension is never asked for
    // through a lookaside store.)
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

    signed.stop_store();
    ok(
        create_pod(&alice, dirp, "after-upload", &format!("{repo}:v1")),
        "signed pod after the upload",
    );
    let still = failed(
        create_pod(&alice, dirp, "unsigned-2", &format!("{repo}:unsigned")),
        "unsigned pod without a store",
    );
    assert!(still.contains("signatures could not be read"), "{still}");
}

/// A signing key in `home` made two years ago that expired a year later, and its signature
/// (made while it was valid) of `claim`: (fingerprint, exported key, signature).
fn expired_key_signature(home: &Path, claim: &str) -> (String, Vec<u8>, Vec<u8>) {
    std::fs::create_dir_all(home).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let made = (now - 2 * 365 * 86_400).to_string();
    let signed = (now - 2 * 365 * 86_400 + 86_400).to_string();
    let gpg_at = |at: Option<&str>, args: &[&str]| {
        let mut all = vec!["--pinentry-mode", "loopback"];
        if let Some(at) = at {
            all.extend(["--faked-system-time", at]);
        }
        all.extend_from_slice(args);
        gpg(home, &all)
    };
    gpg_at(
        Some(&made),
        &[
            "--quick-gen-key",
            "Expired Signer <expired@example.com>",
            "rsa2048",
            "sign",
            "365d",
        ],
    );
    let fingerprint = fingerprint(home);
    let claim_file = home.join("claim.json");
    std::fs::write(&claim_file, claim).unwrap();
    let signature = home.join("claim.sig");
    gpg_at(
        Some(&signed),
        &[
            "-u",
            &fingerprint,
            "--sign",
            "--output",
            signature.to_str().unwrap(),
            claim_file.to_str().unwrap(),
        ],
    );
    let key = gpg_at(None, &["--export", &fingerprint]);
    (fingerprint, key, std::fs::read(&signature).unwrap())
}

/// The waiting reason and message of the pod's container, and the messages of its events.
fn waiting(home: &Path, pod: &str) -> (String, Vec<String>) {
    let state = oc(
        home,
        &[
            "get",
            "pod",
            pod,
            "-o",
            "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}",
        ],
    );
    let events = oc(
        home,
        &[
            "get",
            "events",
            &format!("--field-selector=involvedObject.name={pod}"),
            "-o",
            "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
        ],
    );
    (
        String::from_utf8_lossy(&state.stdout).to_string(),
        String::from_utf8_lossy(&events.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn the_node_enforces_the_policy_itself_and_signers_upload_signatures() {
    if let Some(why) = signing_unavailable() {
        eprintln!(
            "SKIPPED the_node_enforces_the_policy_itself_and_signers_upload_signatures: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let passwords = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    // Admission does not judge images here: what is refused, the node refuses.
    let worker = PodmanCluster::start_with(
        "trusting",
        "10.129.62.0/23",
        &["1", "2"],
        &[
            "--htpasswd",
            passwords.to_str().unwrap(),
            "--disable-admission-plugins",
            "image.oxshift.io/ImageTrustPolicy",
        ],
    );
    let c = &worker.cluster;
    let repo = format!("127.0.0.1:{}/web", worker.registry.port);
    let alice = dir.path().join("alice");
    std::fs::create_dir_all(&alice).unwrap();
    alice_in_project(c, &alice, "shop");
    let pod_of = |name: &str, image: &str| {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": image,
                "command": ["/bin/busybox", "sleep", "3600"]}]}});
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, pod.to_string()).unwrap();
        ok(
            oc(&alice, &["create", "-f", path.to_str().unwrap()]),
            &format!("pod {name}"),
        );
    };
    let running = |name: &str| {
        wait_until(
            &format!("pod {name} running"),
            Duration::from_secs(120),
            || {
                let phase = ok(
                    oc(
                        &alice,
                        &["get", "pod", name, "-o", "jsonpath={.status.phase}"],
                    ),
                    "pod phase",
                );
                (phase == "Running").then_some(())
            },
        )
    };

    // Before any policy, the first image is pulled and runs: it is present on the node.
    pod_of("before", &format!("{repo}:1"));
    running("before");

    // The first image signed as `signed` (the same digest), its signature published on
    // loopback; the second stays unsigned.
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
    let signed = Command::new("skopeo")
        .env("GNUPGHOME", &gnupg)
        .args(["--insecure-policy", "--registries.d"])
        .arg(&signing_conf)
        .args([
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--sign-by",
            &fingerprint,
            &format!("docker://{repo}:1"),
            &format!("docker://{repo}:signed"),
        ])
        .output()
        .unwrap();
    ok(signed, "skopeo copy --sign-by");
    let port = e2e::free_port();
    let mut store = serve_store(&sigstore, port);
    let key_data = key_data(&gnupg, &fingerprint);

    // An expired key's signature of the first image, for the upload below; the policy
    // trusts that key too, so only its expiry stands in the way.
    let import = ok(
        oc(
            &alice,
            &[
                "import-image",
                "web:1",
                &format!("--from={repo}:1"),
                "--confirm",
                "--insecure",
            ],
        ),
        "oc import-image",
    );
    assert!(import.contains("imported"), "{import}");
    let digest = ok(
        oc(
            &alice,
            &[
                "get",
                "istag",
                "web:1",
                "-o",
                "jsonpath={.image.metadata.name}",
            ],
        ),
        "the imported digest",
    );
    let claim = serde_json::json!({"critical": {"identity": {"docker-reference": format!("{repo}:1")},
        "image": {"docker-manifest-digest": digest}, "type": "atomic container signature"},
        "optional": {"creator": "e2e"}});
    let (expired_fingerprint, expired_key, expired_signature) =
        expired_key_signature(&dir.path().join("expired-gnupg"), &claim.to_string());
    let expired_data = base64::engine::general_purpose::STANDARD.encode(&expired_key);

    let policy = serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {repo.clone(): [
                     {"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data}],
                     "example.com/expired": [
                     {"type": "signedBy", "keyType": "GPGKeys", "keyData": expired_data}]}},
                 "lookaside": {repo.clone(): format!("http://127.0.0.1:{port}")}}});
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("trust-policy.json", &policy.to_string()),
    ]);
    wait_until("the policy rendered for the nodes", WAIT, || {
        let sigstore = c.kubectl_ok(&[
            "get",
            "configmap",
            "node-image-config",
            "-n",
            "openshift-config-managed",
            "-o",
            "jsonpath={.data.oxshift-sigstore\\.yaml}",
        ]);
        sigstore.contains(&port.to_string()).then_some(())
    });

    // The node refuses the unsigned image, and the present one whose signature names another
    // tag, with containers/image's reasons, and backs off; the signed one runs.
    pod_of("unsigned", &format!("{repo}:2"));
    pod_of("present", &format!("{repo}:1"));
    pod_of("signed", &format!("{repo}:signed"));
    let inspect = |tag: &str| {
        let out = Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
            .arg(format!("docker://{repo}:{tag}"))
            .output()
            .unwrap();
        ok(out, "skopeo inspect")
    };
    // Two builds in the same second may make the same image: then the signature exists, for
    // another name.
    let unsigned_reason = if inspect("2") == inspect("1") {
        format!("Source image rejected: Signature for identity {repo}:signed is not accepted")
    } else {
        "Source image rejected: A signature was required, but no signature exists".to_string()
    };
    for (pod, image, reason) in [
        ("unsigned", format!("{repo}:2"), unsigned_reason),
        (
            "present",
            format!("{repo}:1"),
            format!("Source image rejected: Signature for identity {repo}:signed is not accepted"),
        ),
    ] {
        let failed_event = format!("Failed to pull image \"{image}\": {reason}");
        let (state, events) = wait_until(
            &format!("{pod} refused by the node"),
            Duration::from_secs(120),
            || {
                let (state, events) = waiting(&alice, pod);
                (state.starts_with("ImagePullBackOff|") && events.contains(&failed_event))
                    .then_some((state, events))
            },
        );
        assert!(
            events.contains(&"Error: ErrImagePull".to_string())
                && events.contains(&format!("Back-off pulling image \"{image}\"")),
            "{pod}: {events:#?}"
        );
        assert_eq!(
            state,
            format!("ImagePullBackOff|Back-off pulling image \"{image}\"")
        );
    }
    running("signed");
    running("before");
    store.kill().unwrap();
    let _ = store.wait();

    // Signing needs system:image-signer: alice has it once the administrator grants it.
    let upload = |name: &str, content: &[u8]| {
        let signature = serde_json::json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageSignature",
            "metadata": {"name": format!("{digest}@{name}")}, "type": "atomic",
            "content": base64::engine::general_purpose::STANDARD.encode(content)});
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, signature.to_string()).unwrap();
        oc(&alice, &["create", "-f", path.to_str().unwrap()])
    };
    let forbidden = failed(
        upload("expired", &expired_signature),
        "upload without the role",
    );
    assert!(
        forbidden.contains("User \"alice\" cannot create resource \"imagesignatures\" in API group \"image.openshift.io\" at the cluster scope"),
        "{forbidden}"
    );
    let admin = dir.path().join("admin");
    std::fs::create_dir_all(&admin).unwrap();
    let kubeconfig = c.kubeconfig();
    let granted = ok(
        oc(
            &admin,
            &[
                "--kubeconfig",
                kubeconfig.to_str().unwrap(),
                "adm",
                "policy",
                "add-cluster-role-to-user",
                "system:image-signer",
                "alice",
            ],
        ),
        "oc adm policy add-cluster-role-to-user",
    );
    assert_eq!(
        granted,
        "clusterrole.rbac.authorization.k8s.io/system:image-signer added: \"alice\""
    );
    let created = wait_until("alice uploads as a signer", WAIT, || {
        let out = upload("expired", &expired_signature);
        out.status.success().then(|| text(&out))
    });
    assert!(created.contains("created"), "{created}");
    let condition = ok(
        oc(
            &alice,
            &[
                "get",
                "images.image.openshift.io",
                &digest,
                "-o",
                "jsonpath={.signatures[0].conditions[0].status}|{.signatures[0].conditions[0].message}",
            ],
        ),
        "the uploaded signature",
    );
    let (status, message) = condition.split_once('|').unwrap();
    assert_eq!(status, "False", "{condition}");
    assert!(
        message.starts_with(&format!(
            "the signature was made by key {expired_fingerprint}, which expired on "
        )),
        "{condition}"
    );
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &gnupg)
        .args(["--kill", "gpg-agent"])
        .output();
}

/// A tag of a registry other than the integrated one: a loopback registry asking for
/// credentials, listed among the image configuration's insecure registries. Under a
/// `signedBy` policy a project admin's pod naming a signed tag is resolved to its digest with
/// the pod's pull secret (or its service account's) and admitted; an unsigned tag, a tag
/// re-tagged after signing, and a tag read without credentials are refused with the reasons;
/// a registry that is down refuses the pods under `signedBy`, not those the policy accepts
/// anyway.
#[test]
fn tags_of_other_registries_are_resolved_with_the_pods_pull_secrets() {
    if let Some(why) = signing_unavailable() {
        eprintln!(
            "SKIPPED tags_of_other_registries_are_resolved_with_the_pods_pull_secrets: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dirp = dir.path();
    let passwords = e2e::htpasswd(dirp, "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--htpasswd", passwords.to_str().unwrap()],
    );
    let pullers = e2e::htpasswd(dirp, "registry-htpasswd", "puller", "s3cret");
    let registry = e2e::real_pods::Registry::start_with_htpasswd(dirp, &pullers);
    let host = format!("127.0.0.1:{}", registry.port);
    let repo = format!("{host}/shop/app");

    // Pushed with the registry's credentials: v1 (signed, then copied to v2) and unsigned.
    let signed = SignedRepository::push(dirp, &repo, RegistryAuth::Creds("puller:s3cret"));
    let (v1, v2) = (format!("docker://{repo}:v1"), format!("docker://{repo}:v2"));
    let retag = [
        "--insecure-policy",
        "copy",
        "--src-creds",
        "puller:s3cret",
        "--src-tls-verify=false",
        "--dest-creds",
        "puller:s3cret",
        "--dest-tls-verify=false",
        &v1,
        &v2,
    ];
    ok(signed.skopeo(&retag), "re-tag v1 as v2");
    let port = signed.store_port;

    // The administrator: the registry is insecure (plain HTTP); its `shop` and a registry
    // that is down need signatures, anything else is accepted.
    let down_port = e2e::free_port();
    let down = format!("127.0.0.1:{down_port}");
    let insecure = serde_json::json!({"spec": {"registrySources": {"insecureRegistries": [host]}}});
    if !c
        .kubectl(&[
            "patch",
            "images.config.openshift.io",
            "cluster",
            "--type=merge",
            "-p",
            &insecure.to_string(),
        ])
        .status
        .success()
    {
        let mut config = insecure.clone();
        config["apiVersion"] = "config.openshift.io/v1".into();
        config["kind"] = "Image".into();
        config["metadata"] = serde_json::json!({"name": "cluster"});
        c.kubectl_ok(&[
            "create",
            "-f",
            &c.file("image-config.json", &config.to_string()),
        ]);
    }
    let signed_by = signed.signed_by();
    let policy = serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {format!("{host}/shop"): signed_by, down.clone(): signed_by}},
                 "lookaside": {format!("{host}/shop"): format!("http://127.0.0.1:{port}")}}});
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("trust-policy.json", &policy.to_string()),
    ]);

    // Alice's project, and her pull secret for the registry.
    let alice = dirp.join("alice");
    std::fs::create_dir_all(&alice).unwrap();
    alice_in_project(&c, &alice, "shop");
    let auth = base64::engine::general_purpose::STANDARD.encode("puller:s3cret");
    let config_json = serde_json::json!({"auths": {host.clone(): {"auth": auth}}});
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "registry-pull"}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config_json.to_string())}});
    let secret_file = dirp.join("secret.json");
    std::fs::write(&secret_file, secret.to_string()).unwrap();
    ok(
        oc(&alice, &["create", "-f", secret_file.to_str().unwrap()]),
        "the pull secret",
    );
    let create = |name: &str, image: &str, secret: bool| {
        let mut pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": image, "command": ["/bin/true"]}]}});
        if secret {
            pod["spec"]["imagePullSecrets"] = serde_json::json!([{"name": "registry-pull"}]);
        }
        let path = dirp.join(format!("{name}.json"));
        std::fs::write(&path, pod.to_string()).unwrap();
        oc(
            &alice,
            &["create", "-n", "shop", "-f", path.to_str().unwrap()],
        )
    };

    let created = ok(create("signed", &format!("{repo}:v1"), true), "signed pod");
    assert!(created.contains("pod/signed created"), "{created}");
    let unsigned = failed(
        create("unsigned", &format!("{repo}:unsigned"), true),
        "unsigned pod",
    );
    assert!(
        unsigned.contains(&format!("pods \"unsigned\" is forbidden: image \"{repo}:unsigned\" is not trusted: A signature was required, but no signature exists")),
        "{unsigned}"
    );
    let retagged = failed(
        create("retagged", &format!("{repo}:v2"), true),
        "re-tagged pod",
    );
    assert!(
        retagged.contains(&format!(
            "Signature for identity \"{repo}:v1\" is not accepted"
        )),
        "{retagged}"
    );
    let anonymous = failed(
        create("anonymous", &format!("{repo}:v1"), false),
        "pod without credentials",
    );
    assert!(
        anonymous.contains(&format!("reading manifest v1 in {repo}: unauthorized")),
        "{anonymous}"
    );
    // The service account's pull secret is used as the node would use it.
    wait_until("the account's pull secret", WAIT, || {
        oc(
            &alice,
            &[
                "patch",
                "serviceaccount",
                "default",
                "--type=merge",
                "-p",
                r#"{"imagePullSecrets": [{"name": "registry-pull"}]}"#,
            ],
        )
        .status
        .success()
        .then_some(())
    });
    ok(
        create("by-account", &format!("{repo}:v1"), false),
        "pod with the account's pull secret",
    );

    let unreachable = failed(
        create("unreachable", &format!("{down}/shop/app:v1"), false),
        "pod of a registry that is down",
    );
    assert!(
        unreachable.contains(&format!(
            "is not trusted: pinging container registry {down}"
        )),
        "{unreachable}"
    );
    ok(
        create(
            "accepted",
            &format!("localhost:{down_port}/any/app:v1"),
            false,
        ),
        "pod the policy accepts anyway",
    );
}

#[test]
fn tags_of_a_registry_only_the_additional_trusted_ca_vouches_for_are_resolved() {
    if let Some(why) = signing_unavailable() {
        eprintln!(
            "SKIPPED tags_of_a_registry_only_the_additional_trusted_ca_vouches_for_are_resolved: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dirp = dir.path();
    let passwords = e2e::htpasswd(dirp, "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--htpasswd", passwords.to_str().unwrap()],
    );
    // A registry serving HTTPS with a certificate of a CA of the test's own.
    let (ca, cert, key) = e2e::loopback_certificates(dirp);
    let registry = e2e::real_pods::Registry::start_with_tls(dirp, Some((&cert, &key)));
    let host = format!("127.0.0.1:{}", registry.port);
    let repo = format!("{host}/shop/app");

    // v1 signed in a lookaside store, `unsigned` not.
    let signed = SignedRepository::push(dirp, &repo, RegistryAuth::Anonymous);
    let port = signed.store_port;
    let signed_by = signed.signed_by();
    let policy = serde_json::json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}],
                 "transports": {"docker": {format!("{host}/shop"): signed_by}},
                 "lookaside": {format!("{host}/shop"): format!("http://127.0.0.1:{port}")}}});
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("trust-policy.json", &policy.to_string()),
    ]);
    let alice = dirp.join("alice");
    std::fs::create_dir_all(&alice).unwrap();
    alice_in_project(&c, &alice, "shop");

    // Without the CA the registry's certificate is refused, so the tag cannot be resolved.
    let untrusted = failed(
        create_pod(&alice, dirp, "untrusted", &format!("{repo}:v1")),
        "pod of a registry whose CA is unknown",
    );
    assert!(
        untrusted.contains(&format!(
            "is not trusted: pinging container registry {host}"
        )),
        "{untrusted}"
    );

    // The administrator trusts the registry's CA for that host and port.
    let bundle = std::fs::read_to_string(&ca).unwrap();
    let cas = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "registry-cas", "namespace": "openshift-config"},
        "data": {format!("127.0.0.1..{}", registry.port): bundle}});
    c.kubectl_ok(&["apply", "-f", &c.file("cas.json", &cas.to_string())]);
    let image_config = serde_json::json!({"apiVersion": "config.openshift.io/v1", "kind": "Image",
        "metadata": {"name": "cluster"},
        "spec": {"additionalTrustedCA": {"name": "registry-cas"}}});
    c.kubectl_ok(&[
        "apply",
        "-f",
        &c.file("image-config.json", &image_config.to_string()),
    ]);

    // Now the tags are read over verified TLS: the signed one is admitted, the unsigned one
    // is refused for its missing signature, not for the connection.
    let created = ok(
        create_pod(&alice, dirp, "signed", &format!("{repo}:v1")),
        "pod of the signed tag",
    );
    assert!(created.contains("pod/signed created"), "{created}");
    let unsigned = failed(
        create_pod(&alice, dirp, "unsigned", &format!("{repo}:unsigned")),
        "pod of the unsigned tag",
    );
    assert!(
        unsigned.contains(&format!("image \"{repo}:unsigned\" is not trusted: A signature was required, but no signature exists")),
        "{unsigned}"
    );
}
