//! The service CA, as a project admin meets it after `oc login`: a Service annotated
//! `service.beta.openshift.io/serving-cert-secret-name` gets a `kubernetes.io/tls` Secret
//! owned by it, whose certificate is for `<svc>.<ns>.svc` and verifies against the bundle
//! injected into a ConfigMap annotated `inject-cabundle`; the Secret is made again when
//! deleted; a second Service naming the same Secret is told why it gets none; a Service
//! made again under the same name gets its Secret made again for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use e2e::oc::{alice_in_project, cluster_with_alice, oc};
use e2e::wait_until;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

/// The object `oc get <kind> <name> -o json` prints, once it exists.
fn get(home: &Path, kind: &str, name: &str) -> Option<Value> {
    let out = oc(home, &["get", kind, name, "-o", "json"]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn annotation(obj: &Value, key: &str) -> Option<String> {
    obj["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_string)
}

fn create(home: &Path, dir: &Path, name: &str, json: &str) {
    let file = dir.join(name);
    std::fs::write(&file, json).unwrap();
    let out = oc(home, &["create", "-f", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn service(name: &str, secret: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}",
        "annotations":{{"service.beta.openshift.io/serving-cert-secret-name":"{secret}"}}}},
        "spec":{{"ports":[{{"name":"https","port":8443,"protocol":"TCP"}}]}}}}"#
    )
}

/// `tls.crt` of the secret, once it exists.
fn serving_cert(home: &Path, secret: &str) -> (Value, String) {
    wait_until("the serving-cert secret", WAIT, || {
        let s = get(home, "secret", secret)?;
        let b64 = s["data"]["tls.crt"].as_str()?;
        let pem = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        Some((s, String::from_utf8(pem).unwrap()))
    })
}

/// Whether openssl verifies `cert` for `host` against `ca`.
fn verifies(dir: &Path, cert: &str, ca: &str, host: &str) -> bool {
    let (cert_file, ca_file) = (dir.join("cert.pem"), dir.join("ca.pem"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&ca_file, ca).unwrap();
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", ca_file.to_str().unwrap()])
        .args(["-verify_hostname", host, cert_file.to_str().unwrap()])
        .output()
        .unwrap();
    out.status.success()
}

#[test]
fn annotated_services_get_serving_certificates_signed_by_the_service_ca() {
    let (dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "shop");
    create(&home, dir.path(), "web.json", &service("web", "web-tls"));
    let bundle = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bundle",
        "annotations":{"service.beta.openshift.io/inject-cabundle":"true"}}}"#;
    create(&home, dir.path(), "bundle.json", bundle);

    let (secret, cert) = serving_cert(&home, "web-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert!(
        secret["data"]["tls.key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["kind"], &owner["name"]),
        (&"Service".into(), &"web".into())
    );
    let ca = wait_until("the injected CA bundle", WAIT, || {
        get(&home, "configmap", "bundle")?["data"]["service-ca.crt"]
            .as_str()
            .map(str::to_string)
    });
    assert!(verifies(dir.path(), &cert, &ca, "web.shop.svc"));
    assert!(verifies(
        dir.path(),
        &cert,
        &ca,
        "web.shop.svc.cluster.local"
    ));
    assert!(!verifies(dir.path(), &cert, &ca, "other.shop.svc"));
    let signed_by = wait_until("the signed-by annotation", WAIT, || {
        annotation(
            &get(&home, "service", "web")?,
            "service.beta.openshift.io/serving-cert-signed-by",
        )
    });
    assert!(
        signed_by.starts_with("openshift-service-serving-signer@"),
        "{signed_by}"
    );

    // Deleted, it is made again, with a new certificate from the same signer.
    let out = oc(&home, &["delete", "secret", "web-tls"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = wait_until("the secret made again", WAIT, || {
        let (_, pem) = serving_cert(&home, "web-tls");
        (pem != cert).then_some(pem)
    });
    assert!(verifies(dir.path(), &again, &ca, "web.shop.svc"));

    // Another service naming the same secret gets none, and is told why.
    create(
        &home,
        dir.path(),
        "thief.json",
        &service("thief", "web-tls"),
    );
    let error = wait_until("the generation error", WAIT, || {
        annotation(
            &get(&home, "service", "thief")?,
            "service.beta.openshift.io/serving-cert-generation-error",
        )
    });
    assert!(
        error.starts_with("secret/web-tls references serviceUID "),
        "{error}"
    );
    let (_, still) = serving_cert(&home, "web-tls");
    assert_eq!(still, again);

    // The service made again (another uid): the secret is made again for it.
    for service in ["thief", "web"] {
        let out = oc(&home, &["delete", "service", service]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    create(
        &home,
        dir.path(),
        "web-again.json",
        &service("web", "web-tls"),
    );
    let uid = wait_until("the new service", WAIT, || {
        get(&home, "service", "web")?["metadata"]["uid"]
            .as_str()
            .map(str::to_string)
    });
    let renewed = wait_until("the secret of the new service", WAIT, || {
        let (secret, pem) = serving_cert(&home, "web-tls");
        let theirs = annotation(&secret, "service.beta.openshift.io/originating-service-uid");
        let owner = secret["metadata"]["ownerReferences"][0]["uid"].as_str() == Some(&uid);
        (theirs.as_deref() == Some(uid.as_str()) && owner).then_some(pem)
    });
    assert_ne!(renewed, again);
    assert!(verifies(dir.path(), &renewed, &ca, "web.shop.svc"));
}

/// The `-subject` or `-issuer` (`which`) of the first certificate of `pem`, as `CN=...`.
fn name_of(dir: &Path, pem: &str, which: &str) -> String {
    let file = dir.join("name.pem");
    std::fs::write(&file, pem).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", which, "-nameopt", "RFC2253", "-in"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    text.split_once('=')
        .map(|(_, name)| name.to_string())
        .unwrap_or(text)
}

/// The certificates of a PEM text, each as PEM.
fn certificates(pem: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    pem.split_inclusive(END)
        .filter_map(|b| b.find("-----BEGIN").map(|i| format!("{}\n", &b[i..])))
        .collect()
}

/// Whether openssl verifies the leaf of `chain` against `roots` only, with the rest of the
/// chain as untrusted intermediates.
fn verifies_through_chain(dir: &Path, chain: &str, roots: &str) -> bool {
    let certs = certificates(chain);
    let (leaf, rest) = (dir.join("leaf.pem"), dir.join("rest.pem"));
    let ca_file = dir.join("roots.pem");
    std::fs::write(&leaf, &certs[0]).unwrap();
    std::fs::write(&rest, certs[1..].concat()).unwrap();
    std::fs::write(&ca_file, roots).unwrap();
    Command::new("openssl")
        .args(["verify", "-CAfile", ca_file.to_str().unwrap()])
        .args(["-untrusted", rest.to_str().unwrap(), leaf.to_str().unwrap()])
        .output()
        .unwrap()
        .status
        .success()
}

/// With short lifetimes (signers of 150 s rotated with 100 s left, serving certificates of
/// 60 s made again with 30 s left): a serving certificate is made again before it expires;
/// the signer rotates, the bundle then holds the new signer and the old one; a certificate
/// of the old signer still verifies against it, and one of the new signer verifies against
/// the bundle and, through the cross-signed certificate in its chain, against the old
/// signer alone.
#[test]
fn serving_certificates_are_renewed_and_the_signer_rotates_with_an_overlap() {
    let c = e2e::Cluster::start_with(
        e2e::Backend::Embedded,
        &[
            "--service-ca-lifetime=150s",
            "--service-ca-minimum-trust=100s",
            "--service-serving-cert-lifetime=60s",
            "--service-serving-cert-minimum-left=30s",
        ],
    );
    let dir = c.scratch("certs");
    std::fs::create_dir_all(&dir).unwrap();
    c.kubectl_ok(&["create", "namespace", "shop"]);
    let web = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop",
        "annotations":{"service.beta.openshift.io/serving-cert-secret-name":"web-tls"}},
        "spec":{"ports":[{"name":"https","port":8443,"protocol":"TCP"}]}}"#;
    c.kubectl_ok(&["create", "-f", &c.file("web.json", web)]);
    let get = |ns: &str, kind: &str, name: &str| -> Option<Value> {
        let out = c.kubectl(&["get", "-n", ns, kind, name, "-o", "json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    };
    let data = |obj: &Value, key: &str| -> Option<String> {
        let b64 = obj["data"][key].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        String::from_utf8(bytes).ok()
    };
    let serving = || -> Option<(String, String)> {
        let secret = get("shop", "secret", "web-tls")?;
        let expiry = annotation(&secret, "service.beta.openshift.io/expiry")?;
        Some((data(&secret, "tls.crt")?, expiry))
    };
    let signer = || -> Option<(String, String)> {
        let secret = get("openshift-service-ca", "secret", "signing-key")?;
        Some((data(&secret, "tls.crt")?, data(&secret, "ca-bundle.crt")?))
    };

    let (first, expiry) = wait_until("the serving certificate", WAIT, serving);
    let (old_signer, _) = wait_until("the signer", WAIT, signer);
    let old_name = name_of(&dir, &old_signer, "-subject");
    // Made again before it expires.
    let (renewed, _) = wait_until("the certificate made again", WAIT, || {
        serving().filter(|(pem, _)| *pem != first)
    });
    let expiry: jiff::Timestamp = expiry.parse().unwrap();
    assert!(jiff::Timestamp::now() < expiry, "renewed after {expiry}");
    let mut of_old_signer =
        (name_of(&dir, &renewed, "-issuer") == old_name).then_some(renewed.clone());

    // The signer rotates; meanwhile the last certificate of the old one is kept.
    let (new_signer, signing_bundle) = wait_until("the rotation", Duration::from_secs(150), || {
        if let Some((pem, _)) = serving()
            && name_of(&dir, &pem, "-issuer") == old_name
        {
            of_old_signer = Some(pem);
        }
        signer().filter(|(pem, _)| *pem != old_signer)
    });
    assert_eq!(
        certificates(&signing_bundle),
        certificates(&format!("{new_signer}{old_signer}"))
    );
    let published = wait_until("the bundle published", WAIT, || {
        let cm = get("openshift-config-managed", "configmap", "service-ca")?;
        let bundle = cm["data"]["ca-bundle.crt"].as_str()?.to_string();
        (certificates(&bundle).len() == 2).then_some(bundle)
    });
    assert_eq!(published, signing_bundle);
    if let Some(old) = &of_old_signer {
        assert!(verifies(&dir, old, &published, "web.shop.svc"));
    }
    let new_name = name_of(&dir, &new_signer, "-subject");
    let (current, _) = wait_until("a certificate of the new signer", WAIT, || {
        serving().filter(|(pem, _)| name_of(&dir, pem, "-issuer") == new_name)
    });
    assert!(verifies(&dir, &current, &published, "web.shop.svc"));
    // The old signer alone verifies it through the cross-signed certificate in its chain.
    assert_eq!(certificates(&current).len(), 2);
    assert!(verifies_through_chain(&dir, &current, &old_signer));
    let without_cross = format!("{}{new_signer}", certificates(&current)[0]);
    assert!(!verifies_through_chain(&dir, &without_cross, &old_signer));
}
