//! Routes served by the all-in-one's router to real pods, as a project admin drives them: a
//! service exposed (the generated host admitted in the route's status, the page served for
//! that Host), two services weighted 3:1, an edge route with its own certificate answering
//! over TLS for its server name and redirecting plain HTTP, a passthrough route spliced to a
//! pod by the ClientHello's server name, and a host another namespace cannot take.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use e2e::free_port;
use e2e::http_backend::curl;
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::wait_until;

const WAIT: Duration = Duration::from_secs(120);

/// A pod serving a page saying `text` on 8080.
fn serve(text: &str) -> String {
    format!(
        "/bin/busybox mkdir -p /srv && echo {text} > /srv/index.html && exec /bin/busybox httpd -f -p 8080 -h /srv"
    )
}

/// A ClientHello for `name`, as bytes a TLS client sends first.
fn client_hello(name: &str) -> Vec<u8> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let server = rustls::pki_types::ServerName::try_from(name.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

#[test]
fn routes_reach_real_pods_through_the_router() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED routes_reach_real_pods_through_the_router: {why}");
        return;
    }
    let (http, https) = (free_port(), free_port());
    let (http_at, https_at) = (format!("127.0.0.1:{http}"), format!("127.0.0.1:{https}"));
    let worker = PodmanCluster::start_with(
        "worker",
        "10.128.124.0/23",
        &["1"],
        &[
            "--router=true",
            "--router-http",
            &http_at,
            "--router-https",
            &https_at,
        ],
    );
    let c = &worker.cluster;
    let image = &worker.images[0];

    c.kubectl_ok(&["create", "namespace", "shop"]);
    c.kubectl_ok(&["create", "namespace", "other"]);
    let alice = c.user_with_role("alice", &[], "admin", "shop");
    let bob = c.user_with_role("bob", &[], "admin", "other");
    let oc = |kubeconfig: &std::path::Path, ns: &str, args: &[&str]| {
        let out = Command::new(e2e::oc_binary())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["-n", ns])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "oc {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let kubectl = |kubeconfig: &std::path::Path, ns: &str, args: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap(), "-n", ns];
        all.extend_from_slice(args);
        c.kubectl_ok(&all)
    };

    // Two deployments of real pods, each with a page of its own; the first exposed as a
    // service and then as a route.
    for (name, page, port) in [
        ("web", "served-by-web", "8080"),
        ("two", "served-by-two", "8080"),
    ] {
        // The page goes to scratch space the project's UID may write (restricted-v2).
        let generated = kubectl(
            &alice,
            "shop",
            &[
                "create",
                "deployment",
                name,
                &format!("--image={image}"),
                &format!("--port={port}"),
                "--dry-run=client",
                "-o",
                "json",
                "--",
                "/bin/busybox",
                "sh",
                "-c",
                &serve(page),
            ],
        );
        let mut deployment: serde_json::Value = serde_json::from_str(&generated).unwrap();
        let spec = &mut deployment["spec"]["template"]["spec"];
        spec["volumes"] = serde_json::json!([{"name": "srv", "emptyDir": {}}]);
        spec["containers"][0]["volumeMounts"] =
            serde_json::json!([{"name": "srv", "mountPath": "/srv"}]);
        let file = c.file(&format!("{name}.json"), &deployment.to_string());
        kubectl(&alice, "shop", &["create", "-f", &file]);
        oc(
            &alice,
            "shop",
            &["expose", "deployment", name, "--port=8080"],
        );
    }
    let exposed = oc(&alice, "shop", &["expose", "svc/web"]);
    assert_eq!(exposed.trim(), "route.route.openshift.io/web exposed");
    let host = "web-shop.apps.oxshift.local";
    c.wait_for(
        &["-n", "shop", "route", "web"],
        r#"{.spec.host} {.metadata.annotations.openshift\.io/host\.generated} {.status.ingress[0].routerName} {.status.ingress[0].conditions[0].status}"#,
        &format!("{host} true default True"),
        WAIT,
    );
    let table = oc(&alice, "shop", &["get", "route", "web"]);
    assert!(
        table.starts_with("NAME   HOST/PORT") && table.contains(&format!("web    {host}")),
        "{table}"
    );

    // Plain HTTP with the route's host reaches the pod; an unknown host gets the 503 page.
    let page = wait_until("the page through the router", WAIT, || {
        let (code, body) = curl(&[
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/"),
        ]);
        (code == "200").then_some(body)
    });
    assert_eq!(page.trim(), "served-by-web");
    let (code, body) = curl(&[
        "-H",
        "Host: nobody.apps.oxshift.local",
        &format!("http://{http_at}/"),
    ]);
    assert_eq!(code, "503");
    assert!(body.contains("Application is not available"), "{body}");

    // Two services weighted 3:1 share the requests 3:1.
    let set = oc(
        &alice,
        "shop",
        &["set", "route-backends", "web", "web=3", "two=1"],
    );
    assert_eq!(set.trim(), "route.route.openshift.io/web backends updated");
    let shown = oc(&alice, "shop", &["get", "route", "web"]);
    assert!(shown.contains("web(75%),two(25%)"), "{shown}");
    wait_until("the second service served", WAIT, || {
        let (_, body) = curl(&[
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/"),
        ]);
        (body.trim() == "served-by-two").then_some(())
    });
    let mut web = 0;
    for _ in 0..200 {
        let (code, body) = curl(&[
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/"),
        ]);
        assert_eq!(code, "200", "{body}");
        if body.trim() == "served-by-web" {
            web += 1;
        }
    }
    assert!(
        (130..=170).contains(&web),
        "3:1 of 200 requests, web got {web}"
    );

    // An edge route with its own certificate: TLS for its name, plain HTTP redirected.
    let secure = "secure-shop.apps.oxshift.local";
    let dir = c.scratch("certs");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg(format!("/CN={secure}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{secure}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let created = oc(
        &alice,
        "shop",
        &[
            "create",
            "route",
            "edge",
            "secure",
            "--service=web",
            &format!("--hostname={secure}"),
            &format!("--cert={}", cert.display()),
            &format!("--key={}", key.display()),
            "--insecure-policy=Redirect",
        ],
    );
    assert_eq!(created.trim(), "route.route.openshift.io/secure created");
    let resolve = format!("{secure}:{https}:127.0.0.1");
    let page = wait_until("the edge route over TLS", WAIT, || {
        let (code, body) = curl(&[
            "--cacert",
            cert.to_str().unwrap(),
            "--resolve",
            &resolve,
            &format!("https://{secure}:{https}/"),
        ]);
        (code == "200").then_some(body)
    });
    assert!(page.contains("served-by"), "{page}");
    let (code, _) = curl(&[
        "-D",
        "-",
        "-H",
        &format!("Host: {secure}"),
        &format!("http://{http_at}/a?b=c"),
    ]);
    assert_eq!(code, "302");
    let (_, head) = curl(&[
        "-D",
        "-",
        "-H",
        &format!("Host: {secure}"),
        &format!("http://{http_at}/a?b=c"),
    ]);
    assert!(
        head.to_lowercase()
            .contains(&format!("location: https://{secure}/a?b=c")),
        "{head}"
    );

    // Passthrough: the connection reaches the pod untouched (it echoes what it gets, so the
    // ClientHello comes back byte for byte).
    kubectl(
        &alice,
        "shop",
        &[
            "create",
            "deployment",
            "echo",
            &format!("--image={image}"),
            "--port=8443",
            "--",
            "/bin/busybox",
            "nc",
            "-ll",
            "-p",
            "8443",
            "-e",
            "/bin/busybox",
            "cat",
        ],
    );
    oc(
        &alice,
        "shop",
        &["expose", "deployment", "echo", "--port=8443"],
    );
    let pass = "pass-shop.apps.oxshift.local";
    oc(
        &alice,
        "shop",
        &[
            "create",
            "route",
            "passthrough",
            "pass",
            "--service=echo",
            &format!("--hostname={pass}"),
        ],
    );
    let hello = client_hello(pass);
    wait_until("the passthrough route spliced to its pod", WAIT, || {
        let mut stream = TcpStream::connect(&https_at).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(&hello).ok()?;
        let mut back = vec![0; hello.len()];
        stream.read_exact(&mut back).ok()?;
        (back == hello).then_some(())
    });

    // Without `routes/custom-host`, a host cannot be chosen (a generated one is given).
    c.kubectl_ok(&[
        "create",
        "clusterrole",
        "route-maker",
        "--verb=create,get",
        "--resource=routes.route.openshift.io",
    ]);
    let carol = c.user_with_role("carol", &[], "route-maker", "shop");
    let chosen = r#"{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"chosen"},
        "spec":{"host":"chosen.example.com","to":{"kind":"Service","name":"web"}}}"#;
    let refused = c.kubectl(&[
        "--kubeconfig",
        carol.to_str().unwrap(),
        "-n",
        "shop",
        "create",
        "-f",
        &c.file("chosen.json", chosen),
    ]);
    let refusal = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refusal.contains("\"chosen\" is invalid: spec.host: Forbidden: you do not have permission to set the host field of the route"),
        "{refusal}"
    );
    let generated = r#"{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"given"},
        "spec":{"to":{"kind":"Service","name":"web"}}}"#;
    kubectl(
        &carol,
        "shop",
        &["create", "-f", &c.file("given.json", generated)],
    );
    let given = kubectl(
        &carol,
        "shop",
        &["get", "route", "given", "-o", "jsonpath={.spec.host}"],
    );
    assert_eq!(given, "given-shop.apps.oxshift.local");

    // Another namespace cannot take the host: its route is refused, and the page stays.
    let bobs = r#"{"apiVersion":"route.openshift.io/v1","kind":"Route","metadata":{"name":"thief"},
        "spec":{"host":"web-shop.apps.oxshift.local","to":{"kind":"Service","name":"web"}}}"#;
    let file = c.file("thief.json", bobs);
    kubectl(&bob, "other", &["create", "-f", &file]);
    c.wait_for(
        &["-n", "other", "route", "thief"],
        "{.status.ingress[0].conditions[0].reason}",
        "HostAlreadyClaimed",
        WAIT,
    );
    let message = c.kubectl_ok(&[
        "-n",
        "other",
        "get",
        "route",
        "thief",
        "-o",
        "jsonpath={.status.ingress[0].conditions[0].message}",
    ]);
    assert_eq!(
        message,
        "a route in another namespace holds web-shop.apps.oxshift.local and is older than thief"
    );
    let listed = oc(&bob, "other", &["get", "routes"]);
    assert!(listed.contains("thief   HostAlreadyClaimed"), "{listed}");
    for _ in 0..20 {
        let (code, body) = curl(&[
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/"),
        ]);
        assert_eq!(code, "200");
        assert!(body.contains("served-by"), "{body}");
    }
}
