//! Reencrypt routes without a `destinationCACertificate`, as a project admin meets them: the
//! router verifies the backend against the service CA's bundle and for the service's name
//! `<service>.<namespace>.svc`, as upstream's router with its default destination CA. A
//! backend serving the certificate the service CA made for its Service answers (200); one
//! with a self-signed certificate, or with a service CA certificate made for another
//! Service, gets the 503 page. Backends are `openssl s_server` on loopback behind Services
//! whose EndpointSlices name them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use e2e::http_backend::curl;
use e2e::tls_backend::{SServer, openssl};
use e2e::{Backend, Cluster, free_port, wait_until};

const WAIT: Duration = Duration::from_secs(90);
const NS: &str = "svcca";

/// A Service (port `https`) and its EndpointSlice naming 127.0.0.1:`port`; `secret`, if
/// any, asks the service CA for a serving certificate.
fn service(c: &Cluster, name: &str, port: u16, secret: Option<&str>) {
    let annotations = match secret {
        Some(s) => format!(
            r#""annotations":{{"service.beta.openshift.io/serving-cert-secret-name":"{s}"}},"#
        ),
        None => String::new(),
    };
    let objects = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[
        {{"apiVersion":"v1","kind":"Service","metadata":{{{annotations}"name":"{name}","namespace":"{NS}"}},
          "spec":{{"ports":[{{"name":"https","port":8443,"protocol":"TCP"}}]}}}},
        {{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
          "metadata":{{"name":"{name}-1","namespace":"{NS}","labels":{{"kubernetes.io/service-name":"{name}"}}}},
          "addressType":"IPv4","endpoints":[{{"addresses":["127.0.0.1"],"conditions":{{"ready":true}}}}],
          "ports":[{{"name":"https","port":{port},"protocol":"TCP"}}]}}]}}"#
    );
    c.kubectl_ok(&["create", "-f", &c.file(&format!("{name}.json"), &objects)]);
}

#[test]
fn reencrypt_routes_without_a_destination_ca_trust_the_service_ca_for_the_service_name() {
    let (http, https) = (free_port(), free_port());
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--router=true",
            "--router-http",
            &format!("127.0.0.1:{http}"),
            "--router-https",
            &format!("127.0.0.1:{https}"),
        ],
    );
    c.kubectl_ok(&["create", "namespace", NS]);
    let (signed, misnamed, self_signed) = (free_port(), free_port(), free_port());
    service(&c, "secure", signed, Some("secure-tls"));
    service(&c, "misnamed", misnamed, None);
    service(&c, "selfsigned", self_signed, None);

    // The serving certificate the service CA made for `secure`, as its backend serves it.
    let dir = c.scratch("tls");
    std::fs::create_dir_all(&dir).unwrap();
    for (key, file) in [("tls.crt", "secure.crt"), ("tls.key", "secure.key")] {
        let b64 = wait_until("the serving-cert secret", WAIT, || {
            let out = c.kubectl(&[
                "get",
                "-n",
                NS,
                "secret",
                "secure-tls",
                "-o",
                &format!("jsonpath={{.data.{}}}", key.replace('.', "\\.")),
            ]);
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (out.status.success() && !text.is_empty()).then_some(text)
        });
        let pem = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        std::fs::write(dir.join(file), pem).unwrap();
    }
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=selfsigned.svcca.svc",
            "-addext",
            "subjectAltName=DNS:selfsigned.svcca.svc",
            "-keyout",
            "selfsigned.key",
            "-out",
            "selfsigned.crt",
        ],
    );
    let _signed = SServer::start(&dir, signed, "secure.crt", "secure.key");
    // The service CA's certificate for `secure`, served behind another Service.
    let _misnamed = SServer::start(&dir, misnamed, "secure.crt", "secure.key");
    let _self_signed = SServer::start(&dir, self_signed, "selfsigned.crt", "selfsigned.key");

    let alice = c.user_with_role("alice", &[], "admin", NS);
    for name in ["secure", "misnamed", "selfsigned"] {
        let out = Command::new(e2e::oc_binary())
            .arg("--kubeconfig")
            .arg(&alice)
            .args(["-n", NS, "create", "route", "reencrypt", name])
            .arg(format!("--service={name}"))
            .arg(format!("--hostname={name}.apps.oxshift.local"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let through = |name: &str| {
        let host = format!("{name}.apps.oxshift.local");
        curl(&[
            "-k",
            "--resolve",
            &format!("{host}:{https}:127.0.0.1"),
            &format!("https://{host}:{https}/"),
        ])
    };
    let (code, body) = wait_until("the reencrypt route served", WAIT, || {
        let answer = through("secure");
        (answer.0 == "200").then_some(answer)
    });
    assert_eq!(code, "200");
    assert!(body.contains("s_server"), "{body}");
    // The others are admitted and served, but their backends fail verification.
    for name in ["misnamed", "selfsigned"] {
        c.wait_for(
            &["-n", NS, "route", name],
            "{.status.ingress[0].conditions[0].status}",
            "True",
            WAIT,
        );
    }
    for name in ["selfsigned", "secure", "misnamed", "secure", "selfsigned"] {
        let (code, _) = through(name);
        let wanted = if name == "secure" { "200" } else { "503" };
        assert_eq!(code, wanted, "through the route {name}");
    }
}
