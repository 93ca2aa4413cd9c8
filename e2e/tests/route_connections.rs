//! Connections through the all-in-one's router: a WebSocket upgrade spliced both ways to the
//! backend; a kept-alive client connection that outlives a change of its route (the change
//! applied to its next request, the connection never dropped); a reencrypt route to a TLS
//! backend whose certificate its `destinationCACertificate` signed. Backends run on
//! loopback: a server of the test, and `openssl s_server` for TLS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::free_port;
use e2e::http_backend::{self, Request, curl};
use e2e::tls_backend::{SServer, openssl};
use e2e::wait_until;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(60);

/// `path=<path> xff=<X-Forwarded-For values>`: what reached the backend (upgrades echo).
fn path_and_forwarded_for(r: &Request) -> String {
    format!("path={} xff={}", r.path, r.all("x-forwarded-for").join("|"))
}

/// One request on a kept-alive connection: the status line and the body.
fn request(conn: &mut BufReader<TcpStream>, host: &str, path: &str) -> (String, String) {
    let text = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    conn.get_mut().write_all(text.as_bytes()).unwrap();
    let mut status = String::new();
    conn.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        conn.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).unwrap();
    (
        status.trim_end().to_string(),
        String::from_utf8(body).unwrap(),
    )
}

/// A CA (`<name>-ca.pem`) and a leaf it signed (`<name>.pem`, `<name>-key.pem`).
fn ca_and_leaf(dir: &Path, name: &str) {
    let ca = format!("{name}-ca.pem");
    let ca_key = format!("{name}-ca-key.pem");
    let (leaf, key, csr) = (
        format!("{name}.pem"),
        format!("{name}-key.pem"),
        format!("{name}.csr"),
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=backend",
            "-keyout",
            &key,
            "-out",
            &csr,
        ],
    );
    // Extensions make it X.509 v3, the only version WebPKI verifiers take.
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:backend\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &leaf,
        ],
    );
}

#[test]
fn upgrades_kept_alive_connections_and_reencrypt_through_the_router() {
    let (http, https) = (free_port(), free_port());
    let (http_at, https_at) = (format!("127.0.0.1:{http}"), format!("127.0.0.1:{https}"));
    let stats_at = format!("127.0.0.1:{}", free_port());
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--router=true",
            "--router-http",
            &http_at,
            "--router-https",
            &https_at,
            "--router-stats",
            &stats_at,
        ],
    );
    let port = http_backend::serve(path_and_forwarded_for);
    let tls_port = free_port();
    c.kubectl_ok(&["create", "namespace", "conn"]);
    for (service, port_name, port) in [("web", "http", port), ("secure", "https", tls_port)] {
        let objects = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[
            {{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{service}","namespace":"conn"}},
              "spec":{{"ports":[{{"name":"{port_name}","port":8080,"protocol":"TCP"}}]}}}},
            {{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
              "metadata":{{"name":"{service}-1","namespace":"conn","labels":{{"kubernetes.io/service-name":"{service}"}}}},
              "addressType":"IPv4","endpoints":[{{"addresses":["127.0.0.1"],"conditions":{{"ready":true}}}}],
              "ports":[{{"name":"{port_name}","port":{port},"protocol":"TCP"}}]}}]}}"#
        );
        c.kubectl_ok(&[
            "create",
            "-f",
            &c.file(&format!("{service}.json"), &objects),
        ]);
    }
    let alice = c.user_with_role("alice", &[], "admin", "conn");
    let oc = |args: &[&str]| {
        let out = Command::new(e2e::oc_binary())
            .arg("--kubeconfig")
            .arg(&alice)
            .args(["-n", "conn"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "oc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    oc(&["expose", "svc/web"]);
    let host = "web-conn.apps.oxshift.local";
    wait_until("the route served", WAIT, || {
        let (code, _) = curl(&[
            "-k",
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/"),
        ]);
        (code == "200").then_some(())
    });

    // A WebSocket upgrade: 101, then bytes both ways.
    let mut ws = TcpStream::connect(&http_at).unwrap();
    ws.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ws.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut ws = BufReader::new(ws);
    let mut status = String::new();
    ws.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    loop {
        let mut line = String::new();
        ws.read_line(&mut line).unwrap();
        if line.trim_end().is_empty() {
            break;
        }
    }
    for message in ["hello", "again"] {
        ws.get_mut().write_all(message.as_bytes()).unwrap();
        let mut echoed = vec![0; message.len()];
        ws.read_exact(&mut echoed).unwrap();
        assert_eq!(echoed, message.as_bytes());
    }

    // A kept-alive connection outlives a change of its route; its next request sees it.
    let stream = TcpStream::connect(&http_at).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut kept = BufReader::new(stream);
    let (status, body) = request(&mut kept, host, "/one");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "path=/one xff=127.0.0.1");
    oc(&[
        "annotate",
        "route",
        "web",
        "haproxy.router.openshift.io/set-forwarded-headers=never",
    ]);
    wait_until("the change applied", WAIT, || {
        let (_, body) = curl(&[
            "-k",
            "-H",
            &format!("Host: {host}"),
            &format!("http://{http_at}/x"),
        ]);
        (body == "path=/x xff=").then_some(())
    });
    let (status, body) = request(&mut kept, host, "/two");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "path=/two xff=");
    // The upgraded connection is still open too.
    ws.get_mut().write_all(b"later").unwrap();
    let mut echoed = [0_u8; 5];
    ws.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"later");

    // Hostile requests, answered as OpenShift's HAProxy answers them: a head over its 24 KiB
    // (`tune.bufsize` less `tune.maxrewrite`) is refused with 400 and one of 20 KiB served; a
    // request that is not HTTP gets 400, as does one of more than 101 header fields; a head
    // not complete within the 10 s request timeout gets 408, on a new connection and on a
    // kept-alive one alike.
    let answer_of = |stream: &mut TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).to_string();
        let status = answer.lines().next().unwrap_or_default().to_string();
        (status, started.elapsed())
    };
    let raw = |head: Vec<u8>| {
        let mut stream = TcpStream::connect(&http_at).unwrap();
        // The router may refuse before it has read all: what it did not take is not an error.
        let _ = stream.write_all(&head);
        answer_of(&mut stream)
    };
    let padded = |bytes: usize| {
        let mut head = format!("GET /big HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-Pad: ")
            .into_bytes();
        head.extend(std::iter::repeat_n(b'a', bytes));
        head.extend(b"\r\n\r\n");
        head
    };
    assert_eq!(raw(padded(20 * 1024)).0, "HTTP/1.1 200 OK");
    assert_eq!(raw(padded(100 * 1024)).0, "HTTP/1.1 400 Bad Request");
    assert_eq!(raw(padded(25 * 1024)).0, "HTTP/1.1 400 Bad Request");
    // Header fields: HAProxy takes 101 (`tune.http.maxhdr`) and refuses more with 400.
    let fields = |count: usize| {
        let mut head = format!("GET /many HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        (2..count).for_each(|i| head.push_str(&format!("X-Field-{i}: v\r\n")));
        head.push_str("\r\n");
        head.into_bytes()
    };
    assert_eq!(raw(fields(90)).0, "HTTP/1.1 200 OK");
    assert_eq!(raw(fields(102)).0, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        raw(b"GARBAGE\x01 / HTTP/9\r\n\r\n".to_vec()).0,
        "HTTP/1.1 400 Bad Request"
    );
    // The slow heads wait side by side: a half-sent head on a new connection, and one sent
    // after a first exchange on a kept-alive connection.
    let half = format!("GET / HTTP/1.1\r\nHost: {host}\r\n").into_bytes();
    let answers = std::thread::scope(|scope| {
        let on_new = scope.spawn(|| raw(half.clone()));
        let mut kept_alive = BufReader::new(TcpStream::connect(&http_at).unwrap());
        let (status, _) = request(&mut kept_alive, host, "/first");
        assert_eq!(status, "HTTP/1.1 200 OK");
        kept_alive.get_mut().write_all(&half).unwrap();
        [answer_of(kept_alive.get_mut()), on_new.join().unwrap()]
    });
    for (status, took) in answers {
        assert_eq!(status, "HTTP/1.1 408 Request Time-out");
        // Held as long as HAProxy's `timeout http-request` (10 s), answered soon after.
        assert!(
            took > Duration::from_secs(9) && took < Duration::from_secs(20),
            "a half-sent head held for {took:?}"
        );
    }

    // Reencrypt: the backend's certificate verified against the route's destination CA.
    let dir = c.scratch("tls");
    std::fs::create_dir_all(&dir).unwrap();
    ca_and_leaf(&dir, "backend");
    ca_and_leaf(&dir, "other");
    let _server = SServer::start(&dir, tls_port, "backend.pem", "backend-key.pem");
    for (name, ca) in [("good", "backend-ca.pem"), ("bad", "other-ca.pem")] {
        oc(&[
            "create",
            "route",
            "reencrypt",
            name,
            "--service=secure",
            &format!("--hostname={name}-conn.apps.oxshift.local"),
            &format!("--dest-ca-cert={}", dir.join(ca).display()),
        ]);
    }
    let through = |name: &str| {
        let host = format!("{name}-conn.apps.oxshift.local");
        curl(&[
            "-k",
            "--resolve",
            &format!("{host}:{https}:127.0.0.1"),
            &format!("https://{host}:{https}/"),
        ])
    };
    let (code, body) = wait_until("the reencrypt route served", WAIT, || {
        let answer = through("good");
        (answer.0 == "200").then_some(answer)
    });
    assert_eq!(code, "200");
    assert!(body.contains("s_server"), "{body}");
    // The route trusting another CA is admitted too, but the backend's certificate fails its
    // verification: the 503 page, as HAProxy's `verify required` gives, every time and
    // whichever route was used before (no connection verified for one serves the other).
    c.wait_for(
        &["-n", "conn", "route", "bad"],
        "{.status.ingress[0].conditions[0].status}",
        "True",
        WAIT,
    );
    for name in ["bad", "good", "bad", "bad", "good"] {
        let (code, _) = through(name);
        let wanted = if name == "good" { "200" } else { "503" };
        assert_eq!(code, wanted, "through the route {name}");
    }
    // Each refusal is counted for the route whose destination CA the backend failed (every
    // attempt of the three requests), none for the route it satisfied.
    let (code, metrics) = curl(&[&format!("http://{stats_at}/metrics")]);
    assert_eq!(code, "200");
    let failures = |route: &str| {
        let series = format!(
            "router_backend_tls_verification_failures_total{{namespace=\"conn\",route=\"{route}\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |n| n.parse::<u64>().unwrap())
    };
    assert!(failures("bad") >= 3, "{metrics}");
    assert_eq!(failures("good"), 0, "{metrics}");

    // Per route and per server, under the names of upstream's HAProxy exporter.
    let value = |series: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|n| n.parse::<f64>().unwrap())
    };
    let web = "backend=\"http\",namespace=\"conn\",route=\"web\"";
    let web_server = format!(
        "server=\"127.0.0.1:{port}\",namespace=\"conn\",route=\"web\",pod=\"\",service=\"web\""
    );
    // The kept-alive connection's two requests and the polls before them, all answered.
    for series in [
        format!("haproxy_backend_http_responses_total{{{web},code=\"2xx\"}}"),
        format!("haproxy_server_http_responses_total{{{web_server},code=\"2xx\"}}"),
        format!("haproxy_backend_connections_total{{{web}}}"),
    ] {
        assert!(
            value(&series).is_some_and(|n| n >= 3.0),
            "{series} in\n{metrics}"
        );
    }
    for series in [
        format!("haproxy_backend_bytes_in_total{{{web}}}"),
        format!("haproxy_backend_bytes_out_total{{{web}}}"),
        format!("haproxy_server_bytes_out_total{{{web_server}}}"),
        format!("haproxy_backend_http_average_response_latency_milliseconds{{{web}}}"),
    ] {
        assert!(
            value(&series).is_some_and(|n| n > 0.0),
            "{series} in\n{metrics}"
        );
    }
    let good = "backend=\"https\",namespace=\"conn\",route=\"good\"";
    let bad = "backend=\"https\",namespace=\"conn\",route=\"bad\"";
    assert!(
        value(&format!(
            "haproxy_backend_http_responses_total{{{good},code=\"2xx\"}}"
        ))
        .is_some_and(|n| n >= 2.0),
        "{metrics}"
    );
    // The refused route's requests: 503s, each after failed connections, none answered.
    assert_eq!(
        value(&format!(
            "haproxy_backend_http_responses_total{{{bad},code=\"5xx\"}}"
        )),
        Some(3.0),
        "{metrics}"
    );
    assert!(
        value(&format!("haproxy_backend_connection_errors_total{{{bad}}}"))
            .is_some_and(|n| n >= 3.0),
        "{metrics}"
    );
    assert_eq!(
        value(&format!(
            "haproxy_backend_http_responses_total{{{bad},code=\"2xx\"}}"
        )),
        Some(0.0),
        "{metrics}"
    );
}
