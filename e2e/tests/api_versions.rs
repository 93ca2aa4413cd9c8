//! Built-in kinds served in two versions, as kubectl 1.32 uses them against kube-apiserver:
//! HorizontalPodAutoscalers in `autoscaling/v1` and `v2` (one object, stored in v2; what v1
//! cannot hold kept in its annotations), driven by a project admin with `kubectl autoscale`,
//! `get`, `patch`, `--watch` and `explain`; Events in core `v1` and `events.k8s.io/v1` (one
//! object under two schemas), through `kubectl events` and `get events.v1.events.k8s.io`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::{Backend, Cluster};
use serde_json::{Value, json};

/// The resource in one version, named in full (kubectl may resolve a short name's version to
/// the preferred one).
const V1: &str = "horizontalpodautoscalers.v1.autoscaling";
const V2: &str = "horizontalpodautoscalers.v2.autoscaling";

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn autoscalers_are_served_in_v1_and_v2() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "scaling"]);
    let alice = c.user_with_role("alice", &[], "admin", "scaling");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "scaling", args);

    let versions = c.kubectl_ok(&["api-versions"]);
    for wanted in ["autoscaling/v1", "autoscaling/v2", "events.k8s.io/v1"] {
        assert!(
            versions.lines().any(|l| l == wanted),
            "{wanted}: {versions}"
        );
    }
    let resources = c.kubectl_ok(&["api-resources", "--api-group=autoscaling", "--no-headers"]);
    assert!(
        resources.contains("autoscaling/v2"),
        "v2 is preferred: {resources}"
    );

    as_alice(&[
        "create",
        "deployment",
        "web",
        "--image=registry.invalid/web:1",
    ]);
    as_alice(&[
        "autoscale",
        "deployment",
        "web",
        "--min=2",
        "--max=5",
        "--cpu-percent=60",
    ]);

    let v1 = parsed(&as_alice(&["get", V1, "web", "-o", "json"]));
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
    assert_eq!(v1["spec"]["minReplicas"], 2);
    let v2 = parsed(&as_alice(&["get", V2, "web", "-o", "json"]));
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}}}])
    );
    // A version named in full is served, in the plural or the singular, and on the path.
    let singular = parsed(&as_alice(&[
        "get",
        "horizontalpodautoscaler.v1.autoscaling",
        "web",
        "-o",
        "json",
    ]));
    assert_eq!(singular["apiVersion"], "autoscaling/v1");
    let raw = parsed(&as_alice(&[
        "get",
        "--raw",
        "/apis/autoscaling/v1/namespaces/scaling/horizontalpodautoscalers/web",
    ]));
    assert_eq!(raw["apiVersion"], "autoscaling/v1");
    // With a short name the version is kubectl's to drop: 1.32's shortcut expander keeps the
    // group and resource only, so `hpa.v1.autoscaling` asks for the preferred version, as it
    // does of kube-apiserver. Whatever path it asks, the object comes in that path's version.
    let short = c.kubectl(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "scaling",
        "get",
        "hpa.v1.autoscaling",
        "web",
        "-o",
        "json",
        "-v=6",
    ]);
    assert!(short.status.success());
    let log = String::from_utf8_lossy(&short.stderr);
    let asked = log
        .split_whitespace()
        .find_map(|w| w.split_once("/apis/autoscaling/"))
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_else(|| panic!("no request of autoscaling in {log}"));
    let served = parsed(&String::from_utf8_lossy(&short.stdout));
    assert_eq!(served["apiVersion"], format!("autoscaling/{asked}"));
    let table = as_alice(&["get", "hpa.v1.autoscaling", "web"]);
    assert!(
        table.starts_with("NAME")
            && table.contains("Deployment/web")
            && table.contains("cpu: <unknown>/60%"),
        "{table}"
    );

    // A v2 autoscaler with what v1 has no field for, changed through v1, keeps it all.
    let memory = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "mem"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "AverageValue", "averageValue": "500Mi"}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}}}});
    as_alice(&["apply", "-f", &c.file("mem.json", &memory.to_string())]);
    let watch = c.kubectl_watch(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "scaling",
        "get",
        V1,
        "mem",
        "--watch",
        "-o",
        r#"jsonpath={.apiVersion} {.spec.maxReplicas}{"\n"}"#,
    ]);
    assert_eq!(watch.next(), "autoscaling/v1 4");
    let v1 = parsed(&as_alice(&["get", V1, "mem", "-o", "json"]));
    let annotations = &v1["metadata"]["annotations"];
    assert!(
        v1["spec"].get("targetCPUUtilizationPercentage").is_none(),
        "{v1}"
    );
    assert!(
        annotations["autoscaling.alpha.kubernetes.io/metrics"]
            .as_str()
            .unwrap()
            .contains(r#""targetAverageValue":"500Mi""#),
        "{v1}"
    );
    assert!(
        annotations["autoscaling.alpha.kubernetes.io/behavior"]
            .as_str()
            .unwrap()
            .contains(r#""StabilizationWindowSeconds":120"#),
        "{v1}"
    );
    as_alice(&[
        "patch",
        V1,
        "mem",
        "--type=merge",
        "-p",
        r#"{"spec":{"maxReplicas":9}}"#,
    ]);
    assert_eq!(watch.next(), "autoscaling/v1 9");
    let v2 = parsed(&as_alice(&["get", V2, "mem", "-o", "json"]));
    assert_eq!(v2["spec"]["maxReplicas"], 9);
    assert_eq!(v2["spec"]["metrics"], memory["spec"]["metrics"]);
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        120
    );
    let kept = v2["metadata"]["annotations"].as_object().unwrap();
    assert!(
        kept.keys()
            .all(|k| !k.starts_with("autoscaling.alpha.kubernetes.io/")),
        "{v2}"
    );

    let selected = as_alice(&[
        "get",
        V1,
        "--field-selector",
        "metadata.name=mem",
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), "horizontalpodautoscaler.autoscaling/mem");

    // Upstream validates the internal version, whichever was written.
    let bad = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 0}});
    let out = c.kubectl(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "scaling",
        "create",
        "-f",
        &c.file("bad.json", &bad.to_string()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("spec.maxReplicas: Invalid value: 0: must be greater than 0"),
        "{stderr}"
    );
    // A v1 CPU target of 0 is refused at the v2 path upstream reports.
    let idle = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "idle"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 2,
            "targetCPUUtilizationPercentage": 0}});
    let err = c.kubectl_err(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "scaling",
        "create",
        "-f",
        &c.file("idle.json", &idle.to_string()),
    ]);
    assert!(
        err.contains(
            "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"
        ),
        "{err}"
    );
    let err = c.kubectl_err(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "scaling",
        "patch",
        V2,
        "mem",
        "--type=merge",
        "-p",
        r#"{"spec":{"behavior":{"scaleUp":{"policies":[{"type":"Pods","value":0,"periodSeconds":15}]}}}}"#,
    ]);
    assert!(
        err.contains(
            "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero"
        ),
        "{err}"
    );

    let explained = as_alice(&[
        "explain",
        "horizontalpodautoscalers.spec.targetCPUUtilizationPercentage",
        "--api-version=autoscaling/v1",
    ]);
    assert!(
        explained.contains("targetCPUUtilizationPercentage"),
        "{explained}"
    );
    // Each version's spec as that version has it.
    let v1_spec = as_alice(&["explain", "hpa.spec", "--api-version=autoscaling/v1"]);
    assert!(
        v1_spec.contains("VERSION:    v1")
            && v1_spec.contains("targetCPUUtilizationPercentage")
            && !v1_spec.contains("behavior"),
        "{v1_spec}"
    );
    let v2_spec = as_alice(&["explain", "hpa.spec", "--api-version=autoscaling/v2"]);
    assert!(
        v2_spec.contains("behavior") && !v2_spec.contains("targetCPUUtilizationPercentage"),
        "{v2_spec}"
    );

    // Both versions' discovery names the resource and its subresources alike.
    for version in ["v1", "v2"] {
        let raw = parsed(&c.kubectl_ok(&["get", "--raw", &format!("/apis/autoscaling/{version}")]));
        assert_eq!(raw["groupVersion"], format!("autoscaling/{version}"));
        let names: Vec<&str> = raw["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "horizontalpodautoscalers",
                "horizontalpodautoscalers/status"
            ],
            "{raw}"
        );
        let hpa = &raw["resources"][0];
        assert_eq!(hpa["kind"], "HorizontalPodAutoscaler", "{raw}");
        assert_eq!(hpa["shortNames"], json!(["hpa"]), "{raw}");
        assert!(hpa["namespaced"].as_bool().unwrap(), "{raw}");
    }

    // What v1 shows as YAML is accepted back as it is, and changes nothing.
    let before = parsed(&as_alice(&["get", V2, "mem", "-o", "json"]));
    let yaml = as_alice(&["get", V1, "mem", "-o", "yaml"]);
    assert!(yaml.starts_with("apiVersion: autoscaling/v1"), "{yaml}");
    as_alice(&["replace", "-f", &c.file("mem.yaml", &yaml)]);
    let after = parsed(&as_alice(&["get", V2, "mem", "-o", "json"]));
    assert_eq!(after["spec"], before["spec"]);
    // kubectl replace records what it sent as the last applied configuration; nothing else
    // among the annotations changes (none of v1's round-trip ones stays behind in v2).
    let others = |o: &Value| {
        let mut a = o["metadata"]["annotations"].clone();
        a.as_object_mut()
            .unwrap()
            .remove("kubectl.kubernetes.io/last-applied-configuration");
        a
    };
    assert_eq!(others(&after), others(&before));
}

#[test]
fn events_are_served_in_both_groups() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "namespace", "news"]);
    let alice = c.user_with_role("alice", &[], "admin", "news");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "news", args);

    let legacy = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "news"},
        "reason": "Started", "message": "Started container web", "type": "Normal",
        "source": {"component": "kubelet"}, "count": 3,
        "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z"});
    as_alice(&["create", "-f", &c.file("legacy.json", &legacy.to_string())]);
    // Project admins read core Events (`kubectl events` lists those); events.k8s.io is
    // granted to no project role, as upstream's.
    let listed = as_alice(&["events"]);
    assert!(
        listed.contains("Started")
            && listed.contains("Pod/web")
            && listed.contains("Started container web"),
        "{listed}"
    );

    let newer = parsed(&c.kubectl_ok(&[
        "get",
        "events.v1.events.k8s.io",
        "web.1",
        "-n",
        "news",
        "-o",
        "json",
    ]));
    assert_eq!(newer["apiVersion"], "events.k8s.io/v1");
    assert_eq!(newer["regarding"]["name"], "web");
    assert_eq!(newer["note"], "Started container web");
    assert_eq!(newer["deprecatedCount"], 3);
    assert_eq!(newer["deprecatedSource"]["component"], "kubelet");

    let reported = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "api.scaled", "namespace": "news"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "example.com/scaler", "reportingInstance": "scaler-1",
        "action": "Scale", "reason": "Scaled", "type": "Normal",
        "regarding": {"kind": "Deployment", "name": "api", "namespace": "news"},
        "note": "scaled to 3"});
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("reported.json", &reported.to_string()),
    ]);
    let core = parsed(&as_alice(&["get", "events", "api.scaled", "-o", "json"]));
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["involvedObject"]["name"], "api");
    assert_eq!(core["reportingComponent"], "example.com/scaler");
    assert_eq!(core["message"], "scaled to 3");

    let selected = c.kubectl_ok(&[
        "get",
        "events.v1.events.k8s.io",
        "-n",
        "news",
        "--field-selector",
        "regarding.name=api",
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), "event.events.k8s.io/api.scaled");
    let table = c.kubectl_ok(&["get", "events.v1.events.k8s.io", "-n", "news"]);
    assert!(
        table.contains("deployment/api")
            && table.contains("pod/web")
            && table.contains("scaled to 3"),
        "{table}"
    );

    let incomplete = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "bad", "namespace": "news"}, "reason": "Scaled", "type": "Normal",
        "regarding": {"kind": "Deployment", "name": "api", "namespace": "news"},
        "reportingController": "example.com/scaler", "reportingInstance": "scaler-1"});
    let err = c.kubectl_err(&["create", "-f", &c.file("bad.json", &incomplete.to_string())]);
    // Without an eventTime the event is old-style: only the eventTime is missing.
    assert!(
        err.contains("eventTime: Required value") && !err.contains("action"),
        "{err}"
    );

    // What a reported event says may not change through events.k8s.io ...
    let err = c.kubectl_err(&[
        "patch",
        "events.v1.events.k8s.io",
        "api.scaled",
        "-n",
        "news",
        "--type=merge",
        "-p",
        r#"{"note":"scaled to 4","reportingInstance":"scaler-2"}"#,
    ]);
    assert!(
        err.contains(r#"message: Invalid value: "scaled to 4": field is immutable"#)
            && err.contains(r#"reportingInstance: Invalid value: "scaler-2": field is immutable"#),
        "{err}"
    );
    // ... while a series may grow.
    c.kubectl_ok(&[
        "patch",
        "events.v1.events.k8s.io",
        "api.scaled",
        "-n",
        "news",
        "--type=merge",
        "-p",
        r#"{"series":{"count":2,"lastObservedTime":"2026-01-01T00:01:00.000000Z"}}"#,
    ]);
    // Core v1 keeps the legacy leniency on updates, but a new-style event names its reporter.
    c.kubectl_ok(&[
        "patch",
        "event",
        "web.1",
        "-n",
        "news",
        "--type=merge",
        "-p",
        r#"{"message":"Started container web again","count":4}"#,
    ]);
    let unnamed = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.2"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "news"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingInstance": "node-1",
        "action": "Start", "reason": "Started", "type": "Normal"});
    let err = c.kubectl_err(&[
        "--kubeconfig",
        alice.as_str(),
        "-n",
        "news",
        "create",
        "-f",
        &c.file("unnamed.json", &unnamed.to_string()),
    ]);
    assert!(err.contains("reportingComponent: Required value"), "{err}");
}
