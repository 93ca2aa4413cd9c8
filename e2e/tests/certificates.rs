//! certificates.k8s.io/v1 as a cluster's users meet it: a key and request made with openssl,
//! the request created by alice with kubectl (a role lets her request and write approvals,
//! but approve for no signer), her approval refused by the CertificateApproval admission,
//! the admin's `oc adm certificate approve`, the controller's signature, and kubectl
//! authenticated by the certificate as the request's subject; a denial, and bad requests
//! answered with upstream's messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use e2e::oc::{alice_in_project, cluster_with_alice, oc, same_as_kubectl};
use e2e::{Cluster, wait_until};

const WAIT: Duration = Duration::from_secs(90);

/// A P-256 key and a request for CN=`cn`, O=each of `orgs`, made by openssl in `dir`.
fn openssl_request(dir: &Path, name: &str, subject: &str) -> Vec<u8> {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", subject, "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(csr).unwrap()
}

fn manifest(name: &str, request: &[u8], signer: &str, extra: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(request);
    format!(
        "apiVersion: certificates.k8s.io/v1\nkind: CertificateSigningRequest\nmetadata:\n  name: {name}\nspec:\n  request: {b64}\n  signerName: {signer}\n  usages: [client auth]\n{extra}"
    )
}

/// Runs kubectl with `kubeconfig` on `stdin`; (success, stdout, stderr).
fn kubectl_in(c: &Cluster, kubeconfig: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = c
        .kubectl_command(&[&["--kubeconfig", kubeconfig][..], args].concat())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// alice may request certificates and write approvals, but approves for no signer.
const REQUESTER_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: csr-requester}
rules:
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests]
  verbs: [create, get, list, watch]
- apiGroups: [certificates.k8s.io]
  resources: [certificatesigningrequests/approval]
  verbs: [update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: csr-requester-alice}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-requester}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
"#;

#[test]
fn a_request_approved_and_signed_authenticates_as_its_subject() {
    let (dir, c, home) = cluster_with_alice();
    let alice = alice_in_project(&c, &home, "alice-certs");
    let admin = c.kubeconfig().display().to_string();
    kubectl_in(&c, &admin, &["apply", "-f", "-"], REQUESTER_ROLE);

    let request = openssl_request(dir.path(), "bob", "/CN=bob/O=dev/O=ops");
    let (ok, out, err) = kubectl_in(
        &c,
        &alice,
        &["create", "-f", "-"],
        &manifest(
            "bob",
            &request,
            "kubernetes.io/kube-apiserver-client",
            "  expirationSeconds: 3600\n",
        ),
    );
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "certificatesigningrequest.certificates.k8s.io/bob created"
    );
    // The requester is who created it, whatever the body said.
    let requestor = c.kubectl_ok(&["get", "csr", "bob", "-o", "jsonpath={.spec.username}"]);
    assert_eq!(requestor, "alice");

    // alice may write approvals, but not for this signer.
    let refused = oc(&home, &["adm", "certificate", "approve", "bob"]);
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "Error from server (Forbidden): certificatesigningrequests.certificates.k8s.io \"bob\" is forbidden: user not permitted to approve requests with signerName \"kubernetes.io/kube-apiserver-client\""
    );
    let pending = c.kubectl_ok(&["get", "csr", "bob"]);
    let lines: Vec<&str> = pending.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "AGE",
            "SIGNERNAME",
            "REQUESTOR",
            "REQUESTEDDURATION",
            "CONDITION"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row[0], "bob");
    assert_eq!(
        row[2..],
        [
            "kubernetes.io/kube-apiserver-client",
            "alice",
            "60m",
            "Pending"
        ]
    );

    // The admin approves with oc; the controller signs.
    let approved = oc(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "certificate",
            "approve",
            "bob",
        ],
    );
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&approved.stdout),
        "certificatesigningrequest.certificates.k8s.io/bob approved\n"
    );
    let certificate = wait_until("the certificate", WAIT, || {
        let cert = c.kubectl_ok(&["get", "csr", "bob", "-o", "jsonpath={.status.certificate}"]);
        (!cert.is_empty()).then_some(cert)
    });
    let condition = c.kubectl_ok(&["get", "csr", "bob", "--no-headers"]);
    assert!(
        condition.trim_end().ends_with("Approved,Issued"),
        "{condition}"
    );
    let reason = c.kubectl_ok(&[
        "get",
        "csr",
        "bob",
        "-o",
        "jsonpath={.status.conditions[0].reason}",
    ]);
    assert_eq!(reason, "KubectlApprove");
    // oc describes the request as kubectl does: subject and groups read from the request.
    same_as_kubectl(&c, &home, &admin, &["describe", "csr", "bob"]);
    let pem = base64::engine::general_purpose::STANDARD
        .decode(certificate.trim())
        .unwrap();
    let cert_file = dir.path().join("bob.crt");
    std::fs::write(&cert_file, &pem).unwrap();

    // kubectl with the certificate is bob, in the request's groups.
    let whoami = c
        .kubectl_command(&[
            "--kubeconfig",
            "/dev/null",
            "--server",
            &c.server(),
            "--certificate-authority",
            c.data_dir().join("pki/ca.crt").to_str().unwrap(),
            "--client-certificate",
            cert_file.to_str().unwrap(),
            "--client-key",
            dir.path().join("bob.key").to_str().unwrap(),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username} {.status.userInfo.groups}",
        ])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert!(
        whoami.status.success(),
        "{}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout),
        r#"bob ["dev","ops","system:authenticated"]"#
    );

    // A second approval is a no-op that still reports; a denial of it is refused.
    let again = oc(
        &home,
        &["--kubeconfig", &admin, "adm", "certificate", "deny", "bob"],
    );
    assert!(!again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stderr).trim(),
        "error: certificate signing request \"bob\" is already Approved"
    );
}

#[test]
fn denials_and_bad_requests_as_upstream() {
    let (dir, c, home) = cluster_with_alice();
    let admin = c.kubeconfig().display().to_string();
    let request = openssl_request(dir.path(), "carol", "/CN=carol");
    let create = |name: &str, request: &[u8], signer: &str, extra: &str| {
        kubectl_in(
            &c,
            &admin,
            &["create", "-f", "-"],
            &manifest(name, request, signer, extra),
        )
    };
    assert!(create("carol", &request, "kubernetes.io/kube-apiserver-client", "").0);
    let denied = oc(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "certificate",
            "deny",
            "carol",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&denied.stdout),
        "certificatesigningrequest.certificates.k8s.io/carol denied\n"
    );
    let row = c.kubectl_ok(&["get", "csr", "carol", "--no-headers"]);
    assert!(row.trim_end().ends_with(" Denied"), "{row}");
    let approve = oc(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "certificate",
            "approve",
            "carol",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&approve.stderr).trim(),
        "error: certificate signing request \"carol\" is already Denied"
    );
    // Nothing is signed for a denied request.
    std::thread::sleep(Duration::from_secs(2));
    let cert = c.kubectl_ok(&[
        "get",
        "csr",
        "carol",
        "-o",
        "jsonpath={.status.certificate}",
    ]);
    assert_eq!(cert, "");

    let (ok, _, err) = create("garbage", b"ga", "kubernetes.io/kube-apiserver-client", "");
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "The CertificateSigningRequest \"garbage\" is invalid: spec.request: Invalid value: []byte{0x67, 0x61}: PEM block type must be CERTIFICATE REQUEST"
    );
    let (ok, _, err) = create(
        "short",
        &request,
        "kubernetes.io/kube-apiserver-client",
        "  expirationSeconds: 100\n",
    );
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "The CertificateSigningRequest \"short\" is invalid: spec.expirationSeconds: Invalid value: 100: may not specify a duration less than 600 seconds (10 minutes)"
    );
    let (ok, _, err) = create("nosigner", &request, "mysigner", "");
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "The CertificateSigningRequest \"nosigner\" is invalid: spec.signerName: Invalid value: \"mysigner\": must be a fully qualified domain and path of the form 'example.com/signer-name'"
    );
    let (ok, _, err) = create("legacy", &request, "kubernetes.io/legacy-unknown", "");
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "The CertificateSigningRequest \"legacy\" is invalid: spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version"
    );
    let masters = openssl_request(dir.path(), "root", "/CN=root/O=system:masters");
    let (ok, _, err) = create("root", &masters, "kubernetes.io/kube-apiserver-client", "");
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "Error from server (Forbidden): error when creating \"STDIN\": certificatesigningrequests.certificates.k8s.io \"root\" is forbidden: use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
    );
    // A server-auth usage does not fit the client signer: Failed once approved.
    let server = manifest("web", &request, "kubernetes.io/kube-apiserver-client", "").replace(
        "usages: [client auth]",
        "usages: [client auth, server auth]",
    );
    assert!(kubectl_in(&c, &admin, &["create", "-f", "-"], &server).0);
    let approved = oc(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "certificate",
            "approve",
            "web",
        ],
    );
    assert!(approved.status.success());
    let message = wait_until("the Failed condition", WAIT, || {
        let m = c.kubectl_ok(&[
            "get",
            "csr",
            "web",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"Failed\")].message}",
        ]);
        (!m.is_empty()).then_some(m)
    });
    assert_eq!(message, "invalid usage for client certificate: server auth");
}
