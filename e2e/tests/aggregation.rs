//! API aggregation against a real aggregated API server the test starts (Python, loopback
//! TLS, requiring the front proxy's client certificate from the CA the cluster publishes):
//! the cluster admin registers it with a Service, its Endpoints and an APIService; alice (a
//! project admin after `oc login`, given read access to flunders) lists flunders through
//! Oxshift with kubectl (and `kubectl explain`s them from the server's OpenAPI, which the
//! aggregated server published), and the aggregated server saw her as the remote user. The built-in
//! group versions are `Local` APIServices; once the server stops, its APIService turns
//! `Available=False` and requests answer 503.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use e2e::Cluster;
use e2e::oc::{alice_in_project, cluster_with_alice};
use serde_json::{Value, json};

const NS: &str = "wardle";
const APISERVICE: &str = "v1.wardle.example.com";

/// The aggregated server, stopped when dropped.
struct Aggregated {
    child: Child,
    port: u16,
    ca_bundle: String,
    log: std::path::PathBuf,
}

impl Drop for Aggregated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Aggregated {
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Starts the server, trusting the front proxy CA the cluster published.
fn start_aggregated(c: &Cluster) -> Aggregated {
    let data = |key: &str| {
        c.kubectl_ok(&[
            "get",
            "configmap",
            "-n",
            "kube-system",
            "extension-apiserver-authentication",
            "-o",
            &format!("jsonpath={{.data.{key}}}"),
        ])
    };
    assert_eq!(
        data("requestheader-username-headers"),
        r#"["X-Remote-User"]"#
    );
    assert_eq!(data("requestheader-group-headers"), r#"["X-Remote-Group"]"#);
    assert_eq!(
        data("requestheader-extra-headers-prefix"),
        r#"["X-Remote-Extra-"]"#
    );
    let allowed: Vec<String> = serde_json::from_str(&data("requestheader-allowed-names")).unwrap();
    let front_proxy_ca = c.file("front-proxy-ca.crt", &data("requestheader-client-ca-file"));
    assert!(data("client-ca-file").contains("BEGIN CERTIFICATE"));

    let dir = c.scratch("aggregated-pki");
    let pki = auth::pki::Pki::ensure(&dir, &[format!("wardle-api.{NS}.svc")]).unwrap();
    let log = c.scratch("aggregated.log");
    let mut child = Command::new(e2e::python())
        .arg(e2e::e2e_dir().join("python/aggregated_apiserver.py"))
        .arg(dir.join("serving.crt"))
        .arg(dir.join("serving.key"))
        .arg(&front_proxy_ca)
        .arg(&allowed[0])
        .env("AGGREGATED_LOG", &log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the aggregated server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Aggregated {
        child,
        port: line.trim().parse().expect("the aggregated server's port"),
        ca_bundle: base64::engine::general_purpose::STANDARD.encode(&pki.ca.cert_pem),
        log,
    }
}

fn apply(c: &Cluster, name: &str, obj: &Value) {
    let file = c.file(name, &obj.to_string());
    c.kubectl_ok(&["apply", "-f", &file]);
}

/// kubectl as alice: (success, stdout, stderr).
fn alice(c: &Cluster, kubeconfig: &str, args: &[&str]) -> (bool, String, String) {
    let out = c
        .kubectl_command(&[])
        .args(["--kubeconfig", kubeconfig])
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The `kubectl get apiservices` row of `name`, split in columns.
fn row(c: &Cluster, name: &str) -> Vec<String> {
    let table = c.kubectl_ok(&["get", "apiservices"]);
    assert!(
        table.starts_with("NAME") && table.lines().next().unwrap().contains("SERVICE"),
        "{table}"
    );
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in\n{table}"));
    // AVAILABLE may be `False (Reason)`: keep it whole.
    let mut cells: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if cells.len() == 5 {
        let reason = cells.remove(3);
        cells[2] = format!("{} {reason}", cells[2]);
    }
    cells
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn aggregated_server_is_reached_as_the_user_and_watched_for_availability() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, NS);

    // Every group version served here is a Local APIService, available.
    c.wait_for(
        &["apiservice", "v1.apps"],
        "{.status.conditions[0].reason}",
        "Local",
        MINUTE,
    );
    assert_eq!(row(&c, "v1.")[1..3], ["Local", "True"]);
    assert_eq!(row(&c, "v1.route.openshift.io")[1..3], ["Local", "True"]);

    let server = start_aggregated(&c);
    apply(
        &c,
        "service.json",
        &json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "wardle-api", "namespace": NS},
            "spec": {"ports": [{"name": "https", "port": 443, "targetPort": server.port}]}}),
    );
    apply(
        &c,
        "endpoints.json",
        &json!({"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "wardle-api", "namespace": NS},
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                "ports": [{"name": "https", "port": server.port}]}]}),
    );
    apply(
        &c,
        "apiservice.json",
        &json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": APISERVICE},
            "spec": {"group": "wardle.example.com", "version": "v1",
                "service": {"namespace": NS, "name": "wardle-api"},
                "caBundle": server.ca_bundle, "groupPriorityMinimum": 1000, "versionPriority": 15}}),
    );
    c.kubectl_ok(&[
        "create",
        "clusterrole",
        "flunder-reader",
        "--verb=get,list,watch",
        "--resource=flunders.wardle.example.com",
    ]);
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "alice-reads-flunders",
        "-n",
        NS,
        "--clusterrole=flunder-reader",
        "--user=alice",
    ]);
    c.wait_for(
        &["apiservice", APISERVICE],
        "{.status.conditions[0].reason}",
        "Passed",
        MINUTE,
    );
    assert_eq!(
        row(&c, APISERVICE)[1..3],
        [&format!("{NS}/wardle-api"), "True"]
    );

    // Discovery lists the aggregated resource; kubectl reaches it through Oxshift.
    let resources = c.kubectl_ok(&["api-resources", "--api-group=wardle.example.com"]);
    assert!(
        resources.contains("flunders") && resources.contains("Flunder"),
        "{resources}"
    );
    // Its OpenAPI is served with Oxshift's: kubectl explain reads it, /openapi/v2 has it.
    let mut last = String::new();
    let explained = e2e::wait_until("flunders explained", MINUTE, || {
        let (ok, text, stderr) = alice(&c, &kubeconfig, &["explain", "flunders.spec.remoteUser"]);
        if !ok && stderr != last {
            eprintln!("kubectl explain: {stderr}");
            last = stderr;
        }
        ok.then_some(text)
    });
    assert!(
        explained.contains("The user the aggregator named."),
        "{explained}"
    );
    let swagger = c.kubectl_ok(&["get", "--raw", "/openapi/v2"]);
    assert!(swagger.contains("com.example.wardle.v1.Flunder"));
    let (ok, table, stderr) = alice(&c, &kubeconfig, &["get", "flunders", "-n", NS]);
    assert!(ok, "{stderr}");
    assert!(table.contains("flunder-for-alice"), "{table}");
    let (ok, listed, stderr) = alice(&c, &kubeconfig, &["get", "fl", "-n", NS, "-o", "json"]);
    assert!(ok, "{stderr}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let spec = &listed["items"][0]["spec"];
    assert_eq!(spec["remoteUser"], "alice", "{listed}");
    assert!(
        spec["remoteGroups"]
            .as_array()
            .unwrap()
            .contains(&json!("system:authenticated")),
        "{listed}"
    );
    // A watch streams through.
    let (ok, events, stderr) = alice(
        &c,
        &kubeconfig,
        &[
            "get",
            "--raw",
            &format!("/apis/wardle.example.com/v1/namespaces/{NS}/flunders?watch=true"),
        ],
    );
    assert!(ok, "{stderr}");
    let events: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["object"]["metadata"]["name"], "watched-2");
    assert_eq!(events[1]["object"]["spec"]["remoteUser"], "alice");
    // Authorization is still Oxshift's: alice may not list flunders elsewhere.
    let (ok, _, stderr) = alice(&c, &kubeconfig, &["get", "flunders", "-n", "default"]);
    assert!(!ok && stderr.contains("forbidden"), "{stderr}");

    // What the aggregated server saw: the front proxy's certificate, the remote user, never
    // alice's token; and the availability checks as system:kube-aggregator.
    let requests = server.requests();
    let listing = requests
        .iter()
        .find(|r| r["user"] == "alice")
        .expect("a request as alice");
    assert_eq!(listing["client"], json!(["front-proxy-client"]));
    assert_eq!(listing["authorization"], Value::Null);
    assert!(
        requests
            .iter()
            .any(|r| r["user"] == "system:kube-aggregator"
                && r["path"] == "/apis/wardle.example.com/v1"),
        "{requests:?}"
    );
    assert!(
        requests.iter().all(|r| r["user"] != "system:anonymous"),
        "{requests:?}"
    );

    // The server stops: unavailable, and requests answer 503.
    drop(server);
    c.wait_for(
        &["apiservice", APISERVICE],
        "{.status.conditions[0].reason}",
        "FailedDiscoveryCheck",
        MINUTE,
    );
    let message = c.kubectl_ok(&[
        "get",
        "apiservice",
        APISERVICE,
        "-o",
        "jsonpath={.status.conditions[0].message}",
    ]);
    assert!(
        message.starts_with("failing or missing response from https://127.0.0.1:"),
        "{message}"
    );
    assert_eq!(row(&c, APISERVICE)[2], "False (FailedDiscoveryCheck)");
    let (ok, _, stderr) = alice(
        &c,
        &kubeconfig,
        &[
            "get",
            "--raw",
            &format!("/apis/wardle.example.com/v1/namespaces/{NS}/flunders"),
        ],
    );
    assert!(
        !ok && (stderr.contains("ServiceUnavailable") || stderr.contains("503")),
        "{stderr}"
    );

    // Without endpoints, upstream's reason and message.
    c.kubectl_ok(&["delete", "endpoints", "wardle-api", "-n", NS]);
    c.wait_for(
        &["apiservice", APISERVICE],
        "{.status.conditions[0].message}",
        &format!("cannot find endpoints for service/wardle-api in \"{NS}\""),
        MINUTE,
    );
}

#[test]
fn apiservices_are_validated_as_upstream() {
    let c = Cluster::start(e2e::Backend::Embedded);
    let bad = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1.other.example.com"},
        "spec": {"group": "wardle.example.com", "version": "v1", "groupPriorityMinimum": 30000,
            "versionPriority": 15, "caBundle": "Y2E=", "insecureSkipTLSVerify": true,
            "service": {"namespace": "default", "name": "x"}}});
    let file = c.file("bad.json", &bad.to_string());
    let stderr = c.kubectl_err(&["create", "-f", &file]);
    for expected in [
        "The APIService \"v1.other.example.com\" is invalid",
        "metadata.name: Invalid value: \"v1.other.example.com\": must be `spec.version+\".\"+spec.group`: \"v1.wardle.example.com\"",
        "spec.groupPriorityMinimum: Invalid value: 30000: must be positive and less than 20000",
        "spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    // An APIService whose service does not exist: upstream's reason.
    let missing = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1.wardle.example.com"},
        "spec": {"group": "wardle.example.com", "version": "v1", "groupPriorityMinimum": 100,
            "versionPriority": 15, "insecureSkipTLSVerify": true,
            "service": {"namespace": "default", "name": "nowhere"}}});
    let file = c.file("missing.json", &missing.to_string());
    c.kubectl_ok(&["create", "-f", &file]);
    c.wait_for(
        &["apiservice", "v1.wardle.example.com"],
        "{.status.conditions[0].message}",
        "service/nowhere in \"default\" is not present",
        MINUTE,
    );
    // A custom resource definition's group version gets its Local APIService, which goes
    // with the definition.
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gizmos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    let file = c.file("crd.json", &crd.to_string());
    c.kubectl_ok(&["create", "-f", &file]);
    c.wait_for(
        &["apiservice", "v1.example.com"],
        "{.metadata.labels.kube-aggregator\\.kubernetes\\.io/automanaged} {.spec.groupPriorityMinimum} {.status.conditions[0].reason}",
        "true 1000 Local",
        MINUTE,
    );
    c.kubectl_ok(&["delete", "crd", "gizmos.example.com"]);
    e2e::wait_until("the CRD's APIService to go", MINUTE, || {
        let out = c.kubectl(&["get", "apiservice", "v1.example.com"]);
        (!out.status.success()).then_some(())
    });

    let out = c.kubectl(&["get", "--raw", "/apis/wardle.example.com/v1"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ServiceUnavailable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
