//! The built-in kinds kube-apiserver 1.32 serves beyond the first ones: discovered with
//! upstream's names, applied by a project admin as RBAC allows, printed with upstream's
//! columns, explained, and sent in protobuf by kubectl's typed commands.

use std::path::Path;

use e2e::{Backend, Cluster};

/// `kubectl api-resources` rows of these kinds in kube-apiserver 1.32: NAME, SHORTNAMES,
/// APIVERSION, NAMESPACED, KIND.
const API_RESOURCES: &[[&str; 5]] = &[
    ["podtemplates", "", "v1", "true", "PodTemplate"],
    [
        "controllerrevisions",
        "",
        "apps/v1",
        "true",
        "ControllerRevision",
    ],
    ["daemonsets", "ds", "apps/v1", "true", "DaemonSet"],
    ["statefulsets", "sts", "apps/v1", "true", "StatefulSet"],
    [
        "horizontalpodautoscalers",
        "hpa",
        "autoscaling/v2",
        "true",
        "HorizontalPodAutoscaler",
    ],
    ["cronjobs", "cj", "batch/v1", "true", "CronJob"],
    [
        "flowschemas",
        "",
        "flowcontrol.apiserver.k8s.io/v1",
        "false",
        "FlowSchema",
    ],
    [
        "prioritylevelconfigurations",
        "",
        "flowcontrol.apiserver.k8s.io/v1",
        "false",
        "PriorityLevelConfiguration",
    ],
    [
        "ingressclasses",
        "",
        "networking.k8s.io/v1",
        "false",
        "IngressClass",
    ],
    [
        "ingresses",
        "ing",
        "networking.k8s.io/v1",
        "true",
        "Ingress",
    ],
    [
        "networkpolicies",
        "netpol",
        "networking.k8s.io/v1",
        "true",
        "NetworkPolicy",
    ],
    [
        "runtimeclasses",
        "",
        "node.k8s.io/v1",
        "false",
        "RuntimeClass",
    ],
    [
        "poddisruptionbudgets",
        "pdb",
        "policy/v1",
        "true",
        "PodDisruptionBudget",
    ],
    [
        "priorityclasses",
        "pc",
        "scheduling.k8s.io/v1",
        "false",
        "PriorityClass",
    ],
    ["csidrivers", "", "storage.k8s.io/v1", "false", "CSIDriver"],
    ["csinodes", "", "storage.k8s.io/v1", "false", "CSINode"],
    [
        "csistoragecapacities",
        "",
        "storage.k8s.io/v1",
        "true",
        "CSIStorageCapacity",
    ],
    [
        "storageclasses",
        "sc",
        "storage.k8s.io/v1",
        "false",
        "StorageClass",
    ],
    [
        "volumeattachments",
        "",
        "storage.k8s.io/v1",
        "false",
        "VolumeAttachment",
    ],
    [
        "apiservices",
        "",
        "apiregistration.k8s.io/v1",
        "false",
        "APIService",
    ],
];

/// A printed table as rows of cells, cut where the header's columns start (cells may hold
/// single spaces, or be empty).
fn table(out: &str) -> Vec<Vec<String>> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    let mut starts = vec![0];
    let bytes = header.as_bytes();
    for i in 2..bytes.len() {
        if bytes[i] != b' ' && bytes[i - 1] == b' ' && bytes[i - 2] == b' ' {
            starts.push(i);
        }
    }
    std::iter::once(header)
        .chain(lines)
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(n, &start)| {
                    let end = starts.get(n + 1).copied().unwrap_or(line.len());
                    line.get(start.min(line.len())..end.min(line.len()))
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                })
                .collect()
        })
        .collect()
}

/// What `kubectl get` printed for one object: the header and its row, the age left out
/// (checked to be one).
fn printed(out: &str) -> (Vec<String>, Vec<String>) {
    let rows = table(out);
    assert_eq!(rows.len(), 2, "{out}");
    let (header, mut row) = (rows[0].clone(), rows[1].clone());
    let age = header.iter().position(|h| h == "AGE").expect("AGE column");
    let value = row.remove(age);
    assert!(
        value.ends_with('s') || value.ends_with('m'),
        "age {value} in {out}"
    );
    (header, row)
}

fn as_alice(c: &Cluster, alice: &Path, args: &[&str]) -> String {
    let mut all = vec!["--kubeconfig", alice.to_str().unwrap(), "-n", "team"];
    all.extend_from_slice(args);
    let out = c.kubectl(&all);
    assert!(
        out.status.success(),
        "alice: kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const NAMESPACED: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  # Once a year: no job comes due while the columns are read.
  schedule: "5 4 1 1 *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: tick, image: busybox}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: nginx
  tls: [{hosts: [web.example.com]}]
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-only}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{ports: [{port: 53}]}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}
  maxReplicas: 3
"#;

const CLUSTER_SCOPED: &str = r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: csi.example.com
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
"#;

#[test]
fn builtin_kinds_are_discovered_applied_and_printed_as_upstream() {
    let c = Cluster::start(Backend::Embedded);

    // Discovery: every row as kube-apiserver 1.32 lists it.
    let resources = c.kubectl_ok(&["api-resources"]);
    for expected in API_RESOURCES {
        let row = resources
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.first() == Some(&expected[0]))
            .unwrap_or_else(|| panic!("{} not listed:\n{resources}", expected[0]));
        let want: Vec<&str> = expected.iter().copied().filter(|c| !c.is_empty()).collect();
        assert_eq!(row, want, "api-resources row of {}", expected[0]);
    }
    let versions = c.kubectl_ok(&["api-versions"]);
    for gv in [
        "autoscaling/v2",
        "flowcontrol.apiserver.k8s.io/v1",
        "networking.k8s.io/v1",
        "node.k8s.io/v1",
        "policy/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
    ] {
        assert!(versions.lines().any(|l| l == gv), "{gv}:\n{versions}");
    }

    // A project admin applies the namespaced kinds; the cluster's admin the others.
    c.kubectl_ok(&["create", "namespace", "team"]);
    let alice = c.user_with_role("alice", &[], "admin", "team");
    let applied = as_alice(
        &c,
        &alice,
        &["apply", "-f", &c.file("namespaced.yaml", NAMESPACED)],
    );
    for created in [
        "statefulset.apps/web created",
        "daemonset.apps/agent created",
        "cronjob.batch/tick created",
        "ingress.networking.k8s.io/web created",
        "networkpolicy.networking.k8s.io/web-only created",
        "poddisruptionbudget.policy/web created",
        "horizontalpodautoscaler.autoscaling/web created",
    ] {
        assert!(applied.contains(created), "{applied}");
    }
    let denied = c.kubectl(&[
        "--kubeconfig",
        alice.to_str().unwrap(),
        "apply",
        "-f",
        &c.file("cluster.yaml", CLUSTER_SCOPED),
    ]);
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains(
            "User \"alice\" cannot create resource \"storageclasses\" in API group \"storage.k8s.io\" at the cluster scope"
        ),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    c.kubectl_ok(&["apply", "-f", &c.file("cluster.yaml", CLUSTER_SCOPED)]);

    // Upstream's columns and cells (ages aside).
    let s = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    for (resource, header, row) in [
        (
            "statefulset/web",
            s(&["NAME", "READY", "AGE"]),
            s(&["web", "0/2"]),
        ),
        (
            "daemonset/agent",
            s(&[
                "NAME",
                "DESIRED",
                "CURRENT",
                "READY",
                "UP-TO-DATE",
                "AVAILABLE",
                "NODE SELECTOR",
                "AGE",
            ]),
            s(&["agent", "0", "0", "0", "0", "0", "<none>"]),
        ),
        (
            "cronjob/tick",
            s(&[
                "NAME",
                "SCHEDULE",
                "TIMEZONE",
                "SUSPEND",
                "ACTIVE",
                "LAST SCHEDULE",
                "AGE",
            ]),
            s(&["tick", "5 4 1 1 *", "<none>", "False", "0", "<none>"]),
        ),
        (
            "ingress/web",
            s(&["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]),
            s(&["web", "nginx", "web.example.com", "", "80, 443"]),
        ),
        (
            "networkpolicy/web-only",
            s(&["NAME", "POD-SELECTOR", "AGE"]),
            s(&["web-only", "app=web"]),
        ),
        (
            "pdb/web",
            s(&[
                "NAME",
                "MIN AVAILABLE",
                "MAX UNAVAILABLE",
                "ALLOWED DISRUPTIONS",
                "AGE",
            ]),
            s(&["web", "1", "N/A", "0"]),
        ),
        (
            "hpa/web",
            s(&[
                "NAME",
                "REFERENCE",
                "TARGETS",
                "MINPODS",
                "MAXPODS",
                "REPLICAS",
                "AGE",
            ]),
            s(&[
                "web",
                "StatefulSet/web",
                "cpu: <unknown>/80%",
                "1",
                "3",
                "0",
            ]),
        ),
    ] {
        let (got_header, got_row) = printed(&as_alice(&c, &alice, &["get", resource]));
        assert_eq!(got_header, header, "{resource}");
        assert_eq!(got_row, row, "{resource}");
    }
    let (header, row) = printed(&c.kubectl_ok(&["get", "storageclass", "fast"]));
    assert_eq!(
        (header, row),
        (
            s(&[
                "NAME",
                "PROVISIONER",
                "RECLAIMPOLICY",
                "VOLUMEBINDINGMODE",
                "ALLOWVOLUMEEXPANSION",
                "AGE"
            ]),
            s(&[
                "fast (default)",
                "csi.example.com",
                "Delete",
                "Immediate",
                "false"
            ])
        )
    );
    let (header, row) = printed(&c.kubectl_ok(&["get", "pc", "high"]));
    assert_eq!(
        (header, row),
        (
            s(&["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]),
            s(&["high", "1000", "false", "PreemptLowerPriority"])
        )
    );
    let wide = table(&as_alice(&c, &alice, &["get", "cj", "tick", "-o", "wide"]));
    assert_eq!(wide[0][7..], s(&["CONTAINERS", "IMAGES", "SELECTOR"]));
    assert_eq!(wide[1][7..], s(&["tick", "busybox", "<none>"]));

    // Upstream's defaults were applied on the way in.
    let defaults = as_alice(
        &c,
        &alice,
        &[
            "get",
            "sts/web",
            "ds/agent",
            "cj/tick",
            "netpol/web-only",
            "-o",
            "jsonpath={.items[0].spec.podManagementPolicy} {.items[0].spec.updateStrategy.rollingUpdate.partition} {.items[1].spec.updateStrategy.rollingUpdate.maxUnavailable} {.items[2].spec.concurrencyPolicy} {.items[2].spec.successfulJobsHistoryLimit} {.items[3].spec.policyTypes}",
        ],
    );
    assert_eq!(defaults, r#"OrderedReady 0 1 Allow 3 ["Ingress","Egress"]"#);

    // Upstream's rules: a schedule that does not parse, a selector that may not change.
    let bad = c.kubectl(&[
        "--kubeconfig",
        alice.to_str().unwrap(),
        "-n",
        "team",
        "patch",
        "cj/tick",
        "-p",
        r#"{"spec":{"schedule":"every minute"}}"#,
    ]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains(
            r#"spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]"#
        ),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let frozen = c.kubectl(&[
        "-n",
        "team",
        "patch",
        "sts/web",
        "-p",
        r#"{"spec":{"serviceName":"other"}}"#,
    ]);
    assert!(
        String::from_utf8_lossy(&frozen.stderr)
            .contains("Forbidden: updates to statefulset spec for fields other than"),
        "{}",
        String::from_utf8_lossy(&frozen.stderr)
    );

    // The scale subresource, and kubectl's explain from the OpenAPI documents.
    as_alice(&c, &alice, &["scale", "sts/web", "--replicas=3"]);
    assert_eq!(
        as_alice(
            &c,
            &alice,
            &["get", "sts/web", "-o", "jsonpath={.spec.replicas}"]
        ),
        "3"
    );
    let explain = c.kubectl_ok(&["explain", "statefulset.spec.replicas"]);
    assert!(
        explain.contains("KIND:       StatefulSet")
            && explain.contains("FIELD: replicas <integer>"),
        "{explain}"
    );

    // kubectl's typed commands send protobuf (and its describers ask for it).
    for args in [
        &[
            "create",
            "cronjob",
            "nightly",
            "--image=busybox",
            "--schedule=0 3 * * *",
        ][..],
        &[
            "create",
            "pdb",
            "agent",
            "--selector=app=agent",
            "--max-unavailable=1",
        ],
        &[
            "create",
            "ingress",
            "api",
            "--rule=api.example.com/v1*=api:8080",
        ],
    ] {
        let out = as_alice(&c, &alice, args);
        assert!(out.ends_with(" created\n"), "{args:?}: {out}");
    }
    c.kubectl_ok(&[
        "create",
        "priorityclass",
        "low",
        "--value=10",
        "--description=batch",
    ]);
    assert_eq!(
        as_alice(
            &c,
            &alice,
            &[
                "get",
                "cj/nightly",
                "pdb/agent",
                "ing/api",
                "-o",
                "jsonpath={.items[0].spec.schedule} {.items[1].spec.maxUnavailable} {.items[2].spec.rules[0].http.paths[0].pathType} {.items[2].spec.rules[0].http.paths[0].backend.service.port.number}",
            ],
        ),
        "0 3 * * * 1 Prefix 8080"
    );
    let (_, row) = printed(&c.kubectl_ok(&["get", "pc", "low"]));
    assert_eq!(row, s(&["low", "10", "false", "PreemptLowerPriority"]));
    let described = as_alice(&c, &alice, &["describe", "cronjob", "nightly"]);
    assert!(
        described.contains("Schedule:") && described.contains("0 3 * * *"),
        "{described}"
    );
    for (kind, line) in [
        ("statefulset/web", "Replicas:"),
        ("daemonset/agent", "Selector:"),
        ("hpa/web", "Reference:"),
        ("pdb/web", "Min available:"),
        ("ingress/web", "Ingress Class:"),
        ("networkpolicy/web-only", "PodSelector:"),
    ] {
        let described = as_alice(&c, &alice, &["describe", kind]);
        assert!(described.contains(line), "{kind}: {described}");
    }
    // `all` takes in the workload kinds, as upstream's categories say.
    let all = as_alice(&c, &alice, &["get", "all", "-o", "name"]);
    for name in [
        "statefulset.apps/web",
        "daemonset.apps/agent",
        "cronjob.batch/tick",
        "horizontalpodautoscaler.autoscaling/web",
    ] {
        assert!(all.lines().any(|l| l == name), "{name} in {all}");
    }
}
