//! The cells of the kinds served since kube 1.32's printers were followed for every built-in
//! kind: each one as upstream's printer writes it for the same object.

use serde_json::{Value, json};

use super::cell;

/// The cells of one object of `group/version` `plural`, at a fixed time.
fn cells(group: &str, version: &str, plural: &str, obj: Value) -> Vec<Value> {
    let scheme = api::Scheme::builtin();
    let def = scheme.lookup(group, version, plural).expect("served");
    let now = "2024-01-01T01:00:00Z"
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_second();
    def.printer_columns()
        .iter()
        .map(|c| cell(c, &obj, now))
        .collect()
}

fn headers(group: &str, version: &str, plural: &str) -> Vec<(&'static str, u8)> {
    let scheme = api::Scheme::builtin();
    let def = scheme.lookup(group, version, plural).expect("served");
    def.printer_columns()
        .iter()
        .map(|c| (c.name, c.priority))
        .collect()
}

const CREATED: &str = "2024-01-01T00:00:00Z";

#[test]
fn workload_cells() {
    let template = json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "nginx"}]}});
    let sts = cells(
        "apps",
        "v1",
        "statefulsets",
        json!({"metadata": {"name": "web", "creationTimestamp": CREATED},
            "spec": {"replicas": 3, "template": template}, "status": {"readyReplicas": 1}}),
    );
    assert_eq!(
        sts,
        [
            json!("web"),
            json!("1/3"),
            json!("60m"),
            json!("c"),
            json!("nginx")
        ]
    );
    let ds = cells(
        "apps",
        "v1",
        "daemonsets",
        json!({"metadata": {"name": "agent", "creationTimestamp": CREATED},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template},
            "status": {"desiredNumberScheduled": 2, "numberReady": 1}}),
    );
    assert_eq!(
        ds[1..8],
        [
            json!(2),
            json!(0),
            json!(1),
            json!(0),
            json!(0),
            json!("disk=ssd"),
            json!("60m")
        ]
    );
    assert_eq!(ds[10], json!("app=web"));
    let no_selector = cells(
        "apps",
        "v1",
        "daemonsets",
        json!({"metadata": {"name": "a"}}),
    );
    assert_eq!(no_selector[6], json!("<none>"));
    let revision = cells(
        "apps",
        "v1",
        "controllerrevisions",
        json!({"metadata": {"name": "web-5d8", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]},
            "revision": 2}),
    );
    assert_eq!(revision[1..3], [json!("statefulset.apps/web"), json!(2)]);
    let orphan = cells(
        "apps",
        "v1",
        "controllerrevisions",
        json!({"metadata": {"name": "r"}}),
    );
    assert_eq!(orphan[1], json!("<none>"));
    let cron = cells(
        "batch",
        "v1",
        "cronjobs",
        json!({"metadata": {"name": "tick", "creationTimestamp": CREATED},
            "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {"template": template}}},
            "status": {"active": [{"name": "tick-1"}], "lastScheduleTime": "2024-01-01T00:55:00Z"}}),
    );
    assert_eq!(
        cron[1..7],
        [
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("5m"),
            json!("60m")
        ]
    );
    assert_eq!(cron[7..], [json!("c"), json!("nginx"), json!("<none>")]);
    let never = cells(
        "batch",
        "v1",
        "cronjobs",
        json!({"metadata": {"name": "t"}, "spec": {"timeZone": "Etc/UTC"}}),
    );
    assert_eq!(
        never[2..6],
        [
            json!("Etc/UTC"),
            json!("<unset>"),
            json!(0),
            json!("<none>")
        ]
    );
    let pt = cells(
        "",
        "v1",
        "podtemplates",
        json!({"metadata": {"name": "pt"}, "template": template}),
    );
    assert_eq!(
        pt,
        [json!("pt"), json!("c"), json!("nginx"), json!("app=web")]
    );
}

#[test]
fn budget_and_autoscaler_cells() {
    let pdb = cells(
        "policy",
        "v1",
        "poddisruptionbudgets",
        json!({"metadata": {"name": "b"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}),
    );
    assert_eq!(pdb[1..4], [json!("50%"), json!("N/A"), json!(1)]);
    let hpa = cells(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        json!({"metadata": {"name": "web"}, "spec": {"maxReplicas": 5, "minReplicas": 1,
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
    );
    assert_eq!(
        hpa[1..6],
        [
            json!("Deployment/web"),
            json!("cpu: <unknown>/80%"),
            json!("1"),
            json!(5),
            json!(0)
        ]
    );
    assert_eq!(
        headers("autoscaling", "v2", "horizontalpodautoscalers"),
        [
            ("Name", 0),
            ("Reference", 0),
            ("Targets", 0),
            ("MinPods", 0),
            ("MaxPods", 0),
            ("Replicas", 0),
            ("Age", 0)
        ]
    );
}

#[test]
fn networking_cells() {
    let ing = cells(
        "networking.k8s.io",
        "v1",
        "ingresses",
        json!({"metadata": {"name": "web"}, "spec": {"ingressClassName": "nginx",
            "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"}, {"host": "d.example.com"}],
            "tls": [{"hosts": ["a.example.com"]}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example.com"}]}}}),
    );
    assert_eq!(
        ing[1..5],
        [
            json!("nginx"),
            json!("a.example.com,b.example.com,c.example.com + 2 more..."),
            json!("10.0.0.2,lb.example.com"),
            json!("80, 443")
        ]
    );
    let bare = cells(
        "networking.k8s.io",
        "v1",
        "ingresses",
        json!({"metadata": {"name": "x"}}),
    );
    assert_eq!(
        bare[1..5],
        [json!("<none>"), json!("*"), json!(""), json!("80")]
    );
    let class = cells(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        json!({"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}}),
    );
    assert_eq!(
        class[1..3],
        [
            json!("k8s.io/ingress-nginx"),
            json!("IngressParameters.k8s.example.com/p")
        ]
    );
    let netpol = cells(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}}}),
    );
    assert_eq!(netpol[1], json!("<none>"));
}

#[test]
fn cluster_cells() {
    let sc = cells(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        json!({"metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "csi.example.com"}),
    );
    assert_eq!(
        sc[..5],
        [
            json!("fast (default)"),
            json!("csi.example.com"),
            json!("Delete"),
            json!("Immediate"),
            json!(false)
        ]
    );
    let pc = cells(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        json!({"metadata": {"name": "high", "creationTimestamp": CREATED}, "value": 1000, "preemptionPolicy": "Never"}),
    );
    assert_eq!(
        pc,
        [
            json!("high"),
            json!(1000),
            json!(false),
            json!("60m"),
            json!("Never")
        ]
    );
    let driver = cells(
        "storage.k8s.io",
        "v1",
        "csidrivers",
        json!({"metadata": {"name": "d"}, "spec": {"tokenRequests": [{"audience": "a"}, {"audience": "b"}]}}),
    );
    assert_eq!(
        driver[1..7],
        [
            json!(true),
            json!(false),
            json!(false),
            json!("a,b"),
            json!(false),
            json!("<none>")
        ]
    );
    let capacity = cells(
        "storage.k8s.io",
        "v1",
        "csistoragecapacities",
        json!({"metadata": {"name": "c"}, "storageClassName": "fast"}),
    );
    assert_eq!(capacity, [json!("c"), json!("fast"), json!("<unset>")]);
    let attachment = cells(
        "storage.k8s.io",
        "v1",
        "volumeattachments",
        json!({"metadata": {"name": "va"}, "spec": {"attacher": "csi.example.com", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}}),
    );
    assert_eq!(
        attachment[1..5],
        [
            json!("csi.example.com"),
            json!("pv1"),
            json!("n1"),
            json!(true)
        ]
    );
    let fs = cells(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "flowschemas",
        json!({"metadata": {"name": "f"}, "spec": {"priorityLevelConfiguration": {"name": "global-default"},
            "matchingPrecedence": 9900, "distinguisherMethod": {"type": "ByUser"}},
            "status": {"conditions": [{"type": "Dangling", "status": "False"}]}}),
    );
    assert_eq!(
        [&fs[1], &fs[2], &fs[3], &fs[5]],
        [
            &json!("global-default"),
            &json!(9900),
            &json!("ByUser"),
            &json!("False")
        ]
    );
    let pl = cells(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "prioritylevelconfigurations",
        json!({"metadata": {"name": "exempt"}, "spec": {"type": "Exempt"}}),
    );
    assert_eq!(
        pl[1..6],
        [
            json!("Exempt"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>"),
            json!("<none>")
        ]
    );
}
