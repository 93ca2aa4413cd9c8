//! Kubernetes Ingresses served through the router, as a project admin makes them with
//! `kubectl create ingress`: the controller makes a Route `<ingress>-<5>` owned by the
//! Ingress, the router serves it, the Ingress's status names the router; a TLS entry's secret
//! makes an edge route with its certificate that redirects plain HTTP; a changed rule
//! changes the route; the routes go with their Ingress.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use e2e::free_port;
use e2e::http_backend::{self, Request, curl};
use e2e::wait_until;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

/// `path=<path>`: which path reached the backend.
fn path(r: &Request) -> String {
    format!("path={}", r.path)
}

#[test]
fn ingresses_become_routes_the_router_serves() {
    let (http, https) = (free_port(), free_port());
    let (http_at, https_at) = (format!("127.0.0.1:{http}"), format!("127.0.0.1:{https}"));
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--router=true",
            "--router-http",
            &http_at,
            "--router-https",
            &https_at,
        ],
    );
    let port = http_backend::serve(path);
    c.kubectl_ok(&["create", "namespace", "web"]);
    http_backend::expose(&c, "web", port);
    let alice = c.user_with_role("alice", &[], "admin", "web");
    let kubectl = |args: &[&str]| c.kubectl_ok_in(alice.to_str().unwrap(), "web", args);

    // A plain Ingress: one route, owned by it, served.
    kubectl(&[
        "create",
        "ingress",
        "shop",
        "--rule=shop.apps.oxshift.local/*=web:8080",
        "--annotation=team=blue",
    ]);
    let route = wait_until("the ingress's route", WAIT, || {
        let names = kubectl(&["get", "routes", "-o", "jsonpath={.items[*].metadata.name}"]);
        (!names.is_empty()).then_some(names)
    });
    assert!(
        route.starts_with("shop-") && route.len() == "shop-".len() + 5,
        "{route}"
    );
    let shown = kubectl(&[
        "get",
        "route",
        &route,
        "-o",
        "jsonpath={.spec.host} {.spec.path} {.spec.to.name} {.spec.port.targetPort} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.annotations.team}",
    ]);
    assert_eq!(
        shown,
        "shop.apps.oxshift.local / web http Ingress/shop blue"
    );
    let (code, body) = wait_until("the ingress served", WAIT, || {
        let answer = curl(&[
            "-H",
            "Host: shop.apps.oxshift.local",
            &format!("http://{http_at}/a"),
        ]);
        (answer.0 == "200").then_some(answer)
    });
    assert_eq!((code.as_str(), body.as_str()), ("200", "path=/a"));
    c.wait_for(
        &["-n", "web", "ingress", "shop"],
        "{.status.loadBalancer.ingress[*].hostname}",
        "router-default.apps.oxshift.local",
        WAIT,
    );

    // A route is one host and path: a changed path replaces it; a changed port name
    // changes it in place.
    kubectl(&[
        "patch",
        "ingress",
        "shop",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/rules/0/http/paths/0/path","value":"/api"}]"#,
    ]);
    let replaced = wait_until("the route for the new path", WAIT, || {
        let names = kubectl(&[
            "get",
            "routes",
            "-o",
            "jsonpath={.items[*].metadata.name} {.items[*].spec.path}",
        ]);
        let (name, path) = names.split_once(' ')?;
        (name != route && path == "/api").then(|| name.to_string())
    });
    assert!(replaced.starts_with("shop-"), "{replaced}");
    let service = r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"web"},
        "spec":{"ports":[{"name":"web","port":8080,"protocol":"TCP"}]}}"#;
    c.kubectl_ok(&["replace", "-f", &c.file("service2.json", service)]);
    c.wait_for(
        &["-n", "web", "route", &replaced],
        "{.spec.port.targetPort}",
        "web",
        WAIT,
    );
    c.kubectl_ok(&[
        "replace",
        "-f",
        &c.file(
            "service.json",
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"web"},
        "spec":{"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}}"#,
        ),
    ]);
    c.wait_for(
        &["-n", "web", "route", &replaced],
        "{.spec.port.targetPort}",
        "http",
        WAIT,
    );
    wait_until("the old path no longer served", WAIT, || {
        let (code, _) = curl(&[
            "-H",
            "Host: shop.apps.oxshift.local",
            &format!("http://{http_at}/a"),
        ]);
        (code == "503").then_some(())
    });

    // TLS from the Ingress's secret: an edge route with that certificate, plain HTTP
    // redirected.
    let secure = "secure.apps.oxshift.local";
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
    assert!(made.status.success());
    kubectl(&[
        "create",
        "secret",
        "tls",
        "secure-cert",
        &format!("--cert={}", cert.display()),
        &format!("--key={}", key.display()),
    ]);
    kubectl(&[
        "create",
        "ingress",
        "secure",
        &format!("--rule={secure}/*=web:8080,tls=secure-cert"),
    ]);
    let resolve = format!("{secure}:{https}:127.0.0.1");
    let (code, body) = wait_until("the TLS ingress served with its certificate", WAIT, || {
        let answer = curl(&[
            "--cacert",
            cert.to_str().unwrap(),
            "--resolve",
            &resolve,
            &format!("https://{secure}:{https}/x"),
        ]);
        (answer.0 == "200").then_some(answer)
    });
    assert_eq!((code.as_str(), body.as_str()), ("200", "path=/x"));
    let (code, _) = curl(&[
        "-H",
        &format!("Host: {secure}"),
        &format!("http://{http_at}/x"),
    ]);
    assert_eq!(code, "302");
    let termination = kubectl(&[
        "get",
        "routes",
        "-o",
        r#"jsonpath={.items[?(@.spec.host=="secure.apps.oxshift.local")].spec.tls.termination}"#,
    ]);
    assert_eq!(termination, "edge");

    // The routes go with their Ingress.
    kubectl(&["delete", "ingress", "shop", "secure"]);
    wait_until("the routes deleted", WAIT, || {
        kubectl(&["get", "routes", "-o", "name"])
            .trim()
            .is_empty()
            .then_some(())
    });
}
