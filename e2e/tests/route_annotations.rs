//! Route annotations honoured by the all-in-one's router, as a project admin sets them with
//! `oc annotate`: `timeout` (a slow backend answered 504 in time), `ip_allowlist` (other
//! sources cut off without an answer, as HAProxy's `tcp-request content reject`),
//! `hsts_header` (set on an edge route's responses when valid, ignored when not),
//! `rewrite-target` and `set-forwarded-headers` (what the backend sees), and
//! `rate-limit-connections.rate-http`. The backend is a small HTTP server of the test on
//! loopback, named by an EndpointSlice of a selector-less service.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::free_port;
use e2e::http_backend::{self, Request};
use e2e::wait_until;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

/// Each request's path and `X-Forwarded-For` values; `/slow…` answered after 3 seconds.
fn path_and_forwarded_for(r: &Request) -> String {
    if r.path.starts_with("/slow") {
        std::thread::sleep(Duration::from_secs(3));
    }
    format!("path={} xff={}", r.path, r.all("x-forwarded-for").join("|"))
}

/// curl's answer: status code (`000` when the connection closed unanswered), headers, body.
fn curl(args: &[&str]) -> (String, String, String) {
    let head = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("curl")
        .args([
            "-s",
            "-k",
            "-m",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-D",
        ])
        .arg(head.path())
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let headers = std::fs::read_to_string(head.path()).unwrap_or_default();
    (code.to_string(), headers.to_lowercase(), body.to_string())
}

fn oc(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(e2e::oc_binary())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["-n", "ann"])
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
}

#[test]
fn route_annotations_change_what_the_router_does() {
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
    let port = http_backend::serve(path_and_forwarded_for);
    c.kubectl_ok(&["create", "namespace", "ann"]);
    http_backend::expose(&c, "ann", port);
    let alice = c.user_with_role("alice", &[], "admin", "ann");
    oc(&alice, &["expose", "svc/web"]);
    let host = "web-ann.apps.oxshift.local";
    let host_header = format!("Host: {host}");
    let get = |path: &str| curl(&["-H", &host_header, &format!("http://{http_at}{path}")]);

    // Without annotations: a slow answer still comes (the default timeout is 30 s), and the
    // client's X-Forwarded-For is kept with the router's appended.
    let (code, _, body) = wait_until("the route served", WAIT, || {
        let answer = get("/slow");
        (answer.0 == "200").then_some(answer)
    });
    assert_eq!(code, "200");
    assert_eq!(body, "path=/slow xff=127.0.0.1");
    let (_, _, body) = curl(&[
        "-H",
        &host_header,
        "-H",
        "X-Forwarded-For: 10.9.9.9",
        &format!("http://{http_at}/a"),
    ]);
    assert_eq!(body, "path=/a xff=10.9.9.9|127.0.0.1");

    // timeout=1s: the slow backend gets the request, the client a 504 after about a second.
    oc(
        &alice,
        &[
            "annotate",
            "route",
            "web",
            "haproxy.router.openshift.io/timeout=1s",
        ],
    );
    wait_until("the timeout applied", WAIT, || {
        let started = Instant::now();
        let (code, _, body) = get("/slow");
        (code == "504").then(|| {
            let took = started.elapsed();
            assert!(took < Duration::from_millis(2900), "504 after {took:?}");
            assert!(body.contains("504 Gateway Time-out"), "{body}");
        })
    });
    assert_eq!(get("/fast").0, "200");

    // rewrite-target and set-forwarded-headers=replace: what the backend sees.
    oc(
        &alice,
        &[
            "annotate",
            "route",
            "web",
            "haproxy.router.openshift.io/rewrite-target=/v2",
            "haproxy.router.openshift.io/set-forwarded-headers=replace",
        ],
    );
    wait_until("the path rewritten and the header replaced", WAIT, || {
        let (_, _, body) = curl(&[
            "-H",
            &host_header,
            "-H",
            "X-Forwarded-For: 10.9.9.9",
            &format!("http://{http_at}/a?q=1"),
        ]);
        (body == "path=/v2/a?q=1 xff=127.0.0.1").then_some(())
    });

    // ip_allowlist without the client's address: the connection is closed unanswered; with
    // it (as a network), served again.
    oc(
        &alice,
        &[
            "annotate",
            "route",
            "web",
            "haproxy.router.openshift.io/ip_allowlist=10.0.0.1 192.168.0.0/16",
        ],
    );
    wait_until("the client refused", WAIT, || {
        (get("/").0 == "000").then_some(())
    });
    for _ in 0..5 {
        assert_eq!(get("/").0, "000");
    }
    oc(
        &alice,
        &[
            "annotate",
            "--overwrite",
            "route",
            "web",
            "haproxy.router.openshift.io/ip_allowlist=10.0.0.1 127.0.0.0/8",
        ],
    );
    wait_until("the client allowed", WAIT, || {
        (get("/").0 == "200").then_some(())
    });

    // rate-limit-connections with rate-http=5: within ten seconds, the fifth request from
    // this address is refused.
    oc(
        &alice,
        &[
            "annotate",
            "route",
            "web",
            "haproxy.router.openshift.io/rate-limit-connections=true",
            "haproxy.router.openshift.io/rate-limit-connections.rate-http=5",
        ],
    );
    wait_until("requests over the rate refused", WAIT, || {
        let codes: Vec<String> = (0..6).map(|_| get("/").0).collect();
        codes.iter().any(|c| c == "000").then_some(())
    });

    // hsts_header on an edge route: set when valid, absent when not.
    let secure = "secure-ann.apps.oxshift.local";
    oc(
        &alice,
        &[
            "create",
            "route",
            "edge",
            "secure",
            "--service=web",
            &format!("--hostname={secure}"),
        ],
    );
    let resolve = format!("{secure}:{https}:127.0.0.1");
    let url = format!("https://{secure}:{https}/");
    let tls = || curl(&["--resolve", &resolve, &url]);
    wait_until("the edge route served", WAIT, || {
        (tls().0 == "200").then_some(())
    });
    let hsts = "max-age=31536000;includeSubDomains;preload";
    oc(
        &alice,
        &[
            "annotate",
            "route",
            "secure",
            &format!("haproxy.router.openshift.io/hsts_header={hsts}"),
        ],
    );
    wait_until("the HSTS header", WAIT, || {
        let (code, headers, _) = tls();
        (code == "200"
            && headers.contains(&format!(
                "strict-transport-security: {}",
                hsts.to_lowercase()
            )))
        .then_some(())
    });
    oc(
        &alice,
        &[
            "annotate",
            "--overwrite",
            "route",
            "secure",
            "haproxy.router.openshift.io/hsts_header=max-age=soon",
        ],
    );
    wait_until("an invalid HSTS header ignored", WAIT, || {
        let (code, headers, _) = tls();
        (code == "200" && !headers.contains("strict-transport-security")).then_some(())
    });
}
