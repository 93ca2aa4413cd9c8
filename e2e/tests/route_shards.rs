//! Sharded routers, as upstream's router selection: two `oxshift router`s each serving its
//! shard (one by route labels with an allowed domain, one by namespace labels allowing
//! wildcard routes and denying a domain) and each writing only its own `status.ingress`
//! entry; a route in both shards admitted by both; a wildcard route refused with
//! `RouteNotAdmitted` by the router that does not allow wildcards and served for any one
//! label under its domain by the other; a denied domain refused. The backend is a server of
//! the test on loopback, named by EndpointSlices of selector-less services.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::free_port;
use e2e::http_backend::{self, Request};
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

/// `ok <host>`: which name the router asked for.
fn host(r: &Request) -> String {
    format!("ok {}", r.header("host").unwrap_or(""))
}

/// The status code of a GET through the router at `at` for `host`.
fn code(at: &str, host: &str) -> String {
    let out = Command::new("curl")
        .args([
            "-s",
            "-m",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
        ])
        .arg(format!("Host: {host}"))
        .arg(format!("http://{at}/"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn wait_code(at: &str, host: &str, wanted: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = code(at, host);
        if got == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host} through {at}: {got}, not {wanted}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn route(name: &str, ns: &str, host: &str, labels: &str, wildcard: bool) -> String {
    let policy = if wildcard { "Subdomain" } else { "None" };
    format!(
        r#"{{"apiVersion":"route.openshift.io/v1","kind":"Route",
        "metadata":{{"name":"{name}","namespace":"{ns}","labels":{{{labels}}}}},
        "spec":{{"host":"{host}","wildcardPolicy":"{policy}","to":{{"kind":"Service","name":"web"}}}}}}"#
    )
}

/// `{.status.ingress[?(@.routerName=="<router>")].conditions[0].<field>}`.
fn condition(router: &str, field: &str) -> String {
    format!(r#"{{.status.ingress[?(@.routerName=="{router}")].conditions[0].{field}}}"#)
}

#[test]
fn sharded_routers_serve_and_admit_only_their_routes() {
    let c = Cluster::start(Backend::Embedded);
    let port = http_backend::serve(host);
    for ns in ["one", "two"] {
        c.kubectl_ok(&["create", "namespace", ns]);
        http_backend::expose(&c, ns, port);
    }
    c.kubectl_ok(&["label", "namespace", "two", "team=b"]);
    c.user_with_role("alice", &[], "admin", "one");
    let alice = c.user_with_role("alice", &[], "admin", "two");
    let create = |name: &str, json: &str| {
        c.kubectl_ok(&[
            "--kubeconfig",
            alice.to_str().unwrap(),
            "create",
            "-f",
            &c.file(name, json),
        ])
    };

    let (a_http, b_http) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let (a_https, b_https) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let (a_stats, b_stats) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let _a = c.router(
        "router-a",
        &[
            "--router-name=shard-a",
            "--route-label-selector=shard=a",
            "--allowed-domains=apps.oxshift.local",
            "--http",
            &a_http,
            "--https",
            &a_https,
            "--stats",
            &a_stats,
        ],
    );
    let _b = c.router(
        "router-b",
        &[
            "--router-name=shard-b",
            "--namespace-label-selector=team in (b)",
            "--allow-wildcard-routes",
            "--denied-domains=denied.oxshift.local",
            "--http",
            &b_http,
            "--https",
            &b_https,
            "--stats",
            &b_stats,
        ],
    );

    let a_host = "a-one.apps.oxshift.local";
    let b_host = "b-two.apps.oxshift.local";
    let both_host = "ab-two.apps.oxshift.local";
    create(
        "a.json",
        &route("a", "one", a_host, r#""shard":"a""#, false),
    );
    create("b.json", &route("b", "two", b_host, "", false));
    create(
        "ab.json",
        &route("ab", "two", both_host, r#""shard":"a""#, false),
    );
    create(
        "wild.json",
        &route(
            "wild",
            "two",
            "www.wild.apps.oxshift.local",
            r#""shard":"a""#,
            true,
        ),
    );
    create(
        "denied.json",
        &route("denied", "two", "x.denied.oxshift.local", "", false),
    );

    // Each router admits its own routes in its own entry; the route in both shards has both.
    let get = |ns: &str, name: &str| ["-n", ns, "route", name].map(str::to_string);
    let wait = |ns: &str, name: &str, path: &str, wanted: &str| {
        let args = get(ns, name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.wait_for(&args, path, wanted, WAIT);
    };
    wait("one", "a", &condition("shard-a", "status"), "True");
    wait("two", "b", &condition("shard-b", "status"), "True");
    wait("two", "ab", &condition("shard-a", "status"), "True");
    wait("two", "ab", &condition("shard-b", "status"), "True");
    for shard in ["shard-a", "shard-b"] {
        wait(
            "two",
            "ab",
            &format!(r#"{{.status.ingress[?(@.routerName=="{shard}")].routerCanonicalHostname}}"#),
            &format!("router-{shard}.apps.oxshift.local"),
        );
    }

    // The wildcard route: refused by the shard that does not allow wildcards, served by the
    // other; the denied domain refused.
    wait(
        "two",
        "wild",
        &condition("shard-a", "reason"),
        "RouteNotAdmitted",
    );
    wait(
        "two",
        "wild",
        &condition("shard-a", "message"),
        "wildcard routes are not allowed",
    );
    wait("two", "wild", &condition("shard-b", "status"), "True");
    wait(
        "two",
        "wild",
        r#"{.status.ingress[?(@.routerName=="shard-b")].wildcardPolicy}"#,
        "Subdomain",
    );
    wait(
        "two",
        "denied",
        &condition("shard-b", "reason"),
        "RouteNotAdmitted",
    );
    wait(
        "two",
        "denied",
        &condition("shard-b", "message"),
        "host in list of denied domains",
    );

    // Routes outside a shard get no entry from its router (each router has by now written
    // the entries of routes created after them).
    wait("one", "a", "{.status.ingress[*].routerName}", "shard-a");
    wait("two", "b", "{.status.ingress[*].routerName}", "shard-b");
    wait(
        "two",
        "denied",
        "{.status.ingress[*].routerName}",
        "shard-b",
    );

    // And each serves only its own.
    wait_code(&a_http, a_host, "200");
    wait_code(&a_http, both_host, "200");
    assert_eq!(code(&a_http, b_host), "503");
    assert_eq!(code(&a_http, "any.wild.apps.oxshift.local"), "503");
    wait_code(&b_http, b_host, "200");
    wait_code(&b_http, both_host, "200");
    assert_eq!(code(&b_http, a_host), "503");
    wait_code(&b_http, "any.wild.apps.oxshift.local", "200");
    assert_eq!(code(&b_http, "www.wild.apps.oxshift.local"), "200");
    assert_eq!(code(&b_http, "a.b.wild.apps.oxshift.local"), "503");
    assert_eq!(code(&b_http, "x.denied.oxshift.local"), "503");

    // Relabelled out of shard a, a route is no longer served there.
    c.kubectl_ok(&["-n", "one", "label", "route", "a", "shard-"]);
    wait_code(&a_http, a_host, "503");
}
