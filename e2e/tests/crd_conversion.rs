//! Versions of a custom resource as kubectl 1.32 reads them: a definition serving v1beta1 and
//! v1 (stored), used by alice (a project admin after `oc login`, granted the resource through
//! a role aggregated to `admin`). With `conversion: None` an object created in v1beta1 reads
//! in v1 and v1beta1 (`<plural>.<version>.<group>`), and a watch in v1 sees changes made in
//! v1beta1. With a `Webhook` (a small Python server on loopback TLS renaming `spec.colour`
//! to `spec.color`) objects read converted both ways, lists in one review; with the webhook
//! down, reads needing it answer upstream's 500 and nothing is lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use e2e::Cluster;
use e2e::oc::{alice_in_project, cluster_with_alice};
use serde_json::Value;

const ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: gadgets-admin\n  labels:\n    rbac.authorization.k8s.io/aggregate-to-admin: \"true\"\nrules:\n- apiGroups: [example.com]\n  resources: [gadgets]\n  verbs: [\"*\"]\n";

/// The gadgets' definition: v1beta1 served, v1 served and stored, converted by `conversion`.
fn gadget_crd(conversion: &str) -> String {
    format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {{plural: gadgets, singular: gadget, kind: Gadget}}
  conversion:
{conversion}
  versions:
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              colour: {{type: string}}
              size: {{type: integer}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {{type: string}}
              size: {{type: integer}}
"#
    )
}

fn gadget(version: &str, name: &str, field: &str, value: &str) -> String {
    format!(
        "apiVersion: example.com/{version}\nkind: Gadget\nmetadata:\n  name: {name}\nspec:\n  {field}: {value}\n  size: 1\n"
    )
}

/// Runs `probe` until it returns something, failing after 30 s.
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

fn alice_ok(c: &Cluster, kubeconfig: &str, args: &[&str]) -> String {
    let (ok, out, err) = alice(c, kubeconfig, args);
    assert!(ok, "kubectl {args:?} as alice failed: {err}");
    out
}

/// The definition applied and established, and alice able to create gadgets.
fn define(c: &Cluster, kubeconfig: &str, conversion: &str) {
    c.kubectl_ok(&["apply", "-f", &c.file("crd.yaml", &gadget_crd(conversion))]);
    c.kubectl_ok(&["apply", "-f", &c.file("role.yaml", ROLE)]);
    eventually("alice may list gadgets in both versions", || {
        let v1 = alice(c, kubeconfig, &["get", "gadgets.v1.example.com"]).0;
        let beta = alice(c, kubeconfig, &["get", "gadgets.v1beta1.example.com"]).0;
        (v1 && beta).then_some(())
    });
}

fn jsonpath(c: &Cluster, kubeconfig: &str, resource: &str, path: &str) -> String {
    alice_ok(
        c,
        kubeconfig,
        &["get", resource, "-o", &format!("jsonpath={path}")],
    )
}

#[test]
fn conversion_none_serves_an_object_in_every_version() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "versions");
    define(&c, &kubeconfig, "    strategy: None");

    let watch = c.kubectl_watch(&[
        "--kubeconfig",
        &kubeconfig,
        "get",
        "gadgets.v1.example.com",
        "--watch",
        "-o",
        "jsonpath={.apiVersion} {.metadata.name} {.spec.size}{\"\\n\"}",
    ]);
    let created = c.file("g1.yaml", &gadget("v1beta1", "g1", "colour", "red"));
    alice_ok(&c, &kubeconfig, &["create", "-f", &created]);
    assert_eq!(watch.next(), "example.com/v1 g1 1");

    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1.example.com/g1",
            "{.apiVersion} {.spec.colour}"
        ),
        "example.com/v1 red",
        "None rewrites the apiVersion only"
    );
    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1beta1.example.com/g1",
            "{.apiVersion} {.spec.colour}"
        ),
        "example.com/v1beta1 red"
    );
    let listed = alice_ok(
        &c,
        &kubeconfig,
        &["get", "gadgets.v1beta1.example.com", "-o", "json"],
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["items"][0]["apiVersion"], "example.com/v1beta1");

    alice_ok(
        &c,
        &kubeconfig,
        &[
            "patch",
            "gadgets.v1beta1.example.com",
            "g1",
            "--type=merge",
            "-p",
            r#"{"spec":{"size":2}}"#,
        ],
    );
    assert_eq!(
        watch.next(),
        "example.com/v1 g1 2",
        "the watch in v1 sees the v1beta1 change"
    );
    let table = alice_ok(
        &c,
        &kubeconfig,
        &["get", "gadgets.v1beta1.example.com", "--no-headers"],
    );
    assert!(table.starts_with("g1 "), "{table}");
}

/// The conversion webhook server, stopped when dropped.
struct Webhook {
    child: Option<Child>,
    port: u16,
    ca_bundle: String,
    log: std::path::PathBuf,
}

impl Webhook {
    fn start(c: &Cluster) -> Webhook {
        let dir = c.scratch("webhook-pki");
        let pki = auth::pki::Pki::ensure(&dir, &["127.0.0.1".to_string()]).unwrap();
        let log = c.scratch("conversion.log");
        let mut child = Command::new(e2e::python())
            .arg(e2e::e2e_dir().join("python/conversion_webhook.py"))
            .arg(dir.join("serving.crt"))
            .arg(dir.join("serving.key"))
            .env("WEBHOOK_LOG", &log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the conversion webhook");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Webhook {
            child: Some(child),
            port: line.trim().parse().expect("the webhook's port"),
            ca_bundle: base64::engine::general_purpose::STANDARD.encode(&pki.ca.cert_pem),
            log,
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The reviews received, in order.
    fn reviews(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["review"].clone())
            .collect()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn a_conversion_webhook_converts_both_ways_and_its_failure_loses_nothing() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "converted");
    let mut webhook = Webhook::start(&c);
    let conversion = format!(
        "    strategy: Webhook\n    webhook:\n      conversionReviewVersions: [v1]\n      clientConfig:\n        url: https://127.0.0.1:{}/convert\n        caBundle: {}",
        webhook.port, webhook.ca_bundle
    );
    define(&c, &kubeconfig, &conversion);

    let g1 = c.file("g1.yaml", &gadget("v1beta1", "g1", "colour", "red"));
    let created = alice_ok(&c, &kubeconfig, &["create", "-f", &g1, "-o", "json"]);
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["apiVersion"], "example.com/v1beta1");
    assert_eq!(
        created["spec"]["colour"], "red",
        "answered in the version written"
    );
    let g2 = c.file("g2.yaml", &gadget("v1", "g2", "color", "blue"));
    alice_ok(&c, &kubeconfig, &["create", "-f", &g2]);

    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1.example.com/g1",
            "{.apiVersion} {.spec.color}"
        ),
        "example.com/v1 red",
        "stored in v1 through the webhook"
    );
    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1beta1.example.com/g2",
            "{.apiVersion} {.spec.colour}"
        ),
        "example.com/v1beta1 blue"
    );
    let reviews_before = webhook.reviews().len();
    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1beta1.example.com",
            "{range .items[*]}{.metadata.name}={.spec.colour} {end}"
        ),
        "g1=red g2=blue "
    );
    let reviews = webhook.reviews();
    assert_eq!(
        reviews.len(),
        reviews_before + 1,
        "a list is converted in one review"
    );
    let last = &reviews[reviews.len() - 1];
    assert_eq!(last["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(last["request"]["desiredAPIVersion"], "example.com/v1beta1");
    assert_eq!(last["request"]["objects"].as_array().map(Vec::len), Some(2));

    webhook.stop();
    let (ok, _, err) = alice(
        &c,
        &kubeconfig,
        &["get", "gadgets.v1beta1.example.com", "g1"],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "Error from server: conversion webhook for example.com/v1, Kind=Gadget failed: Post \"https://127.0.0.1:{}/convert?timeout=30s\"",
            webhook.port
        )),
        "{err}"
    );
    let g3 = c.file("g3.yaml", &gadget("v1beta1", "g3", "colour", "green"));
    let (ok, _, err) = alice(&c, &kubeconfig, &["create", "-f", &g3]);
    assert!(!ok, "a write needing the webhook is refused");
    assert!(
        err.contains("conversion webhook for example.com/v1beta1, Kind=Gadget failed"),
        "{err}"
    );
    // Nothing was lost: the stored version still reads without the webhook.
    assert_eq!(
        jsonpath(
            &c,
            &kubeconfig,
            "gadgets.v1.example.com",
            "{range .items[*]}{.metadata.name}={.spec.color} {end}"
        ),
        "g1=red g2=blue "
    );
}
