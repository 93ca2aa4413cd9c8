//! A hostile tenant: an ordinary user with one project (alice, after `oc login`) sends what
//! upstream refuses — wrongly typed objects, bad labels, hostile patches and query options,
//! reserved project names, bindings to roles that do not exist, oversized bodies, half-sent
//! requests — and each gets upstream's answer. Then the controllers must still work for
//! everyone else (service accounts recreated, the garbage collector collecting in another
//! project), nothing secret may be in the server's log, and `/metrics` must pass
//! `promtool check metrics`.
//! (Long on purpose: every refused request of the hardening issue, replayed in one place.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::Cluster;
use e2e::oc::{cluster_with_alice, oc};
use kube::client::Body;
use serde_json::{Value, json};

/// One answer: code, `Retry-After`, body as JSON (or null) and as text.
struct Answer {
    code: u16,
    retry_after: Option<String>,
    json: Value,
    text: String,
}

struct Tenant {
    client: kube::Client,
    rt: tokio::runtime::Runtime,
    tried: usize,
    unexpected: Vec<String>,
}

impl Tenant {
    fn send(&mut self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.tried += 1;
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(Body::from(body))
            .unwrap();
        let client = self.client.clone();
        self.rt.block_on(async move {
            let response = client.send(request).await.unwrap();
            let code = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = response.into_body().collect_bytes().await.unwrap();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            Answer {
                code,
                retry_after,
                json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                text,
            }
        })
    }

    /// Sends `body` and checks upstream's code and (exact, or with `...` a prefix) message.
    fn expect(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Value,
        code: u16,
        message: &str,
    ) {
        let ct = match method {
            "PATCH" => "application/merge-patch+json",
            _ => "application/json",
        };
        let body = match body {
            Value::Null => Vec::new(),
            body => body.to_string().into_bytes(),
        };
        self.expect_typed(what, method, path, ct, body, code, message);
    }

    #[allow(clippy::too_many_arguments)]
    fn expect_typed(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        code: u16,
        message: &str,
    ) {
        let answer = self.send(method, path, content_type, body);
        if (200..300).contains(&answer.code) && !(200..300).contains(&code) {
            self.unexpected
                .push(format!("{what}: accepted ({})", answer.code));
            return;
        }
        let got = answer.json["message"]
            .as_str()
            .unwrap_or(&answer.text)
            .to_string();
        let matches = match message.strip_suffix("...") {
            Some(prefix) => got.starts_with(prefix),
            None => got == message,
        };
        assert!(
            answer.code == code && matches,
            "{what}: got {} {got:?}, want {code} {message:?}",
            answer.code
        );
    }
}

fn alice(c: &Cluster, home: &std::path::Path) -> String {
    let ca = c.data_dir().join("pki/ca.crt");
    let login = oc(
        home,
        &[
            "login",
            &c.server(),
            "-u",
            "alice",
            "-p",
            "wonderland",
            "--certificate-authority",
            ca.to_str().unwrap(),
        ],
    );
    assert!(login.status.success(), "{:?}", login);
    let token = oc(home, &["whoami", "-t"]);
    String::from_utf8(token.stdout).unwrap().trim().to_string()
}

fn client(rt: &tokio::runtime::Runtime, kubeconfig: &std::path::Path) -> kube::Client {
    rt.block_on(async {
        let config = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
        let mut config = kube::Config::from_custom_kubeconfig(config, &Default::default())
            .await
            .unwrap();
        // Each answer is checked as the server gave it, not after the client's retries.
        config.default_retry = false;
        kube::Client::try_from(config).unwrap()
    })
}

const NS: &str = "/api/v1/namespaces/hostile";

fn deployment(spec_replicas: &str) -> Vec<u8> {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"d"}},"spec":{{"replicas":{spec_replicas},"selector":{{"matchLabels":{{"a":"b"}}}},"template":{{"metadata":{{"labels":{{"a":"b"}}}},"spec":{{"containers":[{{"name":"c","image":"i"}}]}}}}}}}}"#
    )
    .into_bytes()
}

#[test]
fn a_hostile_tenant_gets_upstreams_answers_and_breaks_nothing() {
    let (_dir, c, home) = cluster_with_alice();
    let token = alice(&c, &home);
    assert!(oc(&home, &["new-project", "hostile"]).status.success());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let kubeconfig = c.token_kubeconfig("alice", &token);
    let mut t = Tenant {
        client: client(&rt, &kubeconfig),
        rt,
        tried: 0,
        unexpected: Vec::new(),
    };
    let deployments = "/apis/apps/v1/namespaces/hostile/deployments";
    let decode = |kind: &str, rest: &str| {
        format!(
            "{kind} in version \"v1\" cannot be handled as a {kind}: json: cannot unmarshal {rest}"
        )
    };

    // Field types, as upstream's decoder refuses them (400), on every kind of write.
    t.expect(
        "configmap data number",
        "POST",
        &format!("{NS}/configmaps"),
        json!({"metadata": {"name": "di"}, "data": {"a": 5}}),
        400,
        &decode(
            "ConfigMap",
            "number into Go struct field ConfigMap.data of type string",
        ),
    );
    for (replicas, found) in [
        ("\"abc\"", "string"),
        ("1.5", "number 1.5"),
        ("9223372036854775808", "number 9223372036854775808"),
    ] {
        t.expect_typed(
            &format!("replicas {replicas}"),
            "POST",
            deployments,
            "application/json",
            deployment(replicas),
            400,
            &decode(
                "Deployment",
                &format!("{found} into Go struct field DeploymentSpec.spec.replicas of type int32"),
            ),
        );
    }
    t.expect_typed("replicas -5", "POST", deployments, "application/json", deployment("-5"), 422,
        "Deployment.apps \"d\" is invalid: spec.replicas: Invalid value: -5: must be greater than or equal to 0");
    t.expect(
        "pod containers string",
        "POST",
        &format!("{NS}/pods"),
        json!({"metadata": {"name": "p"}, "spec": {"containers": "x"}}),
        400,
        &decode(
            "Pod",
            "string into Go struct field PodSpec.spec.containers of type []v1.Container",
        ),
    );
    t.expect(
        "labels number",
        "POST",
        &format!("{NS}/configmaps"),
        json!({"metadata": {"name": "l", "labels": {"a": 5}}}),
        400,
        &decode(
            "ConfigMap",
            "number into Go struct field ObjectMeta.metadata.labels of type string",
        ),
    );
    t.expect(
        "automount yes",
        "POST",
        &format!("{NS}/serviceaccounts"),
        json!({"metadata": {"name": "s"}, "automountServiceAccountToken": "yes"}),
        400,
        &decode(
            "ServiceAccount",
            "string into Go struct field ServiceAccount.automountServiceAccountToken of type bool",
        ),
    );
    // A good object, then patches that would make it wrong: refused on the patch (422).
    t.expect(
        "good configmap",
        "POST",
        &format!("{NS}/configmaps"),
        json!({"metadata": {"name": "good"}, "data": {"a": "b"}}),
        201,
        "...",
    );
    let good = format!("{NS}/configmaps/good");
    t.expect(
        "merge patch to a number",
        "PATCH",
        &good,
        json!({"data": {"a": 5}}),
        422,
        " \"\" is invalid: patch: Invalid value: ...",
    );
    t.expect_typed(
        "JSON patch to a number",
        "PATCH",
        &good,
        "application/json-patch+json",
        json!([{"op": "replace", "path": "/data/a", "value": 5}])
            .to_string()
            .into_bytes(),
        422,
        " \"\" is invalid: patch: Invalid value: ...",
    );
    t.expect_typed("strategic patch to a number", "PATCH", &good, "application/strategic-merge-patch+json",
        json!({"data": {"a": 5}}).to_string().into_bytes(), 422,
        " \"\" is invalid: patch: Invalid value: \"map[data:map[a:5]]\": cannot convert int64 to string");
    t.expect_typed(
        "apply of a number",
        "PATCH",
        &format!("{good}?fieldManager=x"),
        "application/apply-patch+yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\ndata: {a: 5}\n".to_vec(),
        400,
        "failed to create typed patch object (v1, Kind=ConfigMap): ...",
    );
    // Labels and field managers as upstream validates them (422).
    t.expect("label syntax", "POST", &format!("{NS}/configmaps"),
        json!({"metadata": {"name": "lab", "labels": {"a b/c d": "!!"}}}), 422,
        "ConfigMap \"lab\" is invalid: [metadata.labels: Invalid value: \"a b/c d\": prefix part ...");
    t.expect("long field manager", "POST",
        &format!("{NS}/configmaps?fieldManager={}", "m".repeat(1000)),
        json!({"metadata": {"name": "fm"}}), 422,
        "CreateOptions.meta.k8s.io \"\" is invalid: fieldManager: Too long: may not be more than 128 bytes");
    // Query options.
    let a = t.send(
        "GET",
        &format!("{NS}/configmaps?resourceVersionMatch=Bogus"),
        "application/json",
        vec![],
    );
    assert_eq!(a.code, 422, "{}", a.text);
    assert!(
        a.json["message"].as_str().unwrap().starts_with(
            "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden"
        )
    );
    let a = t.send(
        "GET",
        &format!("{NS}/configmaps?labelSelector=a%20notin%20()"),
        "application/json",
        vec![],
    );
    assert_eq!(
        a.code, 200,
        "upstream reads `()` as the empty value: {}",
        a.text
    );
    let a = t.send(
        "GET",
        &format!("{NS}/configmaps?watch=notbool&timeoutSeconds=1"),
        "application/json",
        vec![],
    );
    assert!(
        a.code == 200 && a.text.starts_with("{\"type\":\"ADDED\""),
        "any watch value but 0/false is a watch: {}",
        a.text
    );
    // Strategic-merge directives upstream cannot read.
    for (patch, message) in [
        (
            json!({"$patch": "frobnicate"}),
            "unknown patch type: frobnicate in map: map[$patch:frobnicate]",
        ),
        (
            json!({"$setElementOrder/data": 5}),
            "expected a []interface {}, but received a int64",
        ),
        (
            json!({"$retainKeys": "x"}),
            "invalid patch format of retainKeys",
        ),
    ] {
        t.expect_typed(
            &format!("directive {patch}"),
            "PATCH",
            &good,
            "application/strategic-merge-patch+json",
            patch.to_string().into_bytes(),
            400,
            message,
        );
    }
    // A bad propagation policy deletes nothing.
    t.expect("propagationPolicy=Bogus", "DELETE", &format!("{good}?propagationPolicy=Bogus"), Value::Null, 422,
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Bogus\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"");
    assert_eq!(
        t.send("GET", &good, "application/json", vec![]).code,
        200,
        "still there"
    );
    // A list not older than a revision the store has not reached: 504 after a wait.
    let started = Instant::now();
    let a = t.send(
        "GET",
        &format!("{NS}/configmaps?resourceVersion=99999999"),
        "application/json",
        vec![],
    );
    assert_eq!(
        (a.code, a.retry_after.as_deref()),
        (504, Some("1")),
        "{}",
        a.text
    );
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .starts_with("Timeout: Too large resource version: 99999999, current: ")
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "upstream waits for the store first"
    );
    // Paths: percent-decoded segments; names too long to store are simply not found.
    assert_eq!(
        t.send(
            "GET",
            &format!("{NS}/configmaps/g%6Fod"),
            "application/json",
            vec![]
        )
        .code,
        200
    );
    let long = "a".repeat(10_000);
    t.expect(
        "10k-character name",
        "GET",
        &format!("{NS}/configmaps/{long}"),
        Value::Null,
        404,
        &format!("configmaps \"{long}\" not found"),
    );
    // Projects: watchable; the platform's names cannot be requested.
    let a = t.send(
        "GET",
        "/apis/project.openshift.io/v1/projects?watch=1&timeoutSeconds=1",
        "application/json",
        vec![],
    );
    assert_eq!(a.code, 200, "{}", a.text);
    for (name, code, message) in [
        (
            "openshift-evil",
            403,
            "project.project.openshift.io \"openshift-evil\" is forbidden: cannot request a project starting with \"openshift-\"",
        ),
        (
            "kube-evil",
            403,
            "project.project.openshift.io \"kube-evil\" is forbidden: cannot request a project starting with \"kube-\"",
        ),
        (
            "openshift",
            403,
            "project.project.openshift.io \"openshift\" is forbidden: cannot request a project with the name \"openshift\"",
        ),
        (
            "default",
            409,
            "project.project.openshift.io \"default\" already exists",
        ),
    ] {
        t.expect(&format!("project {name}"), "POST", "/apis/project.openshift.io/v1/projectrequests",
            json!({"apiVersion": "project.openshift.io/v1", "kind": "ProjectRequest", "metadata": {"name": name}}), code, message);
    }
    // Binding to a role that does not exist yet, without `bind`: NotFound.
    t.expect("binding to a missing role", "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/hostile/rolebindings",
        json!({"metadata": {"name": "pre"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "later"},
            "subjects": [{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}]}), 404,
        "roles.rbac.authorization.k8s.io \"later\" not found");
    // JSON patches that copy a field onto itself until memory runs out: bounded.
    t.expect(
        "big value",
        "POST",
        &format!("{NS}/configmaps"),
        json!({"metadata": {"name": "big"}, "data": {"a": "x".repeat(500_000)}}),
        201,
        "...",
    );
    let copies: Vec<Value> = (0..40)
        .map(|i| json!({"op": "copy", "from": "/data/a", "path": format!("/data/c{i}")}))
        .collect();
    t.expect_typed(
        "doubling copies",
        "PATCH",
        &format!("{NS}/configmaps/big"),
        "application/json-patch+json",
        json!(copies).to_string().into_bytes(),
        413,
        "Request entity too large: Unable to complete the copy...",
    );

    // Oversized bodies and half-sent requests, over HTTP/1.1 as plain clients send them.
    let python = Command::new(e2e::python())
        .arg(e2e::e2e_dir().join("python/hostile_http.py"))
        .args([
            &c.server(),
            c.data_dir().join("pki/ca.crt").to_str().unwrap(),
            &token,
        ])
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "{}{}",
        String::from_utf8_lossy(&python.stdout),
        String::from_utf8_lossy(&python.stderr)
    );
    let raw: Value = serde_json::from_slice(&python.stdout).unwrap();
    t.tried += 2;
    assert_eq!(raw["big_body"]["code"], 413, "{raw}");
    assert_eq!(
        raw["big_body"]["message"],
        "Request entity too large: limit is 3145728"
    );
    assert_eq!(
        raw["slowloris"]["closed"], true,
        "a half-sent request head is dropped: {raw}"
    );

    assert!(
        t.unexpected.is_empty(),
        "accepted where upstream refuses: {:?}",
        t.unexpected
    );
    println!(
        "requests tried: {}, unexpected accepts: {}",
        t.tried,
        t.unexpected.len()
    );

    // The controllers still work for everyone: a deleted builder account comes back in another
    // project, and the garbage collector collects there.
    c.kubectl_ok(&["create", "namespace", "other"]);
    wait(
        || {
            c.kubectl(&["-n", "other", "get", "sa", "builder"])
                .status
                .success()
        },
        "builder account",
    );
    c.kubectl_ok(&["-n", "other", "delete", "sa", "builder"]);
    wait(
        || {
            c.kubectl(&["-n", "other", "get", "sa", "builder"])
                .status
                .success()
        },
        "builder account recreated",
    );
    c.kubectl_ok(&["-n", "other", "create", "configmap", "owner"]);
    let uid = c.kubectl_ok(&[
        "-n",
        "other",
        "get",
        "configmap",
        "owner",
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    let dependent = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dependent", "namespace": "other",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]}});
    let file = c.file("dependent.json", &dependent.to_string());
    c.kubectl_ok(&["create", "-f", &file]);
    c.kubectl_ok(&["-n", "other", "delete", "configmap", "owner"]);
    wait(
        || {
            !c.kubectl(&["-n", "other", "get", "configmap", "dependent"])
                .status
                .success()
        },
        "dependent collected",
    );

    // No secret in the log: a secret's value, plain or encoded, never appears.
    let secret = "hostile-tenant-secret-value";
    let encoded = base64_of(secret);
    c.kubectl_ok(&[
        "-n",
        "hostile",
        "create",
        "secret",
        "generic",
        "s",
        &format!("--from-literal=k={secret}"),
    ]);
    c.kubectl_ok(&["get", "secrets", "-A"]);
    let log = c.log();
    assert!(
        !log.contains(secret) && !log.contains(&encoded),
        "secret bytes in the server log"
    );
    println!("controllers broken by a tenant: 0, secret bytes in logs: 0");

    // /metrics as promtool reads it: only upstream's own names are linted.
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (hack/setup.sh installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let upstream_names = [
        "openshift_auth_basic_password_count ",
        "openshift_auth_form_password_count ",
        "openshift_auth_password_total ",
    ];
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            upstream_names.iter().any(|n| line.starts_with(n)),
            "promtool: {line}\n{report}"
        );
    }
    for name in [
        "apiserver_request_total",
        "apiserver_request_duration_seconds_bucket",
        "apiserver_current_inflight_requests",
        "apiserver_storage_objects",
        "etcd_request_duration_seconds_bucket",
        "apiserver_longrunning_requests",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn wait(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}
