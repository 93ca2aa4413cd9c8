//! kubectl 1.32 against the real `oxshift start`, on each storage backend.
//! (Long on purpose: each scenario runs on both backends from the one list below.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::{Backend, Cluster};

mod protobuf;
// Scenarios that do not depend on the storage backend, on the embedded store only.
mod builtin_kinds;
mod services;
mod validation;

use protobuf::typed_create_commands_send_protobuf;

fn configmap(name: &str, value: &str) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"key":"{value}"}}}}"#
    )
}

/// Creates a ConfigMap in `default` through kubectl (a raw JSON POST).
fn create_configmap(c: &Cluster, name: &str, value: &str) {
    let file = c.file(&format!("{name}.json"), &configmap(name, value));
    c.kubectl_ok(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/configmaps",
        "-f",
        &file,
    ]);
}

/// Tries to create a ConfigMap in `namespace`; returns kubectl's error output.
fn create_configmap_fails(c: &Cluster, namespace: &str, name: &str) -> String {
    let file = c.file(&format!("{name}-{namespace}.json"), &configmap(name, "x"));
    c.kubectl_err(&[
        "create",
        "--raw",
        &format!("/api/v1/namespaces/{namespace}/configmaps"),
        "-f",
        &file,
    ])
}

fn discovery_health_and_version(c: Cluster) {
    let version = c.kubectl_ok(&["version"]);
    assert!(
        version.contains("Server Version: v1.32.0-oxshift"),
        "{version}"
    );
    let ready = c.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(
        ready.contains("[+]storage ok") && ready.ends_with("readyz check passed\n"),
        "{ready}"
    );
    let resources = c.kubectl_ok(&["api-resources"]);
    let dc = resources
        .lines()
        .find(|l| l.starts_with("deploymentconfigs"))
        .expect("dc listed");
    assert!(
        dc.contains(" dc ")
            && dc.contains("apps.openshift.io/v1")
            && dc.contains("DeploymentConfig"),
        "{dc}"
    );
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics.contains(r#"apiserver_storage_objects{resource="namespaces"} 8"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"apiserver_request_total{verb="GET",dry_run="",group="",version="",resource="",subresource="",scope="",component="apiserver",code="200"}"#), "{metrics}");
    assert!(metrics.contains(r#"apiserver_request_total{verb="LIST",dry_run="",group="",version="v1",resource="namespaces",subresource="",scope="cluster",component="apiserver",code="200"}"#), "{metrics}");
    let ns = c.kubectl_ok(&["get", "namespaces", "-o", "name"]);
    for name in ["default", "kube-system", "openshift"] {
        assert!(ns.contains(&format!("namespace/{name}\n")), "{ns}");
    }
}

/// Every namespace holds the cluster's CA bundle, published by the controllers.
const ROOT_CA: &str = "configmap/kube-root-ca.crt";

/// `kubectl -o name` lines of the objects a test made (the published CA bundle left out).
fn own(names: &str) -> String {
    names
        .lines()
        .filter(|l| *l != ROOT_CA)
        .map(|l| format!("{l}\n"))
        .collect()
}

fn crud_with_upstream_errors(c: Cluster) {
    create_configmap(&c, "c1", "one");
    assert_eq!(
        own(&c.kubectl_ok(&["get", "cm", "-o", "name"])),
        "configmap/c1\n"
    );
    let json = c.kubectl_ok(&[
        "get",
        "configmap",
        "c1",
        "-o",
        "jsonpath={.data.key} {.metadata.namespace}",
    ]);
    assert_eq!(json, "one default");
    let err = create_configmap_fails(&c, "default", "c1");
    assert!(
        err.contains("Error from server (AlreadyExists): configmaps \"c1\" already exists"),
        "{err}"
    );
    // An update with a stale resourceVersion is a conflict.
    let stale =
        configmap("c1", "two").replace(r#""name":"c1""#, r#""name":"c1","resourceVersion":"1""#);
    let err = c.kubectl_err(&[
        "replace",
        "--raw",
        "/api/v1/namespaces/default/configmaps/c1",
        "-f",
        &c.file("stale.json", &stale),
    ]);
    assert!(err.contains("Error from server (Conflict): Operation cannot be fulfilled on configmaps \"c1\": the object has been modified"), "{err}");
    c.kubectl_ok(&[
        "replace",
        "--raw",
        "/api/v1/namespaces/default/configmaps/c1",
        "-f",
        &c.file("new.json", &configmap("c1", "two")),
    ]);
    assert_eq!(
        c.kubectl_ok(&["get", "cm", "c1", "-o", "jsonpath={.data.key}"]),
        "two"
    );
    let bad = create_configmap_fails(&c, "default", "Bad_Name");
    // kubectl's own wording for Invalid.
    assert!(
        bad.contains(
            "The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{bad}"
    );
    let missing_ns = create_configmap_fails(&c, "nope", "c2");
    assert!(
        missing_ns.contains("Error from server (NotFound): namespaces \"nope\" not found"),
        "{missing_ns}"
    );
    assert_eq!(
        c.kubectl_ok(&["delete", "cm", "c1"]),
        "configmap \"c1\" deleted\n"
    );
    let gone = c.kubectl_err(&["get", "cm", "c1"]);
    assert!(
        gone.contains("Error from server (NotFound): configmaps \"c1\" not found"),
        "{gone}"
    );
}

fn pagination_and_watch(c: Cluster) {
    for i in 0..7 {
        create_configmap(&c, &format!("p{i}"), "x");
    }
    // kubectl pages through the list (limit + continue) and sees every object once.
    let names = own(&c.kubectl_ok(&["get", "cm", "--chunk-size=3", "-o", "name"]));
    assert_eq!(names.lines().count(), 7, "{names}");
    // resourceVersion=0 is served from the watch cache, whole.
    let cached: serde_json::Value = serde_json::from_str(&c.kubectl_ok(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?resourceVersion=0&limit=2",
    ]))
    .unwrap();
    let listed = cached["items"].as_array().into_iter().flatten();
    let made = listed.filter(|i| i["metadata"]["name"] != "kube-root-ca.crt");
    assert_eq!(made.count(), 7, "{cached}");
    assert!(cached["items"][0]["metadata"]["resourceVersion"].is_string());
    // A list not older than a revision the store has not reached is refused, as upstream.
    let err = c.kubectl_err(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?resourceVersion=99999999&resourceVersionMatch=NotOlderThan",
    ]);
    assert!(
        err.contains("Too large resource version: 99999999"),
        "{err}"
    );
    // A watch sees the current objects, then changes in order.
    let watch = c.kubectl_watch(&["get", "cm", "--watch", "-o", "name"]);
    let next = || loop {
        let line = watch.next();
        if line != ROOT_CA {
            break line;
        }
    };
    let initial: Vec<String> = (0..7).map(|_| next()).collect();
    assert!(initial.contains(&"configmap/p0".to_string()), "{initial:?}");
    create_configmap(&c, "late", "x");
    assert_eq!(next(), "configmap/late");
    c.kubectl_ok(&["delete", "cm", "p3"]);
    assert_eq!(next(), "configmap/p3");
}

fn label_and_field_selectors(c: Cluster) {
    for (name, app, tier) in [
        ("a", "web", "front"),
        ("b", "web", "back"),
        ("c", "db", "back"),
    ] {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","labels":{{"app":"{app}","tier":"{tier}"}}}}}}"#
        );
        let file = c.file(&format!("{name}.json"), &body);
        c.kubectl_ok(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            &file,
        ]);
    }
    let names = |args: &[&str]| {
        let mut out: Vec<String> = c
            .kubectl_ok(&[&["get", "cm", "-o", "name"], args].concat())
            .lines()
            .filter(|l| *l != ROOT_CA)
            .map(String::from)
            .collect();
        out.sort();
        out
    };
    assert_eq!(names(&["-l", "app=web"]), ["configmap/a", "configmap/b"]);
    assert_eq!(names(&["-l", "app=web,tier!=front"]), ["configmap/b"]);
    assert_eq!(names(&["-l", "app in (db,cache)"]), ["configmap/c"]);
    assert_eq!(names(&["-l", "!tier"]), Vec::<String>::new());
    assert_eq!(
        names(&["--field-selector", "metadata.name=c"]),
        ["configmap/c"]
    );
    assert_eq!(
        names(&[
            "-l",
            "tier=back",
            "--field-selector",
            "metadata.name!=b",
            "--chunk-size=1"
        ]),
        ["configmap/c"]
    );
    let err = c.kubectl_err(&["get", "cm", "--field-selector", "spec.color=blue"]);
    // kubectl wraps the server's message in its own words.
    assert!(
        err.contains("Error from server (BadRequest)")
            && err.contains("field label not supported: spec.color"),
        "{err}"
    );
}

fn patch_label_annotate_and_status(c: Cluster) {
    create_configmap(&c, "p", "one");
    assert_eq!(
        c.kubectl_ok(&["label", "cm", "p", "team=blue"]),
        "configmap/p labeled\n"
    );
    assert_eq!(
        c.kubectl_ok(&["annotate", "cm", "p", "note=hi"]),
        "configmap/p annotated\n"
    );
    assert_eq!(
        c.kubectl_ok(&["get", "cm", "-l", "team=blue", "-o", "name"]),
        "configmap/p\n"
    );
    assert_eq!(
        c.kubectl_ok(&[
            "patch",
            "cm",
            "p",
            "--type=merge",
            "-p",
            r#"{"data":{"key":"two"}}"#
        ]),
        "configmap/p patched\n"
    );
    c.kubectl_ok(&[
        "patch",
        "cm",
        "p",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/data/extra","value":"x"}]"#,
    ]);
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "cm",
            "p",
            "-o",
            "jsonpath={.data.key} {.data.extra} {.metadata.annotations.note}"
        ]),
        "two x hi"
    );
    // A JSON patch whose test fails changes nothing.
    let err = c.kubectl_err(&[
        "patch",
        "cm",
        "p",
        "--type=json",
        "-p",
        r#"[{"op":"test","path":"/data/key","value":"nope"},{"op":"remove","path":"/data/key"}]"#,
    ]);
    assert!(err.contains("is invalid"), "{err}");
    assert_eq!(
        c.kubectl_ok(&["get", "cm", "p", "-o", "jsonpath={.data.key}"]),
        "two"
    );
    // Status is written through its subresource only.
    let quota = r#"{"apiVersion":"v1","kind":"ResourceQuota","metadata":{"name":"q"},"spec":{"hard":{"pods":"5"}},"status":{"hard":{"pods":"99"}}}"#;
    c.kubectl_ok(&[
        "create",
        "--raw",
        "/api/v1/namespaces/default/resourcequotas",
        "-f",
        &c.file("q.json", quota),
    ]);
    // What the create said of status is dropped (the quota controller may have filled it in
    // from the spec since).
    let created = c.kubectl_ok(&[
        "get",
        "resourcequota",
        "q",
        "-o",
        "jsonpath={.status.hard.pods}",
    ]);
    assert!(
        created.is_empty() || created == "5",
        "status is not set on create: {created}"
    );
    c.kubectl_ok(&[
        "patch",
        "resourcequota",
        "q",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"hard":{"pods":"5"}}}"#,
    ]);
    c.kubectl_ok(&[
        "patch",
        "resourcequota",
        "q",
        "--type=merge",
        "-p",
        r#"{"spec":{"hard":{"pods":"7"}},"status":{"hard":{"pods":"1"}}}"#,
    ]);
    // Status is 5 as patched, or 7 once the quota controller has followed the spec; never 1.
    let patched = c.kubectl_ok(&[
        "get",
        "resourcequota",
        "q",
        "-o",
        "jsonpath={.spec.hard.pods} {.status.hard.pods}",
    ]);
    assert!(
        patched == "7 5" || patched == "7 7",
        "the main resource does not write status: {patched}"
    );
}

/// Manifests: kubectl downloads OpenAPI v3, sees that the server validates fields itself, and
/// sends the objects of a multi-document YAML file.
fn manifests_create_replace_delete(c: Cluster) {
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hello\n---\n\
                    apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata:\n  name: frontend\nspec:\n  replicas: 2\n  \
                    template:\n    metadata: {labels: {app: frontend}}\n    spec:\n      containers: [{name: app, image: nginx}]\n";
    let file = c.file("m.yaml", manifest);
    assert_eq!(
        c.kubectl_ok(&["create", "-f", &file]),
        "configmap/from-yaml created\ndeploymentconfig.apps.openshift.io/frontend created\n"
    );
    assert_eq!(
        c.kubectl_ok(&["get", "dc", "frontend", "-o", "jsonpath={.spec.replicas}"]),
        "2"
    );
    let changed = c.file("m2.yaml", &manifest.replace("hello", "bonjour"));
    // kubectl replace reads the resourceVersion first; the config's controller may write it
    // in between (its first deployment), and the replace is then refused with a Conflict, as
    // upstream refuses it: a user runs it again.
    let mut attempts = 0;
    let replaced = loop {
        let out = c.kubectl(&["replace", "-f", &changed]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        attempts += 1;
        if out.status.success() || !stderr.contains("Conflict") || attempts == 10 {
            assert!(out.status.success(), "{stderr}");
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        replaced,
        "configmap/from-yaml replaced\ndeploymentconfig.apps.openshift.io/frontend replaced\n"
    );
    assert_eq!(
        c.kubectl_ok(&["get", "cm", "from-yaml", "-o", "jsonpath={.data.greeting}"]),
        "bonjour"
    );
    let explain = c.kubectl_ok(&["explain", "dc"]);
    assert!(
        explain.contains("KIND:       DeploymentConfig")
            && explain.contains("GROUP:      apps.openshift.io"),
        "{explain}"
    );
    // Kubernetes kinds are explained field by field, with upstream's descriptions.
    let explain = c.kubectl_ok(&["explain", "deployment.spec.template.spec.containers.ports"]);
    assert!(
        explain.contains("FIELD: ports <[]ContainerPort>")
            && explain.contains("containerPort\t<integer> -required-"),
        "{explain}"
    );
    // OpenAPI v2 is served too (kubectl reads patch metadata from it).
    let v2: serde_json::Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "--raw", "/openapi/v2"])).unwrap();
    assert_eq!(v2["swagger"], "2.0");
    assert_eq!(
        v2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["x-kubernetes-patch-merge-key"],
        "name"
    );
    assert_eq!(
        c.kubectl_ok(&["delete", "-f", &file]),
        "configmap \"from-yaml\" deleted\ndeploymentconfig.apps.openshift.io \"frontend\" deleted\n"
    );
}

/// Client-side apply (create, unchanged, configured), the default strategic merge patch, and
/// edit with a scripted editor, on a Deployment whose containers merge by name.
fn apply_patch_and_edit(c: Cluster) {
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  \
                    selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      \
                    containers:\n      - name: app\n        image: nginx:1\n        env: [{name: A, value: \"1\"}]\n      \
                    - name: sidecar\n        image: busybox\n";
    let file = c.file("d.yaml", manifest);
    assert_eq!(
        c.kubectl_ok(&["apply", "-f", &file]),
        "deployment.apps/web created\n"
    );
    assert_eq!(
        c.kubectl_ok(&["apply", "-f", &file]),
        "deployment.apps/web unchanged\n"
    );
    let changed = c.file("d2.yaml", &manifest.replace("nginx:1", "nginx:2"));
    assert_eq!(
        c.kubectl_ok(&["apply", "-f", &changed]),
        "deployment.apps/web configured\n"
    );
    let images = "jsonpath={.spec.template.spec.containers[*].image} {.metadata.generation}";
    assert_eq!(
        c.kubectl_ok(&["get", "deploy", "web", "-o", images]),
        "nginx:2 busybox 2"
    );
    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","env":[{"name":"B","value":"2"}]}]}}}}"#;
    assert_eq!(
        c.kubectl_ok(&["patch", "deploy", "web", "-p", patch]),
        "deployment.apps/web patched\n"
    );
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].env[*].name}"
        ]),
        "A B",
        "env merges by name"
    );
    let out = c
        .kubectl_command(&["edit", "deploy", "web"])
        .env("EDITOR", "sed -i s/busybox/alpine/")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "deployment.apps/web edited\n"
    );
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[1].image}"
        ]),
        "alpine"
    );
}

/// `kubectl scale` goes through the scale subresource (autoscaling/v1 Scale; OpenShift's
/// DeploymentConfig answers with extensions/v1beta1).
fn scale_subresource(c: Cluster) {
    let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  \
                  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
                  spec:\n      containers: [{name: app, image: nginx}]\n";
    let dc = "apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata:\n  name: dc1\nspec:\n  replicas: 1\n  \
              selector: {app: dc1}\n  template:\n    metadata: {labels: {app: dc1}}\n    \
              spec:\n      containers: [{name: app, image: nginx}]\n";
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file("deploy.yaml", deploy),
        "-f",
        &c.file("dc.yaml", dc),
    ]);
    assert_eq!(
        c.kubectl_ok(&["scale", "deploy", "web", "--replicas=3"]),
        "deployment.apps/web scaled\n"
    );
    assert_eq!(
        c.kubectl_ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    let scale = c.kubectl_ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]);
    assert!(
        scale.contains(r#""apiVersion":"autoscaling/v1""#)
            && scale.contains(r#""selector":"app=web""#),
        "{scale}"
    );
    assert_eq!(
        c.kubectl_ok(&["scale", "dc", "dc1", "--replicas=4"]),
        "deploymentconfig.apps.openshift.io/dc1 scaled\n"
    );
    assert_eq!(
        c.kubectl_ok(&["get", "dc", "dc1", "-o", "jsonpath={.spec.replicas}"]),
        "4"
    );
}

/// `kubectl get` prints the server's Tables: upstream's columns per kind, `-o wide` extras.
fn table_output(c: Cluster) {
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  \
                    selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    \
                    spec:\n      containers: [{name: app, image: nginx}]\n---\n\
                    apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {a: \"1\", b: \"2\"}\n";
    c.kubectl_ok(&["create", "-f", &c.file("all.yaml", manifest)]);
    let lines = |args: &[&str]| -> Vec<Vec<String>> {
        c.kubectl_ok(args)
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect()
    };
    // Read once the deployment controller has made its replica set (no node runs the pods).
    c.kubectl_ok(&[
        "wait",
        "--for=jsonpath={.status.updatedReplicas}=2",
        "deploy/web",
        "--timeout=30s",
    ]);
    let deploy = lines(&["get", "deploy", "-o", "wide"]);
    assert_eq!(
        deploy[0],
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert_eq!(
        (&deploy[1][..4], &deploy[1][5..]),
        (
            &["web", "0/2", "2", "0"].map(String::from)[..],
            &["app", "nginx", "app=web"].map(String::from)[..]
        )
    );
    let cm = lines(&["get", "cm", "conf"]);
    assert_eq!(cm[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(&cm[1][..2], ["conf", "2"]);
    let ns = lines(&["get", "ns", "default"]);
    assert_eq!(
        (ns[0].clone(), &ns[1][..2]),
        (
            vec!["NAME".to_string(), "STATUS".into(), "AGE".into()],
            &["default", "Active"].map(String::from)[..]
        )
    );
}

/// `kubectl wait` runs an informer: list + watch with a field selector, or, with the
/// WatchList client, one watch with `sendInitialEvents` ending in the initial-events bookmark.
fn wait_with_informers(c: Cluster) {
    create_configmap(&c, "w", "1");
    assert_eq!(
        c.kubectl_ok(&[
            "wait",
            "--for=jsonpath={.data.key}=1",
            "cm/w",
            "--timeout=10s"
        ]),
        "configmap/w condition met\n"
    );
    // The change is made once the informer has its initial state (its log says so), so
    // that it can only arrive as a live event of the one watch.
    let mut waiter = c
        .kubectl_command(&[
            "wait",
            "--for=jsonpath={.data.key}=2",
            "cm/w",
            "--timeout=20s",
            "-v=6",
        ])
        .env("KUBE_FEATURE_WatchListClient", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = lines_of(waiter.stderr.take().unwrap());
    let mut requests = Vec::new();
    loop {
        let line = log
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the informer did not sync: {requests:#?}"));
        if line.contains("Caches populated") {
            break;
        }
        requests.push(line);
    }
    c.kubectl_ok(&[
        "patch",
        "cm",
        "w",
        "--type=merge",
        "-p",
        r#"{"data":{"key":"2"}}"#,
    ]);
    let out = waiter.wait_with_output().unwrap();
    requests.extend(log);
    assert!(out.status.success(), "{requests:#?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "configmap/w condition met\n"
    );
    // One watch-list request and nothing listed or watched again: the change came live.
    let reads: Vec<&String> = requests
        .iter()
        .filter(|l| l.contains("/api/v1/namespaces/default/configmaps?"))
        .collect();
    assert!(
        reads.len() == 1 && reads[0].contains("sendInitialEvents=true"),
        "{requests:#?}"
    );
    let raw = c.kubectl_ok(&["get", "--raw", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"]);
    let last = raw.lines().last().unwrap();
    assert!(
        last.contains(r#""type":"BOOKMARK""#)
            && last.contains(r#""k8s.io/initial-events-end":"true""#),
        "{raw}"
    );
}

/// The lines of a child's output as they are printed; the channel ends with the output.
fn lines_of(output: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(output)
            .lines()
            .map_while(Result::ok)
        {
            if send.send(line).is_err() {
                return;
            }
        }
    });
    lines
}

fn data_survives_a_restart(mut c: Cluster) {
    create_configmap(&c, "keep", "me");
    let before = c.kubectl_ok(&[
        "get",
        "cm",
        "keep",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    c.restart();
    assert_eq!(
        c.kubectl_ok(&["get", "cm", "keep", "-o", "jsonpath={.data.key}"]),
        "me"
    );
    // What names the server carries the port it serves on: picked by the system on the
    // first start (`--listen 127.0.0.1:0`), asked for again on the restart.
    let address = c.server().trim_start_matches("https://").to_string();
    let port = address.rsplit_once(':').unwrap().1;
    assert_ne!(port, "0");
    let api: serde_json::Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "--raw", "/api"])).unwrap();
    assert_eq!(
        api["serverAddressByClientCIDRs"][0]["serverAddress"],
        address.as_str()
    );
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "service",
            "kubernetes",
            "-o",
            "jsonpath={.spec.ports[0].targetPort}"
        ]),
        port
    );
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "cm",
            "keep",
            "-o",
            "jsonpath={.metadata.resourceVersion}"
        ]),
        before
    );
    create_configmap(&c, "after", "x");
    let after: u64 = c
        .kubectl_ok(&[
            "get",
            "cm",
            "after",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ])
        .parse()
        .unwrap();
    assert!(
        after > before.parse::<u64>().unwrap(),
        "revisions continue after a restart"
    );
}

/// A client whose credentials the server cannot verify (here a token) is refused.
fn unauthenticated_requests_are_refused(c: Cluster) {
    let kubeconfig = std::fs::read_to_string(c.kubeconfig()).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_string();
    let config = |user: &str| -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\n  name: c\ncontexts:\n- context:\n    cluster: c\n    user: nobody\n  name: c\ncurrent-context: c\nusers:\n- name: nobody\n  user: {user}\n"
        )
    };
    // No credentials: system:anonymous, which may reach discovery and health only (kubectl
    // would prompt for a password here, so a plain HTTP client asks).
    let probe = r#"
import sys, urllib3
http = urllib3.PoolManager(cert_reqs="CERT_NONE")
urllib3.disable_warnings()
print(*(http.request("GET", sys.argv[1] + p).status for p in sys.argv[2:]))
"#;
    let out = std::process::Command::new(e2e::python())
        .args([
            "-c",
            probe,
            &server,
            "/api/v1/namespaces/default/configmaps",
            "/readyz",
            "/api",
            "/metrics",
            "/.well-known/oauth-authorization-server",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "403 200 200 403 200\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A token that is not valid is refused everywhere, as upstream.
    let invalid = c.file("invalid.kubeconfig", &config("{token: not-a-valid-token}"));
    let out = c
        .kubectl_command(&["--kubeconfig", &invalid, "get", "cm"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with("error: You must be logged in to the server (the server has asked for the client to provide credentials)\n"),
        "{err}"
    );
}

/// One `#[test]` per scenario, each on a fresh cluster of `$backend`.
macro_rules! on_backend {
    ($module:ident, $backend:expr) => {
        on_backend!(@each $module, $backend;
            discovery_health_and_version, crud_with_upstream_errors, pagination_and_watch,
            label_and_field_selectors, patch_label_annotate_and_status, manifests_create_replace_delete,
            apply_patch_and_edit, scale_subresource, table_output, wait_with_informers,
            data_survives_a_restart, typed_create_commands_send_protobuf,
            unauthenticated_requests_are_refused);
    };
    (@each $module:ident, $backend:expr; $($scenario:ident),*) => {
        mod $module {
            use super::*;
            $(
                #[test]
                fn $scenario() {
                    super::$scenario(Cluster::start($backend));
                }
            )*
        }
    };
}

on_backend!(embedded, Backend::Embedded);
#[cfg(feature = "etcd")]
on_backend!(etcd, Backend::Etcd);
