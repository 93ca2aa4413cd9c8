//! StatefulSets as a project admin drives them, with real containers: pods `<set>-<ordinal>`
//! created one at a time, each with its own claim of the default class, the data of a pod
//! kept for the pod that replaces it, scale down from the highest ordinal with the claims
//! kept, and a template change rolled out through a new ControllerRevision.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use e2e::Cluster;
use e2e::oc::same_as_kubectl;
use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::wait_until;

const WAIT: Duration = Duration::from_secs(150);

/// Each pod records the uid of the first pod that used its claim, and says whether it found
/// one already there.
const SCRIPT: &str = "if [ -f /data/first ]; then echo found $(cat /data/first); \
    else echo $POD_UID > /data/first; echo created; fi; exec sleep 3600";

fn stateful_set(image: &str, replicas: i32, version: &str) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": replicas,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{
                        "name": "main", "image": image,
                        "command": ["/bin/busybox", "sh", "-c", SCRIPT],
                        "env": [
                            {"name": "POD_UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                            {"name": "VERSION", "value": version},
                        ],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "16Mi"}}},
            }],
        },
    })
    .to_string()
}

/// The messages of the set's events, in the order they were recorded (their names end with
/// the time in hex nanoseconds).
fn set_events(c: &Cluster, kubeconfig: &str) -> Vec<String> {
    let out = c.kubectl_ok(&[
        "--kubeconfig",
        kubeconfig,
        "-n",
        "shelf",
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=db",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.message}{\"\\n\"}{end}",
    ]);
    let mut events: Vec<(u128, String)> = out
        .lines()
        .filter_map(|l| {
            let (name, message) = l.split_once(' ')?;
            let nanos = u128::from_str_radix(name.rsplit('.').next()?, 16).ok()?;
            Some((nanos, message.to_string()))
        })
        .collect();
    events.sort();
    events.into_iter().map(|(_, m)| m).collect()
}

#[test]
fn a_stateful_set_keeps_its_pods_identities_and_data() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_stateful_set_keeps_its_pods_identities_and_data: {why}");
        return;
    }
    let worker = PodmanCluster::start("shelfnode", "10.128.210.0/23", &["1"]);
    let c = &worker.cluster;
    let image = &worker.images[0];
    c.kubectl_ok(&["create", "namespace", "shelf"]);
    let alice = c.user_with_role("alice", &[], "admin", "shelf");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "shelf", args);
    let get = |what: &str, path: &str| as_alice(&["get", what, "-o", &format!("jsonpath={path}")]);

    // Three pods, one after the other: each is created once the one before is ready.
    let started = Instant::now();
    as_alice(&[
        "create",
        "-f",
        &c.file("db.json", &stateful_set(image, 3, "1")),
    ]);
    let rollout = as_alice(&["rollout", "status", "statefulset/db", "--timeout=150s"]);
    assert!(
        rollout.contains("partitioned roll out complete: 3 new pods have been updated"),
        "{rollout}"
    );
    eprintln!(
        "statefulset db: 3 real pods ready in {:?}",
        started.elapsed()
    );
    for (before, after) in [("db-0", "db-1"), ("db-1", "db-2")] {
        let ready = get(
            &format!("pod/{before}"),
            r#"{.status.conditions[?(@.type=="Ready")].lastTransitionTime}"#,
        );
        let created = get(&format!("pod/{after}"), "{.metadata.creationTimestamp}");
        assert!(
            created >= ready,
            "{after} created at {created}, {before} ready at {ready}"
        );
    }
    let events = set_events(c, &alice);
    let creations: Vec<&String> = events.iter().filter(|m| m.starts_with("create")).collect();
    assert_eq!(
        creations,
        [
            "create Claim data-db-0 Pod db-0 in StatefulSet db success",
            "create Pod db-0 in StatefulSet db successful",
            "create Claim data-db-1 Pod db-1 in StatefulSet db success",
            "create Pod db-1 in StatefulSet db successful",
            "create Claim data-db-2 Pod db-2 in StatefulSet db success",
            "create Pod db-2 in StatefulSet db successful",
        ]
    );

    // Identities: upstream's labels, the revision of the status, a claim per pod, bound.
    let revision = get("statefulset/db", "{.status.updateRevision}");
    assert!(revision.starts_with("db-"), "{revision}");
    assert_eq!(
        get(
            "pod/db-1",
            "{.metadata.labels.statefulset\\.kubernetes\\.io/pod-name} {.metadata.labels.apps\\.kubernetes\\.io/pod-index} {.metadata.labels.controller-revision-hash} {.spec.hostname} {.spec.subdomain}"
        ),
        format!("db-1 1 {revision} db-1 db")
    );
    let status = get(
        "statefulset/db",
        "{.status.replicas} {.status.readyReplicas} {.status.currentReplicas} {.status.updatedReplicas} {.status.availableReplicas} {.status.currentRevision} {.status.observedGeneration}",
    );
    assert_eq!(status, format!("3 3 3 3 3 {revision} 1"));
    let claims = get(
        "pvc",
        "{range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}",
    );
    let claims: Vec<&str> = claims.lines().collect();
    assert_eq!(
        claims,
        ["data-db-0=Bound", "data-db-1=Bound", "data-db-2=Bound"]
    );
    assert_eq!(
        get(
            "pod/db-0",
            "{.spec.volumes[0].persistentVolumeClaim.claimName}"
        ),
        "data-db-0"
    );

    // db-0 deleted comes back under the same name and finds what its predecessor wrote.
    let first_uid = get("pod/db-0", "{.metadata.uid}");
    let logs = as_alice(&["logs", "db-0"]);
    assert_eq!(logs, "created\n");
    as_alice(&["delete", "pod", "db-0", "--wait=false"]);
    wait_until("db-0 back and reading its claim", WAIT, || {
        let uid = c.kubectl(&[
            "--kubeconfig",
            &alice,
            "-n",
            "shelf",
            "get",
            "pod",
            "db-0",
            "-o",
            "jsonpath={.metadata.uid} {.status.phase}",
        ]);
        let uid = String::from_utf8_lossy(&uid.stdout).into_owned();
        if uid.starts_with(&first_uid) || !uid.ends_with("Running") {
            return None;
        }
        let logs = c.kubectl(&["--kubeconfig", &alice, "-n", "shelf", "logs", "db-0"]);
        let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
        (!logs.is_empty()).then_some(logs)
    });
    assert_eq!(as_alice(&["logs", "db-0"]), format!("found {first_uid}\n"));

    // Scaled to one: db-2 goes first, then db-1; their claims stay (Retain).
    as_alice(&["scale", "statefulset", "db", "--replicas=1"]);
    wait_until("one pod left", WAIT, || {
        let pods = get("pods", "{.items[*].metadata.name}");
        let status = get(
            "statefulset/db",
            "{.status.replicas} {.status.readyReplicas}",
        );
        assert!(
            !pods.contains("db-2") || pods.contains("db-1"),
            "db-1 went before db-2: {pods}"
        );
        (pods == "db-0" && status == "1 1").then_some(())
    });
    let deletions: Vec<String> = set_events(c, &alice)
        .into_iter()
        .filter(|m| m.starts_with("delete"))
        .collect();
    assert_eq!(
        deletions,
        [
            "delete Pod db-2 in StatefulSet db successful",
            "delete Pod db-1 in StatefulSet db successful",
        ]
    );
    assert_eq!(
        get("pvc", "{.items[*].metadata.name}"),
        "data-db-0 data-db-1 data-db-2"
    );

    // A new template: a second revision, the pod replaced by one of it, still with its data.
    as_alice(&[
        "apply",
        "-f",
        &c.file("db2.json", &stateful_set(image, 1, "2")),
    ]);
    let rollout = as_alice(&["rollout", "status", "statefulset/db", "--timeout=150s"]);
    assert!(
        rollout.contains("partitioned roll out complete"),
        "{rollout}"
    );
    let updated = get("statefulset/db", "{.status.updateRevision}");
    assert_ne!(updated, revision);
    wait_until("the update settled", WAIT, || {
        let s = get(
            "statefulset/db",
            "{.status.currentRevision} {.status.updatedReplicas} {.status.readyReplicas}",
        );
        (s == format!("{updated} 1 1")).then_some(())
    });
    assert_eq!(
        get(
            "pod/db-0",
            "{.metadata.labels.controller-revision-hash} {.spec.containers[0].env[1].value}"
        ),
        format!("{updated} 2")
    );
    let revisions = get(
        "controllerrevisions",
        "{range .items[*]}{.revision}:{.metadata.name} {end}",
    );
    let mut revisions: Vec<&str> = revisions.split_whitespace().collect();
    revisions.sort();
    assert_eq!(revisions, [format!("1:{revision}"), format!("2:{updated}")]);
    wait_until("the new db-0 reading its claim", WAIT, || {
        let logs = c.kubectl(&["--kubeconfig", &alice, "-n", "shelf", "logs", "db-0"]);
        let logs = String::from_utf8_lossy(&logs.stdout).into_owned();
        (!logs.is_empty()).then_some(logs)
    });
    assert_eq!(as_alice(&["logs", "db-0"]), format!("found {first_uid}\n"));

    // `oc rollout status` prints kubectl's line.
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    same_as_kubectl(
        c,
        &home,
        &alice,
        &["-n", "shelf", "rollout", "status", "statefulset/db"],
    );
}
