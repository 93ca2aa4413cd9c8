//! Persistent storage as a project admin drives it: claims bound to static volumes by the
//! binder (the smallest that fits, one claim per volume however they race), released volumes
//! kept or removed by their policy, impossible claims left Pending with upstream's events;
//! and, with real containers, a claim of the default class provisioned on the pod's node,
//! its data kept across pods, the claim protected while a pod uses it, and its directory
//! removed when it goes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use e2e::real_pods::{PodmanCluster, real_pods_unavailable};
use e2e::wait_until;
use e2e::{Backend, Cluster};

const WAIT: Duration = Duration::from_secs(120);

/// A project `ns` and a kubeconfig of its admin `alice`.
fn project_admin(c: &Cluster, ns: &str) -> String {
    c.kubectl_ok(&["create", "namespace", ns]);
    let alice = c.user_with_role("alice", &[], "admin", ns);
    alice.to_str().unwrap().to_string()
}

fn claim(name: &str, size: &str, class: Option<&str>) -> String {
    let class = class
        .map(|c| format!("  storageClassName: \"{c}\"\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\nspec:\n  accessModes: [ReadWriteOnce]\n{class}  resources:\n    requests:\n      storage: {size}\n"
    )
}

fn volume(name: &str, size: &str, policy: &str, path: &str) -> String {
    format!(
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: {name}\nspec:\n  capacity:\n    storage: {size}\n  accessModes: [ReadWriteOnce]\n  storageClassName: manual\n  persistentVolumeReclaimPolicy: {policy}\n  hostPath:\n    path: {path}\n"
    )
}

/// The reasons and messages of the events about one object.
fn events_of(c: &Cluster, kubeconfig: &str, ns: &str, name: &str) -> String {
    c.kubectl_ok_in(
        kubeconfig,
        ns,
        &[
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ],
    )
}

#[test]
fn claims_bind_to_static_volumes_as_upstream_binds_them() {
    let c = Cluster::start(Backend::Embedded);
    let alice = project_admin(&c, "db");
    let get = |args: &[&str]| c.kubectl_ok_in(&alice, "db", args);

    // Volumes are the cluster admin's; bad ones are refused with upstream's messages.
    let bad = "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: bad\nspec:\n  capacity:\n    storage: 1Gi\n  accessModes: [ReadWriteOncePod, ReadWriteMany]\n";
    let refused = c.kubectl_err(&["create", "-f", &c.file("bad.yaml", bad)]);
    assert!(
        refused.contains(
            "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"
        ) && refused.contains("spec: Required value: must specify a volume type"),
        "{refused}"
    );
    let volumes = [
        volume("small", "1Gi", "Retain", "/tmp/oxshift-e2e-small"),
        volume("large", "10Gi", "Retain", "/tmp/oxshift-e2e-large"),
    ]
    .join("---\n");
    c.kubectl_ok(&["create", "-f", &c.file("volumes.yaml", &volumes)]);
    c.wait_for(&["pv", "small"], "{.status.phase}", "Available", WAIT);
    let protected = c.kubectl_ok(&[
        "get",
        "pv",
        "small",
        "-o",
        "jsonpath={.metadata.finalizers}",
    ]);
    assert_eq!(protected, r#"["kubernetes.io/pv-protection"]"#);

    // Two claims race for the small volume: one gets it, the other the next smallest.
    let racing = [
        claim("first", "512Mi", Some("manual")),
        claim("second", "512Mi", Some("manual")),
    ]
    .join("---\n");
    get(&["create", "-f", &c.file("racing.yaml", &racing)]);
    let bound = wait_until("both claims bound", WAIT, || {
        let names = get(&[
            "get",
            "pvc",
            "first",
            "second",
            "-o",
            "jsonpath={range .items[*]}{.status.phase}={.spec.volumeName} {end}",
        ]);
        (names.matches("Bound=").count() == 2).then_some(names)
    });
    assert!(
        bound.contains("=small") && bound.contains("=large"),
        "{bound}"
    );
    for pv in ["small", "large"] {
        let claim_ref = c.kubectl_ok(&["get", "pv", pv, "-o",
            "jsonpath={.status.phase} {.spec.claimRef.namespace}/{.metadata.annotations.pv\\.kubernetes\\.io/bound-by-controller}"]);
        assert_eq!(claim_ref, "Bound db/yes", "{pv}");
    }
    let first = get(&[
        "get",
        "pvc",
        "first",
        "-o",
        "jsonpath={.metadata.annotations.pv\\.kubernetes\\.io/bind-completed} {.status.capacity.storage} {.status.accessModes}",
    ]);
    assert!(
        first.starts_with("yes ") && first.ends_with(r#"["ReadWriteOnce"]"#),
        "{first}"
    );

    // A third claim finds nothing: it stays Pending and says why, as upstream does.
    get(&[
        "create",
        "-f",
        &c.file("third.yaml", &claim("third", "1Gi", Some("manual"))),
    ]);
    get(&[
        "create",
        "-f",
        &c.file("classless.yaml", &claim("classless", "1Gi", Some(""))),
    ]);
    let said = wait_until("the third claim's event", WAIT, || {
        let e = events_of(&c, &alice, "db", "third");
        e.contains("ProvisioningFailed").then_some(e)
    });
    assert!(
        said.contains(r#"ProvisioningFailed: storageclass.storage.k8s.io "manual" not found"#),
        "{said}"
    );
    let said = wait_until("the class-less claim's event", WAIT, || {
        let e = events_of(&c, &alice, "db", "classless");
        e.contains("FailedBinding").then_some(e)
    });
    assert!(
        said.contains("FailedBinding: no persistent volumes available for this claim and no storage class is set"),
        "{said}"
    );
    assert_eq!(
        get(&["get", "pvc", "third", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );

    // Claims never shrink, and grow only when their class allows it.
    let shrink = c.kubectl_err(&[
        "--kubeconfig",
        &alice,
        "-n",
        "db",
        "patch",
        "pvc",
        "first",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"100Mi"}}}}"#,
    ]);
    assert!(
        shrink.contains("field can not be less than status.capacity"),
        "{shrink}"
    );
    let grow = c.kubectl_err(&[
        "--kubeconfig",
        &alice,
        "-n",
        "db",
        "patch",
        "pvc",
        "first",
        "-p",
        r#"{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}"#,
    ]);
    assert!(
        grow.contains("only dynamically provisioned pvc can be resized"),
        "{grow}"
    );

    // A Retain volume is Released when its claim goes, and is not bound again.
    let on_small = get(&["get", "pvc", "first", "-o", "jsonpath={.spec.volumeName}"]) == "small";
    let small_claim = if on_small { "first" } else { "second" };
    get(&["delete", "pvc", small_claim]);
    c.wait_for(&["pv", "small"], "{.status.phase}", "Released", WAIT);
    let table = c.kubectl_ok(&["get", "pv", "small"]);
    assert!(
        table.starts_with("NAME    CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS     CLAIM"),
        "{table}"
    );
    assert!(table.contains("Retain           Released   db/"), "{table}");
    assert_eq!(
        get(&["get", "pvc", "third", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );

    // A fresh volume that fits is taken by the waiting claim.
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "more.yaml",
            &volume("more", "1Gi", "Retain", "/tmp/oxshift-e2e-more"),
        ),
    ]);
    wait_until("the waiting claim bound", WAIT, || {
        (get(&["get", "pvc", "third", "-o", "jsonpath={.spec.volumeName}"]) == "more").then_some(())
    });
}

/// The directories of the local provisioner's volumes under `dir`.
fn volume_dirs(dir: &PathBuf) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn pod(name: &str, image: &str, script: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: {image}\n    command: [/bin/busybox, sh, -c, '{script}']\n    volumeMounts:\n    - name: data\n      mountPath: /data\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: data\n"
    )
}

#[test]
fn a_claim_of_the_default_class_keeps_its_data_across_pods() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_claim_of_the_default_class_keeps_its_data_across_pods: {why}");
        return;
    }
    let worker = PodmanCluster::start("keeper", "10.128.180.0/23", &["1"]);
    let c = &worker.cluster;
    let image = &worker.images[0];
    let storage = c.data_dir().join("storage-volumes");
    let alice = project_admin(c, "data");
    let get = |args: &[&str]| c.kubectl_ok_in(&alice, "data", args);

    // The default class waits for the claim's first pod.
    let classes = c.kubectl_ok(&["get", "sc"]);
    assert!(
        classes.contains(
            "local (default)   oxshift.io/local-path   Delete          WaitForFirstConsumer"
        ),
        "{classes}"
    );
    get(&[
        "create",
        "-f",
        &c.file("claim.yaml", &claim("data", "64Mi", None)),
    ]);
    let waiting = wait_until("the claim's WaitForFirstConsumer event", WAIT, || {
        let e = events_of(c, &alice, "data", "data");
        e.contains("WaitForFirstConsumer").then_some(e)
    });
    assert!(
        waiting.contains("waiting for first consumer to be created before binding"),
        "{waiting}"
    );
    assert_eq!(
        get(&["get", "pvc", "data", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );

    // Its first pod is scheduled, the volume made on that node, and the pod writes to it.
    get(&[
        "create",
        "-f",
        &c.file(
            "writer.yaml",
            &pod("writer", image, "echo kept > /data/file"),
        ),
    ]);
    wait_until("the writer to finish", WAIT, || {
        (get(&["get", "pod", "writer", "-o", "jsonpath={.status.phase}"]) == "Succeeded")
            .then_some(())
    });
    let claim_state = get(&[
        "get",
        "pvc",
        "data",
        "-o",
        "jsonpath={.status.phase} {.metadata.annotations.volume\\.kubernetes\\.io/selected-node}",
    ]);
    assert_eq!(claim_state, "Bound keeper");
    let pv = get(&["get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"]);
    let affinity = c.kubectl_ok(&["get", "pv", &pv, "-o",
        "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.spec.persistentVolumeReclaimPolicy}"]);
    assert_eq!(affinity, "keeper Delete");
    let dirs = volume_dirs(&storage);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(dirs[0].ends_with("_data_data"), "{dirs:?}");
    let written = std::fs::read_to_string(storage.join(&dirs[0]).join("file")).unwrap();
    assert_eq!(written, "kept\n");

    // The writer gone, a new pod reads what it wrote.
    get(&["delete", "pod", "writer"]);
    get(&[
        "create",
        "-f",
        &c.file(
            "reader.yaml",
            &pod("reader", image, "cat /data/file && exec sleep 600"),
        ),
    ]);
    wait_until("the reader to read the file", WAIT, || {
        let logs = c.kubectl(&["--kubeconfig", &alice, "-n", "data", "logs", "reader"]);
        (String::from_utf8_lossy(&logs.stdout) == "kept\n").then_some(())
    });

    // A claim in use is not removed while its pod runs; once the pod is gone, it goes, and
    // its volume and directory with it (Delete).
    get(&["delete", "pvc", "data", "--wait=false"]);
    let terminating = get(&["get", "pvc", "data"]);
    assert!(terminating.contains("data   Terminating"), "{terminating}");
    assert_eq!(
        get(&[
            "get",
            "pvc",
            "data",
            "-o",
            "jsonpath={.metadata.finalizers}"
        ]),
        r#"["kubernetes.io/pvc-protection"]"#
    );
    assert_eq!(
        get(&["get", "pod", "reader", "-o", "jsonpath={.status.phase}"]),
        "Running"
    );
    get(&["delete", "pod", "reader", "--wait=true"]);
    wait_until("the claim gone", WAIT, || {
        let out = c.kubectl(&["--kubeconfig", &alice, "-n", "data", "get", "pvc", "data"]);
        (!out.status.success()).then_some(())
    });
    wait_until("the volume gone", WAIT, || {
        let out = c.kubectl(&["get", "pv", &pv]);
        (!out.status.success()).then_some(())
    });
    assert_eq!(volume_dirs(&storage), Vec::<String>::new());
}

/// A pod of the simulated runtime mounting claim `claim`.
fn claim_user(name: &str, claim: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n  - name: main\n    image: example.com/app:1\n    volumeMounts:\n    - name: data\n      mountPath: /data\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: {claim}\n"
    )
}

#[test]
fn provisioned_claims_grow_within_the_nodes_free_space() {
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--node-runtime",
            "simulated",
            "--node-name",
            "sizer",
            "--node-port",
            "0",
            "--node-pod-cidr",
            "10.128.246.0/23",
        ],
    );
    let alice = project_admin(&c, "grow");
    let get = |args: &[&str]| c.kubectl_ok_in(&alice, "grow", args);
    let patch_size = |size: &str| {
        let body = format!(r#"{{"spec":{{"resources":{{"requests":{{"storage":"{size}"}}}}}}}}"#);
        c.kubectl(&[
            "--kubeconfig",
            &alice,
            "-n",
            "grow",
            "patch",
            "pvc",
            "data",
            "-p",
            &body,
        ])
    };
    let claims = [claim("data", "64Mi", None), claim("huge", "100Ti", None)].join("---\n");
    get(&["create", "-f", &c.file("claims.yaml", &claims)]);
    let pods = [claim_user("app", "data"), claim_user("greedy", "huge")].join("---\n");
    get(&["create", "-f", &c.file("pods.yaml", &pods)]);

    // A claim larger than the node's free space is not provisioned, and says why.
    let said = wait_until("the huge claim refused", WAIT, || {
        let e = events_of(&c, &alice, "grow", "huge");
        e.contains("ProvisioningFailed").then_some(e)
    });
    assert!(
        said.contains(
            r#"ProvisioningFailed: failed to provision volume with StorageClass "local": insufficient capacity: 104857600Mi more needed"#
        ) && said.contains(r#"free on node "sizer""#),
        "{said}"
    );
    assert_eq!(
        get(&["get", "pvc", "huge", "-o", "jsonpath={.status.phase}"]),
        "Pending"
    );

    // The other is bound; asked for more, its volume and then its status grow.
    c.wait_for(
        &["pvc", "data", "-n", "grow"],
        "{.status.phase}",
        "Bound",
        WAIT,
    );
    let pv = get(&["get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}"]);
    assert!(patch_size("128Mi").status.success());
    let status = "jsonpath={.status.capacity.storage} {.status.allocatedResources.storage} {.status.allocatedResourceStatuses} {.status.conditions}";
    wait_until("the claim grown", WAIT, || {
        (get(&["get", "pvc", "data", "-o", status]) == "128Mi 128Mi  ").then_some(())
    });
    let pv_size = c.kubectl_ok(&["get", "pv", &pv, "-o", "jsonpath={.spec.capacity.storage}"]);
    assert_eq!(pv_size, "128Mi");
    let said = events_of(&c, &alice, "grow", "data");
    assert!(
        said.contains(&format!(
            "Resizing: External resizer is resizing volume {pv}"
        )) && said.contains("VolumeResizeSuccessful: Resize volume succeeded"),
        "{said}"
    );

    // Growth beyond the free space is infeasible: marked so, the volume unchanged.
    assert!(patch_size("100Ti").status.success());
    let refused = wait_until("the resize found infeasible", WAIT, || {
        let s = get(&[
            "get",
            "pvc",
            "data",
            "-o",
            r#"jsonpath={.status.allocatedResourceStatuses.storage} {.status.allocatedResources.storage} {.status.conditions[?(@.type=="ControllerResizeError")].message}"#,
        ]);
        s.starts_with("ControllerResizeInfeasible").then_some(s)
    });
    assert!(
        refused.starts_with("ControllerResizeInfeasible 100Ti insufficient capacity: "),
        "{refused}"
    );
    let said = events_of(&c, &alice, "grow", "data");
    assert!(
        said.contains(&format!(
            r#"VolumeResizeFailed: resize volume "{pv}" by resizer "oxshift.io/local-path" failed: insufficient capacity"#
        )),
        "{said}"
    );
    let pv_size = c.kubectl_ok(&["get", "pv", &pv, "-o", "jsonpath={.spec.capacity.storage}"]);
    assert_eq!(pv_size, "128Mi");

    // The user recovers with a smaller request, never below what the claim has.
    let below = patch_size("64Mi");
    assert!(
        String::from_utf8_lossy(&below.stderr).contains(
            "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        ),
        "{below:?}"
    );
    assert!(patch_size("256Mi").status.success());
    wait_until("the claim grown after recovering", WAIT, || {
        (get(&["get", "pvc", "data", "-o", status]) == "256Mi 256Mi  ").then_some(())
    });

    // The three kinds' tables have kubectl 1.32's columns.
    let tables = c.kubectl_ok(&["get", "pv,pvc,sc", "-n", "grow"]);
    let lines: Vec<String> = tables
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let has = |wanted: &str| lines.iter().any(|l| l.starts_with(wanted));
    for wanted in [
        "NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE",
        &format!("persistentvolume/{pv} 256Mi RWO Delete Bound grow/data local <unset> "),
        "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE",
        &format!("persistentvolumeclaim/data Bound {pv} 256Mi RWO local <unset> "),
        "persistentvolumeclaim/huge Pending local <unset> ",
        "NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE",
        "storageclass.storage.k8s.io/local (default) oxshift.io/local-path Delete WaitForFirstConsumer true ",
    ] {
        assert!(has(wanted), "{wanted:?} in\n{tables}");
    }
}

#[test]
fn the_pods_fs_group_owns_its_volumes_and_an_overfull_scratch_space_evicts_it() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!(
            "SKIPPED the_pods_fs_group_owns_its_volumes_and_an_overfull_scratch_space_evicts_it: {why}"
        );
        return;
    }
    let worker = PodmanCluster::start("owner", "10.128.248.0/23", &["1"]);
    let c = &worker.cluster;
    let image = &worker.images[0];
    let alice = project_admin(c, "files");
    let get = |args: &[&str]| c.kubectl_ok_in(&alice, "files", args);
    let exec = |script: &str| get(&["exec", "app", "--", "/bin/busybox", "sh", "-c", script]);
    get(&[
        "create",
        "-f",
        &c.file("claim.yaml", &claim("data", "64Mi", None)),
    ]);
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: {image}\n    command: [/bin/busybox, sleep, '600']\n    volumeMounts:\n    - name: data\n      mountPath: /data\n    - name: scratch\n      mountPath: /scratch\n  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: data\n  - name: scratch\n    emptyDir:\n      sizeLimit: 1Mi\n"
    );
    get(&["create", "-f", &c.file("app.yaml", &pod)]);
    wait_until("the pod running", WAIT, || {
        (get(&["get", "pod", "app", "-o", "jsonpath={.status.phase}"]) == "Running").then_some(())
    });

    // restricted-v2 gave the pod the project's first supplemental group as its fsGroup: the
    // processes have it, and it owns the claim and the scratch space, passed on to new files.
    let group = get(&[
        "get",
        "pod",
        "app",
        "-o",
        "jsonpath={.spec.securityContext.fsGroup}",
    ]);
    let range = c.kubectl_ok(&[
        "get",
        "namespace",
        "files",
        "-o",
        "jsonpath={.metadata.annotations.openshift\\.io/sa\\.scc\\.supplemental-groups}",
    ]);
    assert_eq!(group, range.split('/').next().unwrap(), "range {range}");
    let ids = exec("/bin/busybox id -G");
    assert!(
        ids.split_whitespace().any(|g| g == group),
        "{ids} lacks {group}"
    );
    let listing = exec(
        "/bin/busybox ls -ldn /data /scratch && echo x > /data/new && /bin/busybox ls -ln /data/new",
    );
    let lines: Vec<Vec<&str>> = listing
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{listing}");
    for line in &lines[..2] {
        assert!(line[0].starts_with("drwxrws"), "{listing}");
        assert_eq!(line[3], group, "{listing}");
    }
    assert_eq!(lines[2][3], group, "{listing}");
    assert!(lines[2][0].starts_with("-rw-"), "{listing}");

    // Writing past the scratch space's limit has the pod evicted, as the kubelet does.
    exec("/bin/busybox dd if=/dev/zero of=/scratch/fill bs=1024 count=2048 2>/dev/null; true");
    let evicted = wait_until("the pod evicted", WAIT, || {
        let s = get(&[
            "get",
            "pod",
            "app",
            "-o",
            "jsonpath={.status.phase}|{.status.reason}|{.status.message}",
        ]);
        s.starts_with("Failed").then_some(s)
    });
    assert_eq!(
        evicted,
        r#"Failed|Evicted|Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". "#
    );
    let said = events_of(c, &alice, "files", "app");
    assert!(
        said.contains(r#"Evicted: Usage of EmptyDir volume "scratch" exceeds the limit "1Mi"."#),
        "{said}"
    );
    let state = get(&[
        "get",
        "pod",
        "app",
        "-o",
        "jsonpath={.status.containerStatuses[0].state.terminated.exitCode}",
    ]);
    assert!(!state.is_empty(), "the container still runs");
}
