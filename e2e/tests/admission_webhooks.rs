//! Admission webhooks against a real webhook server the test starts (Python, loopback TLS
//! with a CA the test makes): the cluster admin registers the configurations, alice (a
//! project admin after `oc login`) makes the requests they admit. A mutating webhook labels
//! her config maps and warns, a validating one denies some names with its message, a slow
//! one times out (refused under `Fail`, skipped under `Ignore`), and one answering garbage
//! gets upstream's error; the webhook saw who asked, and the metrics counted the calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use e2e::Cluster;
use e2e::oc::{alice_in_project, cluster_with_alice};
use serde_json::{Value, json};

/// The webhook server, stopped when dropped.
struct WebhookServer {
    child: Child,
    port: u16,
    ca_bundle: String,
    log: std::path::PathBuf,
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_webhook(c: &Cluster) -> WebhookServer {
    let dir = c.scratch("webhook-pki");
    let pki = auth::pki::Pki::ensure(&dir, &["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.join("serving.crt"), dir.join("serving.key"));
    let log = c.scratch("webhook.log");
    let mut child = Command::new(e2e::python())
        .arg(e2e::e2e_dir().join("python/admission_webhook.py"))
        .arg(&cert)
        .arg(&key)
        .env("WEBHOOK_LOG", &log)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the webhook server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    WebhookServer {
        child,
        port: line.trim().parse().expect("the webhook's port"),
        ca_bundle: base64::engine::general_purpose::STANDARD.encode(&pki.ca.cert_pem),
        log,
    }
}

/// A webhook on `path` for CREATEs of `resource` in namespace `hooks`.
fn webhook(w: &WebhookServer, name: &str, path: &str, resource: &str, extra: Value) -> Value {
    let mut hook = json!({
        "name": name,
        "clientConfig": {"url": format!("https://127.0.0.1:{}{path}", w.port), "caBundle": w.ca_bundle},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": [resource]}],
        "matchConditions": [{"name": "in-hooks", "expression": "request.namespace == 'hooks'"}],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
    });
    for (k, v) in extra.as_object().unwrap() {
        hook[k] = v.clone();
    }
    hook
}

fn configuration(kind: &str, name: &str, hooks: Vec<Value>) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
        "metadata": {"name": name}, "webhooks": hooks})
}

fn apply(c: &Cluster, obj: &Value) {
    let file = c.file("config.json", &obj.to_string());
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

/// Runs `probe` until it returns something, failing after 30 s (configurations reach the
/// server through its watch, a moment after they are written).
fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn webhooks_mutate_deny_time_out_and_refuse_garbage() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "hooks");
    let w = start_webhook(&c);

    apply(
        &c,
        &configuration(
            "MutatingWebhookConfiguration",
            "label",
            vec![webhook(
                &w,
                "label.hooks.test",
                "/mutate",
                "configmaps",
                json!({}),
            )],
        ),
    );
    apply(
        &c,
        &configuration(
            "ValidatingWebhookConfiguration",
            "deny",
            vec![webhook(
                &w,
                "deny.hooks.test",
                "/deny",
                "configmaps",
                json!({}),
            )],
        ),
    );

    // The mutating webhook labels what alice creates and its warning reaches kubectl.
    let mut n = 0;
    let stderr = eventually("the mutating webhook", || {
        n += 1;
        let name = format!("plain-{n}");
        let (ok, _, stderr) = alice(&c, &kubeconfig, &["create", "configmap", &name]);
        assert!(ok, "{stderr}");
        let (_, label, _) = alice(
            &c,
            &kubeconfig,
            &[
                "get",
                "configmap",
                &name,
                "-o",
                "jsonpath={.metadata.labels.webhook}",
            ],
        );
        (label == "mutated").then_some(stderr)
    });
    assert!(
        stderr.contains("Warning: labelled by the webhook"),
        "{stderr}"
    );

    // The validating webhook's denial, in upstream's words and with its code.
    let mut n = 0;
    let stderr = eventually("the validating webhook", || {
        n += 1;
        let (ok, _, stderr) = alice(
            &c,
            &kubeconfig,
            &["create", "configmap", &format!("deny-{n}")],
        );
        (!ok).then_some(stderr)
    });
    let denied = format!("deny-{n}");
    assert!(
        stderr.contains("admission webhook \"deny.hooks.test\" denied the request: names starting with deny- are refused"),
        "{stderr}"
    );
    // A dry run reaches webhooks without side effects, and is denied the same way.
    let (ok, _, stderr) = alice(
        &c,
        &kubeconfig,
        &["create", "configmap", "deny-again", "--dry-run=server"],
    );
    assert!(!ok && stderr.contains("denied the request"), "{stderr}");

    // What the webhook received: alice, the operation, the namespace, the object.
    let reviews = std::fs::read_to_string(&w.log).unwrap();
    let review: Value = reviews
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| {
            r["path"].as_str().unwrap().starts_with("/deny?")
                && r["request"]["name"] == denied.as_str()
        })
        .unwrap();
    let request = &review["request"];
    assert_eq!(request["userInfo"]["username"], "alice");
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(request["namespace"], "hooks");
    assert_eq!(
        request["kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        request["object"]["metadata"]["labels"]["webhook"],
        "mutated"
    );
    assert_eq!(request["options"]["kind"], "CreateOptions");

    // A webhook that does not answer within its timeout: refused under Fail...
    let slow = |policy: &str| {
        configuration(
            "ValidatingWebhookConfiguration",
            "slow",
            vec![webhook(
                &w,
                "slow.hooks.test",
                "/slow",
                "secrets",
                json!({"timeoutSeconds": 1, "failurePolicy": policy}),
            )],
        )
    };
    apply(&c, &slow("Fail"));
    let mut n = 0;
    let stderr = eventually("the slow webhook to refuse", || {
        n += 1;
        let name = format!("s-{n}");
        let (ok, _, stderr) = alice(
            &c,
            &kubeconfig,
            &["create", "secret", "generic", &name, "--from-literal=a=b"],
        );
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains("Internal error occurred: failed calling webhook \"slow.hooks.test\": failed to call webhook: Post \"https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("/slow?timeout=1s\": context deadline exceeded\n"),
        "{stderr}"
    );
    // ...and skipped under Ignore (after waiting out its timeout).
    apply(&c, &slow("Ignore"));
    let mut n = 0;
    eventually("the slow webhook to fail open", || {
        n += 1;
        let name = format!("t-{n}");
        let started = Instant::now();
        let (ok, _, _) = alice(
            &c,
            &kubeconfig,
            &["create", "secret", "generic", &name, "--from-literal=a=b"],
        );
        (ok && started.elapsed() >= Duration::from_secs(1)).then_some(())
    });

    // A webhook answering garbage.
    apply(
        &c,
        &configuration(
            "ValidatingWebhookConfiguration",
            "garbage",
            vec![webhook(
                &w,
                "garbage.hooks.test",
                "/garbage",
                "services",
                json!({}),
            )],
        ),
    );
    let stderr = eventually("the garbage webhook", || {
        let (ok, _, stderr) = alice(
            &c,
            &kubeconfig,
            &["create", "service", "clusterip", "web", "--tcp=80:8080"],
        );
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains("Internal error occurred: failed calling webhook \"garbage.hooks.test\": received invalid webhook response: "),
        "{stderr}"
    );

    // A webhook may only be called on loopback or the pod network.
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "elsewhere"},
            "webhooks": [{"name": "elsewhere.hooks.test",
                "clientConfig": {"url": "https://192.0.2.1/x", "caBundle": w.ca_bundle},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["serviceaccounts"]}],
                "sideEffects": "None", "admissionReviewVersions": ["v1"]}]}),
    );
    let stderr = eventually("the refused address", || {
        let (ok, _, stderr) = alice(&c, &kubeconfig, &["create", "serviceaccount", "robot"]);
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains("192.0.2.1 is neither a loopback address nor a pod's"),
        "{stderr}"
    );

    // The calls were measured under upstream's names.
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics.contains(
            "apiserver_admission_webhook_admission_duration_seconds_count{name=\"label.hooks.test\",type=\"admit\",operation=\"CREATE\",rejected=\"false\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "apiserver_admission_webhook_rejection_count{name=\"deny.hooks.test\",type=\"validating\",operation=\"CREATE\",error_type=\"no_error\",rejection_code=\"403\"}"
        ),
        "{metrics}"
    );
}
