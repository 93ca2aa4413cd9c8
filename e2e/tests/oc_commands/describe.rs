//! `oc describe`, `oc explain` and the output formats, compared with kubectl 1.32, and the
//! OpenShift kinds described as `oc` describes them.

use e2e::e2e_dir;
use e2e::oc::{cluster, oc, same_as_kubectl};

const OBJECTS: &str = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: ruby
  annotations:
    multi: \"line1\\nline2\"
spec:
  tags:
  - name: \"3.0\"
    reference: true
    from: {kind: DockerImage, name: quay.io/x/ruby:3.0}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData: {password: hunter2, user: me}
";

#[test]
fn describe_explain_and_output_formats_match_kubectl() {
    let (c, home, kubeconfig) = cluster();
    let file = c.file("objects.yaml", OBJECTS);
    c.kubectl_ok(&["apply", "-f", &file]);
    // One key: kubectl describes a config map's data in Go's random map order.
    c.kubectl_ok(&["create", "configmap", "a", "--from-literal=k=v"]);
    c.kubectl_ok(&["label", "configmap", "a", "x=y", "z=w"]);
    c.kubectl_ok(&["create", "serviceaccount", "robot"]);
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "rb",
        "--clusterrole=edit",
        "--user=alice",
        "--serviceaccount=default:robot",
    ]);
    // Events about `a`: one repeated, one reported by a controller.
    let uid = c.kubectl_ok(&["get", "configmap", "a", "-o", "jsonpath={.metadata.uid}"]);
    let event = |name: &str, rest: &str| {
        format!(
            "apiVersion: v1\nkind: Event\nmetadata: {{name: {name}}}\ninvolvedObject: {{kind: ConfigMap, name: a, namespace: default, uid: \"{uid}\", apiVersion: v1}}\n{rest}\n---\n"
        )
    };
    let events = c.file(
        "events.yaml",
        &(event(
            "a.1",
            "reason: Checked\nmessage: \"fine  \"\ntype: Normal\ncount: 3\nfirstTimestamp: \"2026-01-01T00:00:00Z\"\nlastTimestamp: \"2026-01-01T00:10:00Z\"\nsource: {component: checker}",
        ) + &event(
            "a.2",
            "reason: Odd\nmessage: odd\ntype: Warning\nfirstTimestamp: \"2026-01-01T00:05:00Z\"\nreportingComponent: auditor",
        )),
    );
    c.kubectl_ok(&["apply", "-f", &events]);
    // A deployment with most of what a pod template holds, two replica sets it owns (the
    // current template's and an older one), and services.
    let rich = e2e_dir().join("manifests/deployment-rich.yaml");
    c.kubectl_ok(&["apply", "-f", rich.to_str().unwrap()]);
    let deployment: serde_json::Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "deployment", "rich", "-o", "json"])).unwrap();
    let replica_set = |name: &str, image: &str, replicas: u32| {
        let mut template = deployment["spec"]["template"].clone();
        template["metadata"]["labels"]["pod-template-hash"] = name.into();
        template["spec"]["containers"][0]["image"] = image.into();
        serde_json::json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "labels": {"app": "rich"}, "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "Deployment", "name": "rich",
                "uid": deployment["metadata"]["uid"], "controller": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "rich"}}, "template": template}})
    };
    for (name, image, replicas) in [("rich-new", "nginx:1.25", 2), ("rich-old", "nginx:1.24", 0)] {
        let file = c.file(
            &format!("{name}.json"),
            &replica_set(name, image, replicas).to_string(),
        );
        c.kubectl_ok(&["create", "-f", &file]);
    }
    c.kubectl_ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    c.kubectl_ok(&[
        "create",
        "service",
        "nodeport",
        "np",
        "--tcp=8080:80",
        "--node-port=30080",
    ]);
    c.kubectl_ok(&[
        "patch", "service", "np", "-p",
        r#"{"spec":{"ipFamilyPolicy":"SingleStack","ipFamilies":["IPv4"],"externalIPs":["1.2.3.4"],"sessionAffinity":"ClientIP","externalTrafficPolicy":"Local"}}"#,
    ]);
    for args in [
        vec!["describe", "configmap", "a"],
        vec!["describe", "cm"],
        vec!["describe", "cm", "kube"],
        vec!["describe", "cm", "missing"],
        vec!["describe", "secret", "s"],
        vec!["describe", "serviceaccount", "robot"],
        vec!["describe", "namespace", "default"],
        vec!["describe", "clusterrole", "basic-user"],
        vec!["describe", "clusterrole", "admin"],
        vec!["describe", "rolebinding", "rb"],
        // Kinds without a describer of their own: every field, labelled.
        vec!["describe", "oauthclient", "openshift-challenging-client"],
        vec!["describe", "deployment", "rich"],
        vec!["describe", "service"],
        vec!["explain", "configmap"],
        vec!["explain", "cm.data"],
        vec!["explain", "pod.spec.containers"],
        vec!["explain", "deployment.spec", "--recursive"],
        vec!["get", "cm", "-o", "jsonpath={.items[*].metadata.name}"],
        vec!["get", "cm", "a", "-o", "jsonpath={.data}"],
        vec![
            "get",
            "cm",
            "-o",
            "jsonpath={.items[*]['metadata.name','data.k']}",
        ],
        vec![
            "get",
            "cm",
            "-o",
            "jsonpath={.items[0].metadata['name','namespace']}",
        ],
        vec![
            "get",
            "is",
            "-o",
            r#"jsonpath={range .items[*]}{.metadata.name}:{.spec.tags[0].from.name}{"\n"}{end}"#,
        ],
        vec![
            "get",
            "cm",
            "-o",
            "custom-columns=NAME:.metadata.name,DATA:.data",
        ],
        vec!["get", "secret", "s", "-o", "yaml"],
        vec![
            "get",
            "cm",
            "-o",
            r#"go-template={{range .items}}{{.metadata.name}} {{len .data}}{{"\n"}}{{end}}"#,
        ],
        vec![
            "get",
            "secret",
            "s",
            "-o",
            "go-template={{.data.password | base64decode}}",
        ],
        vec![
            "get",
            "cm",
            "a",
            "-o",
            r#"go-template={{index .data "k"}} {{.data}} {{.missing}} {{if .data.b}}b{{else}}none{{end}}"#,
        ],
        vec![
            "get",
            "cm",
            "-o",
            "go-template={{range $i, $e := .items}}{{$i}}:{{$e.metadata.name}},{{end}}",
        ],
        vec!["get", "cm", "a", "-o", "go-template={{.x"],
        vec!["auth", "whoami"],
        vec!["auth", "whoami", "-o", "json"],
        vec!["auth", "can-i", "create", "configmaps"],
        vec![
            "auth",
            "can-i",
            "create",
            "configmaps",
            "--as",
            "alice",
            "-n",
            "kube-system",
        ],
        vec!["auth", "can-i", "get", "/healthz"],
        vec!["auth", "can-i", "--list"],
        vec!["auth", "can-i", "--list", "--as", "alice"],
        vec!["get", "cm", "--as", "alice", "--as-group", "system:masters"],
        vec!["config", "view"],
        vec!["config", "view", "--minify", "-o", "json"],
        vec!["config", "view", "--raw"],
    ] {
        same_as_kubectl(&c, &home, &kubeconfig, &args);
    }
    // The server folds stringData into data and defaults the type.
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "secret",
            "s",
            "-o",
            "jsonpath={.type} {.data.password}"
        ]),
        "Opaque aHVudGVyMg=="
    );
}

/// Runs one step with each tool on its own object (`NAME` in the arguments), comparing what
/// they printed with the names taken out.

#[test]
fn openshift_kinds_are_described_as_oc_describes_them() {
    let (c, home, kubeconfig) = cluster();
    let file = c.file("objects.yaml", OBJECTS);
    c.kubectl_ok(&["apply", "-f", &file]);
    // The image stream's history, as an import would record it.
    let now = "2026-01-01T00:00:00Z";
    c.kubectl_ok(&[
        "patch", "imagestream", "ruby", "--subresource=status", "--type=merge", "-p",
        &format!(r#"{{"status":{{"dockerImageRepository":"registry.local/default/ruby","tags":[
            {{"tag":"3.0","items":[
                {{"created":"{now}","dockerImageReference":"quay.io/x/ruby@sha256:bbb","image":"sha256:bbb","generation":2}},
                {{"created":"{now}","dockerImageReference":"quay.io/x/ruby@sha256:aaa","image":"sha256:aaa","generation":1}}]}},
            {{"tag":"latest","items":[
                {{"created":"{now}","dockerImageReference":"quay.io/x/ruby@sha256:bbb","image":"sha256:bbb","generation":2}}]}}]}}}}"#),
    ]);
    let route = c.file(
        "route.yaml",
        "apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: web}\nspec:\n  host: web.example.com\n  tls: {termination: edge}\n  to: {kind: Service, name: web, weight: 150}\n  alternateBackends: [{kind: Service, name: alt, weight: 50}]\n",
    );
    c.kubectl_ok(&["apply", "-f", &route]);
    let describe = |what: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.as_str(), "describe"];
        all.extend_from_slice(what);
        let out = oc(&home, &all);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let is = describe(&["imagestream", "ruby"]);
    assert!(
        is.starts_with("Name:\t\t\truby\nNamespace:\t\tdefault\nCreated:\t\t"),
        "{is}"
    );
    assert!(
        is.contains("\nLabels:\t\t\t<none>\nAnnotations:\t\tmulti=line1\\nline2\nImage Repository:\tregistry.local/default/ruby\nImage Lookup:\t\tlocal=false\nUnique Images:\t\t2\nTags:\t\t\t2\n\n"),
        "{is}"
    );
    let tags = is.split_once("\n\n").unwrap().1;
    let tags: Vec<&str> = tags.lines().filter(|l| !l.starts_with("      ")).collect();
    assert_eq!(
        tags,
        [
            "latest",
            "  no spec tag",
            "",
            "  * quay.io/x/ruby@sha256:bbb",
            "",
            "3.0",
            "  reference to registry quay.io/x/ruby:3.0",
            "",
            "  * quay.io/x/ruby@sha256:bbb",
            "    quay.io/x/ruby@sha256:aaa",
        ]
    );
    // Its image trigger follows a tag nothing resolves, so the trigger controller leaves the
    // template as written.
    let dc = c.file(
        "dc.yaml",
        "apiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: frontend}\nspec:\n  replicas: 2\n  selector: {app: frontend}\n  triggers:\n  - type: ConfigChange\n  - type: ImageChange\n    imageChangeParams: {automatic: true, containerNames: [web], from: {kind: ImageStreamTag, name: \"nosuch:latest\"}}\n  template:\n    metadata: {labels: {app: frontend}}\n    spec: {containers: [{name: web, image: ruby, ports: [{containerPort: 8080}]}]}\n",
    );
    c.kubectl_ok(&["apply", "-f", &dc]);
    let dc = describe(&["deploymentconfig", "frontend"]);
    assert!(
        dc.contains("\nLatest Version:\t0\nSelector:\tapp=frontend\nReplicas:\t2\nTriggers:\tConfig, Image(nosuch@latest, auto=true)\nStrategy:\tRolling\nTemplate:\nPod Template:\n  Labels:\tapp=frontend\n  Containers:\n   web:\n    Image:\t\truby\n    Port:\t\t8080/TCP\n"),
        "{dc}"
    );
    assert!(
        dc.ends_with("\nLatest Deployment:\t<none>\nEvents:\t\t\t<none>\n"),
        "{dc}"
    );
    let bc = c.file(
        "bc.yaml",
        "apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata: {name: app}\nspec:\n  source: {git: {uri: \"https://example.com/app.git\"}}\n  strategy: {type: Source, sourceStrategy: {from: {kind: ImageStreamTag, name: \"ruby:2.7\"}}}\n  output: {to: {kind: ImageStreamTag, name: \"app:latest\"}}\n  triggers: [{type: ConfigChange}, {type: ImageChange, imageChange: {}}]\n",
    );
    c.kubectl_ok(&["apply", "-f", &bc]);
    let bc = describe(&["buildconfig", "app"]);
    assert!(
        bc.contains("\nLatest Version:\tNever built\n\nStrategy:\tSource\nURL:\t\thttps://example.com/app.git\nFrom Image:\tImageStreamTag ruby:2.7\nOutput to:\tImageStreamTag app:latest\n\nBuild Run Policy:\tSerial\nTriggered by:\t\tConfig, ImageChange\nBuilds History Limit:\n\tSuccessful:\t5\n\tFailed:\t\t5\n"),
        "{bc}"
    );
    let route = describe(&["route", "web"]);
    assert!(
        route.contains("\nRequested Host:\t\tweb.example.com\nPath:\t\t\t<none>\nTLS Termination:\tedge\nInsecure Policy:\t<none>\nEndpoint Port:\t\t<all endpoint ports>\n\nService:\tweb\nWeight:\t\t150 (75%)\nEndpoints:\t<none>\nService:\talt\nWeight:\t\t50 (25%)\nEndpoints:\t<none>\n"),
        "{route}"
    );
}

const STORAGE: &str = "apiVersion: v1
kind: PersistentVolume
metadata: {name: pv1, labels: {tier: fast}}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteMany, ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: /tmp/pv1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [n1, n2]}
        - {key: zone, operator: Exists}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv2}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadOnlyMany]
  persistentVolumeReclaimPolicy: Delete
  nfs: {server: 127.0.0.1, path: /exports}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, annotations: {note: kept}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nowhere}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: missing
  resources: {requests: {storage: 5Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  nodeSelector: {nowhere: \"true\"}
  containers: [{name: c, image: busybox}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]
";

#[test]
fn volumes_and_claims_are_described_as_kubectl_describes_them() {
    let (c, home, kubeconfig) = cluster();
    let file = c.file("storage.yaml", STORAGE);
    c.kubectl_ok(&["create", "-f", &file]);
    let phase = || c.kubectl_ok(&["get", "pvc", "data", "-o", "jsonpath={.status.phase}"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while phase() != "Bound" {
        assert!(std::time::Instant::now() < deadline, "claim not bound");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let describe_all = [
        vec!["describe", "pv"],
        vec!["describe", "pv", "pv1"],
        vec!["describe", "pvc"],
        vec!["describe", "pvc", "nowhere"],
    ];
    for args in &describe_all {
        same_as_kubectl(&c, &home, &kubeconfig, args);
    }
    // A claim in use is kept (Terminating) until its pod goes.
    c.kubectl_ok(&["delete", "pvc", "data", "--wait=false"]);
    let described = c.kubectl_ok(&["describe", "pvc", "data"]);
    assert!(
        described.contains("Status:        Terminating (lasts "),
        "{described}"
    );
    assert!(described.contains("Used By:       user\n"), "{described}");
    same_as_kubectl(&c, &home, &kubeconfig, &["describe", "pvc", "data"]);
}
