//! Deploy-by-digest attestations with real tools: an image pushed by skopeo into the
//! integrated registry, an attestor of a GPG key the test generates (made with `oc adm
//! image-attestation create-attestor`), and a project admin who holds the image-attestor role
//! signing the image's digest with `oc adm image-attestation sign-and-create`. In the
//! attestation-required project a tag is refused naming the digest it points to, an unattested
//! digest is refused naming the attestor, the attested digest is admitted, and the break-glass
//! annotation admits with an audit event; an attestation whose payload is signed inline (GKE's
//! PGP attestations), created just before the pod, admits it; a project under the default
//! `ALWAYS_ALLOW` rule leaves no decision in the audit log; in a project whose attestor's key is kept in a
//! ConfigMap that does not exist the pod is admitted (fail open) and in a dry-run project the
//! violation is admitted; the audit log and /metrics record each decision.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::image_signing::{gpg_key, oci_layout, signing_unavailable};
use e2e::oc::{oc, oc_with};
use e2e::output::{failed, ok};
use e2e::{Backend, Cluster};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// `oc create` of a pod in `project` as alice.
fn pod(
    home: &Path,
    dir: &Path,
    project: &str,
    name: &str,
    image: &str,
    annotations: Value,
) -> Output {
    let path = dir.join(format!("{project}-{name}.json"));
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": [{"name": "c", "image": image, "command": ["/bin/true"]}]}});
    std::fs::write(&path, pod.to_string()).unwrap();
    oc(
        home,
        &["create", "-n", project, "-f", path.to_str().unwrap()],
    )
}

/// The annotations of the audit event of the creation of the pod `name`, once one carries a
/// decision.
fn audited(log: &Path, name: &str) -> Value {
    completed(log, name, true)
}

/// The annotations of the audit event of the creation of the pod `name` (in any project),
/// once one is written (and carries a decision, when `decided`).
fn completed(log: &Path, name: &str, decided: bool) -> Value {
    let start = Instant::now();
    loop {
        let events = std::fs::read_to_string(log).unwrap_or_default();
        let found = events
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|e| {
                e["verb"] == "create"
                    && e["objectRef"]["resource"] == "pods"
                    && e["objectRef"]["name"] == name
                    && e["stage"] == "ResponseComplete"
                    && (!decided || e["annotations"]["imagepolicy.oxshift.io/decision"].is_string())
            });
        if let Some(e) = found {
            return e["annotations"].clone();
        }
        assert!(start.elapsed() < WAIT, "no audit event of pod {name}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn attestation_required_projects_admit_only_attested_digests() {
    if let Some(why) = signing_unavailable() {
        eprintln!("SKIPPED attestation_required_projects_admit_only_attested_digests: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dirp = dir.path();
    let passwords = e2e::htpasswd(dirp, "htpasswd", "alice", "pw");
    let audit_log = dirp.join("audit.log");
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--registry=true",
            "--htpasswd",
            passwords.to_str().unwrap(),
            "--audit-log",
            audit_log.to_str().unwrap(),
        ],
    );
    let registry = c.kubectl_ok(&[
        "get",
        "images.config.openshift.io",
        "cluster",
        "-o",
        "jsonpath={.status.internalRegistryHostname}",
    ]);
    let alice = dirp.join("alice");
    std::fs::create_dir_all(&alice).unwrap();
    let ca = c.data_dir().join("pki/ca.crt");
    ok(
        oc(
            &alice,
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
    for project in ["open", "dry", "shop", "free"] {
        ok(oc(&alice, &["new-project", project]), "oc new-project");
    }
    let token = ok(oc(&alice, &["whoami", "-t"]), "oc whoami -t");

    // Two images pushed into shop/app: the one to attest (v1) and another one.
    let authfile = alice.join("auth.json");
    let auth = authfile.to_str().unwrap();
    let skopeo = |args: &[&str]| Command::new("skopeo").args(args).output().unwrap();
    ok(
        skopeo(&[
            "login",
            "--authfile",
            auth,
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            &token,
            &registry,
        ]),
        "skopeo login",
    );
    let repo = format!("{registry}/shop/app");
    let mut digests = Vec::new();
    for tag in ["v1", "other"] {
        let layout = oci_layout(&dirp.join(tag), tag);
        let digest_file = dirp.join(format!("{tag}.digest"));
        ok(
            skopeo(&[
                "--insecure-policy",
                "copy",
                "--authfile",
                auth,
                "--dest-tls-verify=false",
                "--digestfile",
                digest_file.to_str().unwrap(),
                &layout,
                &format!("docker://{repo}:{tag}"),
            ]),
            "skopeo copy",
        );
        digests.push(
            std::fs::read_to_string(&digest_file)
                .unwrap()
                .trim()
                .to_string(),
        );
        e2e::wait_until("the push is recorded", WAIT, || {
            c.kubectl(&[
                "get",
                "imagestreamtags.image.openshift.io",
                &format!("app:{tag}"),
                "-n",
                "shop",
            ])
            .status
            .success()
            .then_some(())
        });
    }
    let (attested, other) = (
        format!("{repo}@{}", digests[0]),
        format!("{repo}@{}", digests[1]),
    );

    // The cluster admin: attestors, the policy, and the attestor role for alice.
    let admin = dirp.join("admin");
    std::fs::create_dir_all(admin.join(".kube")).unwrap();
    std::fs::copy(c.kubeconfig(), admin.join(".kube/config")).unwrap();
    let gnupg = dirp.join("gnupg");
    let fingerprint = gpg_key(&gnupg);
    let exported = Command::new("gpg")
        .env("GNUPGHOME", &gnupg)
        .args(["--batch", "--armor", "--export", &fingerprint])
        .output()
        .unwrap();
    let public_key = dirp.join("attestor.asc");
    std::fs::write(&public_key, &exported.stdout).unwrap();
    let created = ok(
        oc(
            &admin,
            &[
                "adm",
                "image-attestation",
                "create-attestor",
                "built-by-ci",
                "--pgp-public-key-file",
                public_key.to_str().unwrap(),
            ],
        ),
        "create-attestor",
    );
    assert!(
        created.contains("attestor.binaryauthorization.oxshift.io/built-by-ci created"),
        "{created}"
    );
    assert!(
        created.contains(&format!("public key id: {fingerprint}")),
        "{created}"
    );
    let kept = c.file("kept.json", &json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestor",
        "metadata": {"name": "kept"}, "spec": {"publicKeys": [{"id": "ci", "keyRef": {
            "kind": "ConfigMap", "name": "attestor-keys", "key": "ci.pem", "signatureAlgorithm": "ECDSA_P256_SHA256"}}]}}).to_string());
    c.kubectl_ok(&["create", "-f", &kept]);
    let rule = |attestor: &str, mode: &str| {
        json!({"evaluationMode": "REQUIRE_ATTESTATION",
        "requireAttestationsBy": [attestor], "enforcementMode": mode})
    };
    let policy = c.file("policy.json", &json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Policy",
        "metadata": {"name": "cluster"}, "spec": {
            "defaultAdmissionRule": {"evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
            "kubernetesNamespaceAdmissionRules": {
                "shop": rule("built-by-ci", "ENFORCED_BLOCK_AND_AUDIT_LOG"),
                "open": rule("kept", "ENFORCED_BLOCK_AND_AUDIT_LOG"),
                "dry": rule("built-by-ci", "DRYRUN_AUDIT_LOG_ONLY")}}}).to_string());
    c.kubectl_ok(&["create", "-f", &policy]);
    // A project admin may not write attestations until granted the attestor role.
    let refused = failed(
        oc(
            &alice,
            &[
                "adm",
                "image-attestation",
                "create",
                "-n",
                "shop",
                "--artifact-url",
                &attested,
                "--attestor",
                "built-by-ci",
                "--public-key-id",
                "x",
                "--signature-file",
                public_key.to_str().unwrap(),
            ],
        ),
        "attestation without the role",
    );
    assert!(refused.contains("forbidden"), "{refused}");
    for project in ["shop", "open"] {
        c.kubectl_ok(&[
            "create",
            "rolebinding",
            "attestor",
            "--clusterrole",
            "system:oxshift:image-attestor",
            "--user",
            "alice",
            "-n",
            project,
        ]);
    }

    e2e::wait_until("alice may write attestations", WAIT, || {
        ["shop", "open"]
            .iter()
            .all(|p| {
                oc(
                    &alice,
                    &[
                        "auth",
                        "can-i",
                        "create",
                        "attestations.binaryauthorization.oxshift.io",
                        "-n",
                        p,
                    ],
                )
                .status
                .success()
            })
            .then_some(())
    });

    // Alice signs the digest with her gpg keyring's key.
    let home = gnupg.to_str().unwrap();
    let signed = ok(
        oc_with(
            &alice,
            &[
                "adm",
                "image-attestation",
                "sign-and-create",
                "-n",
                "shop",
                "--artifact-url",
                &attested,
                "--attestor",
                "built-by-ci",
                "--pgp-key",
                &fingerprint,
            ],
            &[("GNUPGHOME", home)],
        ),
        "sign-and-create",
    );
    assert!(
        signed.contains("attestation.binaryauthorization.oxshift.io/built-by-ci-"),
        "{signed}"
    );

    let tagged = failed(
        pod(
            &alice,
            dirp,
            "shop",
            "tagged",
            &format!("{repo}:v1"),
            json!({}),
        ),
        "pod by tag",
    );
    assert!(tagged.contains("pods \"tagged\" is forbidden"), "{tagged}");
    assert!(tagged.contains("must be referenced by digest"), "{tagged}");
    assert!(
        tagged.contains(&format!("the tag \"v1\" points to {attested} now")),
        "{tagged}"
    );
    let unattested = failed(
        pod(&alice, dirp, "shop", "unattested", &other, json!({})),
        "unattested pod",
    );
    assert!(unattested.contains("no attestations found that were valid and signed by a key trusted by the attestor(s) built-by-ci"), "{unattested}");
    ok(
        pod(&alice, dirp, "shop", "attested", &attested, json!({})),
        "attested pod",
    );
    let glass = json!({"alpha.image-policy.k8s.io/break-glass": "true"});
    ok(
        pod(&alice, dirp, "shop", "glass", &other, glass),
        "break-glass pod",
    );
    let annotations = audited(&audit_log, "glass");
    assert_eq!(
        annotations["imagepolicy.oxshift.io/decision"], "break-glass",
        "{annotations}"
    );
    assert_eq!(
        annotations["imagepolicy.oxshift.io/rule"],
        "kubernetesNamespaceAdmissionRules[shop]"
    );
    assert!(
        annotations["imagepolicy.oxshift.io/reason"]
            .as_str()
            .unwrap()
            .contains("no attestations found"),
        "{annotations}"
    );
    assert_eq!(
        audited(&audit_log, "unattested")["imagepolicy.oxshift.io/decision"],
        "deny"
    );

    // As GKE's PGP attestations: the payload signed inline (`gpg --armor --sign`), the
    // attestation created just before the pod that needs it.
    let payload = ok(
        oc(
            &alice,
            &[
                "adm",
                "image-attestation",
                "create-signature-payload",
                "--artifact-url",
                &other,
            ],
        ),
        "create-signature-payload",
    );
    let payload_file = dirp.join("payload.json");
    std::fs::write(&payload_file, format!("{payload}\n")).unwrap();
    let inline = dirp.join("payload.json.asc");
    e2e::image_signing::gpg(
        &gnupg,
        &[
            "--local-user",
            &fingerprint,
            "--armor",
            "--output",
            inline.to_str().unwrap(),
            "--sign",
            payload_file.to_str().unwrap(),
        ],
    );
    let created = ok(
        oc(
            &alice,
            &[
                "adm",
                "image-attestation",
                "create",
                "-n",
                "shop",
                "--artifact-url",
                &other,
                "--attestor",
                "built-by-ci",
                "--signature-file",
                inline.to_str().unwrap(),
                "--public-key-id",
                &fingerprint,
            ],
        ),
        "inline PGP attestation",
    );
    assert!(created.ends_with(" created"), "{created}");
    ok(
        pod(&alice, dirp, "shop", "inline", &other, json!({})),
        "pod attested inline",
    );
    assert_eq!(
        audited(&audit_log, "inline")["imagepolicy.oxshift.io/decision"],
        "allow"
    );

    // A project under the default ALWAYS_ALLOW rule: nothing judged, nothing recorded.
    ok(
        pod(&alice, dirp, "free", "free", &other, json!({})),
        "pod under ALWAYS_ALLOW",
    );
    let annotations = completed(&audit_log, "free", false);
    assert!(
        annotations.get("imagepolicy.oxshift.io/decision").is_none(),
        "{annotations}"
    );

    // The key store of `kept` cannot be read: the attested pod is admitted, and audited.
    let ec = dirp.join("ec.pem");
    ok(
        Command::new("openssl")
            .args([
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                ec.to_str().unwrap(),
            ])
            .output()
            .unwrap(),
        "openssl ecparam",
    );
    ok(
        oc(
            &alice,
            &[
                "adm",
                "image-attestation",
                "sign-and-create",
                "-n",
                "open",
                "--artifact-url",
                &attested,
                "--attestor",
                "kept",
                "--private-key-file",
                ec.to_str().unwrap(),
                "--public-key-id",
                "ci",
            ],
        ),
        "PKIX sign-and-create",
    );
    ok(
        pod(&alice, dirp, "open", "unverifiable", &attested, json!({})),
        "fail-open pod",
    );
    let annotations = audited(&audit_log, "unverifiable");
    assert_eq!(
        annotations["imagepolicy.oxshift.io/decision"], "fail-open",
        "{annotations}"
    );
    assert!(
        annotations["imagepolicy.oxshift.io/reason"]
            .as_str()
            .unwrap()
            .contains("ConfigMap openshift-config/attestor-keys not found"),
        "{annotations}"
    );

    // Dry run: admitted, with what would have been refused.
    ok(
        pod(&alice, dirp, "dry", "would-deny", &other, json!({})),
        "dry-run pod",
    );
    let annotations = audited(&audit_log, "would-deny");
    assert_eq!(
        annotations["imagepolicy.oxshift.io/decision"], "dry-run-deny",
        "{annotations}"
    );

    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    for line in [
        "oxshift_binaryauthorization_decisions_total{decision=\"allow\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} ",
        "oxshift_binaryauthorization_decisions_total{decision=\"deny\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 2",
        "oxshift_binaryauthorization_decisions_total{decision=\"break-glass\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 1",
        "oxshift_binaryauthorization_decisions_total{decision=\"fail-open\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 1",
        "oxshift_binaryauthorization_decisions_total{decision=\"dry-run-deny\",mode=\"DRYRUN_AUDIT_LOG_ONLY\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from /metrics");
    }
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &gnupg)
        .args(["--kill", "gpg-agent"])
        .output();
}
