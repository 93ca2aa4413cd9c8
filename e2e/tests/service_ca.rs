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
