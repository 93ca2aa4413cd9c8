//! Templates as a project admin drives them after `oc login`: `oc process | oc create -f -`,
//! `oc new-app` with a shared template of `openshift` and with a template file, upstream's
//! errors for required parameters and bad generator expressions, template instances taking
//! their requester from the caller and instantiated with the requester's permissions;
//! `oc new-app` from an image and from an existing image stream (a Deployment or a
//! DeploymentConfig following the stream's tag); and, with real containers, a template's
//! Deployment whose pod serves the page the template's parameters wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use e2e::oc::{cluster_with_alice, oc};
use e2e::real_pods::{PodmanCluster, http_get, real_pods_unavailable};
use e2e::{Cluster, oc_binary};

const TEMPLATE: &str = r#"apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: greeting
message: "created ${NAME}"
labels:
  template: greeting
parameters:
- name: NAME
  required: true
- name: GREETING
  value: hello
- name: PASSWORD
  generate: expression
  from: "[a-zA-Z0-9]{16}"
- name: PORT
  value: "8080"
objects:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: ${NAME}
    namespace: somewhere-else
  data:
    greeting: "${GREETING}, ${NAME}"
    password: ${PASSWORD}
- apiVersion: v1
  kind: Service
  metadata:
    name: ${NAME}
  spec:
    selector:
      app: ${NAME}
    ports:
    - port: ${{PORT}}
"#;

const BAD_EXPRESSION: &str = r#"apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: bad
parameters:
- name: TOKEN
  generate: expression
  from: "[abc]{3}"
objects: []
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert!(
        out.status.success(),
        "oc {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    text(&out.stderr)
}

/// alice administers `shop`, logged in with `oc login`.
fn alice_in_shop() -> (tempfile::TempDir, Cluster, std::path::PathBuf) {
    let (dir, c, home) = cluster_with_alice();
    c.kubectl_ok(&["create", "namespace", "shop"]);
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "alice-admin",
        "--clusterrole=admin",
        "--user=alice",
        "-n",
        "shop",
    ]);
    let ca = c.data_dir().join("pki/ca.crt");
    ok(
        &home,
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
    ok(&home, &["project", "shop"]);
    (dir, c, home)
}

#[test]
fn process_piped_into_create_and_new_app_from_templates() {
    let (_dir, c, home) = alice_in_shop();
    let t = c.file("greeting.yaml", TEMPLATE);
    let bad = c.file("bad.yaml", BAD_EXPRESSION);

    // oc process -f t.yaml -p ... | oc create -f -
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{oc} process -f {t} -p NAME=web -p GREETING=hi | {oc} create -f -",
            oc = oc_binary().display()
        ))
        .env("HOME", &home)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "configmap/web created\nservice/web created\n"
    );
    let cm: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "configmap", "web", "-o", "json"])).unwrap();
    assert_eq!(cm["metadata"]["namespace"], "shop");
    assert_eq!(cm["metadata"]["labels"]["template"], "greeting");
    assert_eq!(cm["data"]["greeting"], "hi, web");
    let password = cm["data"]["password"].as_str().unwrap();
    assert_eq!(password.len(), 16);
    assert!(
        password.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{password}"
    );
    let svc: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "service", "web", "-o", "json"])).unwrap();
    assert_eq!(svc["spec"]["ports"][0]["port"], 8080, "PORT is a number");

    // Upstream's errors, from the server and from --local.
    assert_eq!(
        failed(&oc(&home, &["process", "-f", &t])),
        "error: unable to process template\n  Required value: template.parameters[0]: parameter NAME is required and must be specified\n"
    );
    assert_eq!(
        failed(&oc(&home, &["process", "-f", &bad])),
        "error: unable to process template\n  Invalid value: v1.Parameter{Name:\"TOKEN\", DisplayName:\"\", Description:\"\", Value:\"\", Generate:\"expression\", From:\"[abc]{3}\", Required:false}: malformed expresion syntax: [abc]\n"
    );
    assert!(
        failed(&oc(&home, &["process", "-f", &t, "--local"]))
            .contains("template.parameters[0]: Required value: template.parameters[0]: parameter NAME is required and must be specified")
    );
    assert_eq!(
        failed(&oc(
            &home,
            &["process", "-f", &t, "-p", "NAME=a", "-p", "NAME=b"]
        )),
        "error: The following parameters were provided more than once: NAME\nSee 'oc process -h' for help and examples\n"
    );
    assert_eq!(
        failed(&oc(
            &home,
            &["process", "-f", &t, "-p", "NAME=a", "-p", "NOPE=1"]
        )),
        "error: unknown parameter name \"NOPE\"\n"
    );
    // Values from a file (the command line's win, with upstream's warning); the parameters.
    let params = c.file("params.env", "# values\nNAME=from-file\nGREETING=ignored\n");
    let out = oc(
        &home,
        &[
            "process",
            "-f",
            &t,
            "--param-file",
            &params,
            "-p",
            "GREETING=given",
            "-o",
            "yaml",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "warning: Template parameter \"GREETING\" already defined, ignoring value from file {params:?}\n"
        )
    );
    assert!(
        text(&out.stdout).contains("greeting: given, from-file\n"),
        "{}",
        text(&out.stdout)
    );
    let table = ok(&home, &["process", "-f", &t, "--parameters"]);
    assert_eq!(
        table.lines().next(),
        Some("NAME                DESCRIPTION         GENERATOR           VALUE")
    );
    assert!(
        table.contains(
            "\nPASSWORD                                expression          [a-zA-Z0-9]{16}\n"
        ),
        "{table}"
    );
    let local = ok(
        &home,
        &["process", "-f", &t, "--local", "-p", "NAME=x", "-o", "name"],
    );
    assert_eq!(local, "configmap/x\nservice/x\n");

    // The shared templates of `openshift` are every user's to read and deploy.
    assert!(ok(&home, &["get", "templates", "-n", "openshift"]).contains("busybox-httpd-example"));
    let out = ok(
        &home,
        &[
            "new-app",
            "busybox-httpd-example",
            "-p",
            "IMAGE=127.0.0.1:5000/web:1",
            "-p",
            "NAME=site",
        ],
    );
    assert!(
        out.starts_with(
            "--> Deploying template \"openshift/busybox-httpd-example\" to project shop\n\n     Busybox HTTP server\n     ---------\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("        * Image=127.0.0.1:5000/web:1\n"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "--> Creating resources ...\n    service \"site\" created\n    deployment.apps \"site\" created\n--> Success\n    Application is not exposed. You can expose services to the outside world by executing one or more of the commands below:\n     'oc expose service/site' \n    Run 'oc status' to view your app.\n"
        ),
        "{out}"
    );
    let image = ok(
        &home,
        &[
            "get",
            "deployment",
            "site",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    );
    assert_eq!(image, "127.0.0.1:5000/web:1");
    let status = ok(&home, &["status"]);
    assert!(
        status.contains(":8080\n  deployment/site deploys 127.0.0.1:5000/web:1 \n"),
        "{status}"
    );

    // A template file, with -o: printed, not created; then created.
    let listed = ok(
        &home,
        &["new-app", "-f", &t, "-p", "NAME=second", "-o", "json"],
    );
    let list: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(
        list["items"][0]["metadata"]["annotations"]["openshift.io/generated-by"],
        "OpenShiftNewApp"
    );
    assert!(!oc(&home, &["get", "configmap", "second"]).status.success());
    let out = ok(&home, &["new-app", "-f", &t, "-p", "NAME=second"]);
    assert!(out.contains("    configmap \"second\" created\n"), "{out}");
    assert_eq!(
        failed(&oc(
            &home,
            &["new-app", "-f", &t, "-p", "NAME=third", "-p", "NOPE=1"]
        )),
        "error: unexpected parameter name \"NOPE\"\n"
    );

    // A template instance names its requester (the caller) and is instantiated with the
    // requester's permissions, its parameters from its secret.
    let secret = c.file(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ti-params\ndata:\n  VALUE: ZnJvbS1zZWNyZXQ=\n",
    );
    ok(&home, &["create", "-f", &secret]);
    let ti = c.file(
        "ti.yaml",
        "apiVersion: template.openshift.io/v1\nkind: TemplateInstance\nmetadata:\n  name: ti\nspec:\n  secret:\n    name: ti-params\n  template:\n    metadata:\n      name: x\n    parameters:\n    - name: VALUE\n      value: default\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: from-ti\n      data:\n        value: ${VALUE}\n",
    );
    ok(&home, &["create", "-f", &ti]);
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "templateinstance",
                "ti",
                "-o",
                "jsonpath={.spec.requester.username}"
            ]
        ),
        "alice"
    );
    let started = Instant::now();
    c.wait_for(
        &["-n", "shop", "templateinstance", "ti"],
        "{.status.conditions[0].type}={.status.conditions[0].status}",
        "Ready=True",
        Duration::from_secs(30),
    );
    eprintln!("template instance Ready in {:?}", started.elapsed());
    let cm: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "configmap", "from-ti", "-o", "json"])).unwrap();
    assert_eq!(cm["data"]["value"], "from-secret");
    let uid = ok(
        &home,
        &[
            "get",
            "templateinstance",
            "ti",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
    );
    assert_eq!(
        cm["metadata"]["labels"]["template.openshift.io/template-instance-owner"],
        uid.as_str()
    );
    // A deleted instance takes what it made with it.
    ok(&home, &["delete", "templateinstance", "ti"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while oc(&home, &["get", "configmap", "from-ti"]).status.success()
        || oc(&home, &["get", "templateinstance", "ti"])
            .status
            .success()
    {
        assert!(Instant::now() < deadline, "the instance's objects stayed");
        std::thread::sleep(Duration::from_millis(200));
    }

    // An instance of a template whose Deployment asks to be waited for waits (this cluster
    // has no node to run its pods).
    let waiting = c.file(
        "waiting.yaml",
        "apiVersion: template.openshift.io/v1\nkind: TemplateInstance\nmetadata:\n  name: waiting\nspec:\n  template:\n    metadata:\n      name: w\n    objects:\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: waited\n        annotations:\n          template.alpha.openshift.io/wait-for-ready: \"true\"\n      spec:\n        selector:\n          matchLabels: {app: waited}\n        template:\n          metadata:\n            labels: {app: waited}\n          spec:\n            containers:\n            - {name: c, image: busybox}\n",
    );
    ok(&home, &["create", "-f", &waiting]);
    c.wait_for(
        &["-n", "shop", "templateinstance", "waiting"],
        "{.status.conditions[0].type}={.status.conditions[0].status}={.status.conditions[0].reason}={.status.objects[0].ref.name}",
        "Ready=False=Waiting=waited",
        Duration::from_secs(30),
    );

    // What the requester may not create fails the instance.
    let denied = c.file(
        "denied.yaml",
        "apiVersion: template.openshift.io/v1\nkind: TemplateInstance\nmetadata:\n  name: denied\nspec:\n  template:\n    metadata:\n      name: denied\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: elsewhere\n        namespace: ${NS}\n    parameters:\n    - name: NS\n      value: default\n",
    );
    ok(&home, &["create", "-f", &denied]);
    c.wait_for(
        &["-n", "shop", "templateinstance", "denied"],
        "{.status.conditions[0].type}={.status.conditions[0].reason}={.status.conditions[0].message}",
        "InstantiateFailure=Failed=configmaps \"elsewhere\" is forbidden: User \"alice\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\"",
        Duration::from_secs(30),
    );
    assert!(
        !c.kubectl(&["get", "configmap", "elsewhere", "-n", "default"])
            .status
            .success()
    );
}

#[test]
fn new_app_from_an_image_and_from_an_image_stream() {
    let (_dir, _c, home) = alice_in_shop();

    // An image: a stream tracking it, a Deployment following the stream's tag.
    let out = ok(
        &home,
        &[
            "new-app",
            "--image=127.0.0.1:5000/web:1",
            // Nothing serves that registry: the image is taken as it is.
            "--allow-missing-images",
            "--name=img",
            "-e",
            "A=1",
            "-l",
            "team=x",
        ],
    );
    assert!(
        out.contains(
            "    * An image stream tag will be created as \"img:1\" that will track this image\n"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("--> Creating resources with label team=x ...\n    imagestream.image.openshift.io \"img\" created\n    deployment.apps \"img\" created\n--> Success\n    Run 'oc status' to view your app.\n"),
        "{out}"
    );
    let is: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "imagestream", "img", "-o", "json"])).unwrap();
    assert_eq!(
        is["spec"]["tags"][0]["from"],
        serde_json::json!({"kind": "DockerImage", "name": "127.0.0.1:5000/web:1"})
    );
    let d: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "deployment", "img", "-o", "json"])).unwrap();
    assert_eq!(
        d["metadata"]["annotations"]["image.openshift.io/triggers"],
        r#"[{"from":{"kind":"ImageStreamTag","name":"img:1"},"fieldPath":"spec.template.spec.containers[?(@.name==\"img\")].image"}]"#
    );
    assert_eq!(
        d["metadata"]["labels"],
        serde_json::json!({"app": "img", "app.kubernetes.io/component": "img", "app.kubernetes.io/instance": "img", "team": "x"})
    );
    assert_eq!(
        d["spec"]["selector"]["matchLabels"],
        serde_json::json!({"deployment": "img", "team": "x"})
    );
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], " ", "left for the image trigger");
    assert_eq!(
        container["env"],
        serde_json::json!([{"name": "A", "value": "1"}])
    );

    // An existing stream: nothing new for it, the trigger names its namespace.
    let out = ok(
        &home,
        &["new-app", "shop/img:1", "--name=again", "-o", "json"],
    );
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Deployment"]);
    assert_eq!(
        list["items"][0]["metadata"]["annotations"]["image.openshift.io/triggers"],
        r#"[{"from":{"kind":"ImageStreamTag","name":"img:1","namespace":"shop"},"fieldPath":"spec.template.spec.containers[?(@.name==\"again\")].image"}]"#
    );

    // The same objects as a DeploymentConfig.
    let out = ok(
        &home,
        &[
            "new-app",
            "--image=127.0.0.1:5000/web:1",
            "--allow-missing-images",
            "--name=legacy",
            "--as-deployment-config",
        ],
    );
    assert!(
        out.contains("    deploymentconfig.apps.openshift.io \"legacy\" created\n"),
        "{out}"
    );
    let dc: serde_json::Value =
        serde_json::from_str(&ok(&home, &["get", "dc", "legacy", "-o", "json"])).unwrap();
    assert_eq!(
        dc["spec"]["triggers"][1]["imageChangeParams"]["from"]["name"],
        "legacy:1"
    );
    assert_eq!(
        dc["spec"]["template"]["spec"]["containers"][0]["image"],
        "127.0.0.1:5000/web:1"
    );

    // Names new-app refuses, and nothing to do.
    let err = failed(&oc(&home, &["new-app", "--image=x", "--name=Bad"]));
    assert!(
        err.starts_with("error: invalid name: Bad. Must be an a lower case alphanumeric"),
        "{err}"
    );
    let err = failed(&oc(&home, &["new-app", "busybox-httpd-exampel"]));
    assert!(
        err.starts_with("error: unable to locate any images in image streams, templates loaded in accessible projects, template files, local docker images with name \"busybox-httpd-exampel\""),
        "{err}"
    );
    let err = failed(&oc(&home, &["new-app"]));
    assert!(
        err.starts_with("error: You must specify one or more images, image streams, templates, or source code locations to create an application."),
        "{err}"
    );
}

const WAIT: Duration = Duration::from_secs(120);

#[test]
fn a_template_deployment_serves_its_page_from_real_containers() {
    if let Some(why) = real_pods_unavailable() {
        eprintln!("SKIPPED a_template_deployment_serves_its_page_from_real_containers: {why}");
        return;
    }
    let worker = PodmanCluster::start("tmplnode", "10.128.160.0/23", &["1"]);
    let c = &worker.cluster;
    c.kubectl_ok(&["create", "namespace", "shop"]);
    let alice = c.user_with_role("alice", &[], "admin", "shop");
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let as_alice = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", alice.to_str().unwrap(), "-n", "shop"];
        all.extend_from_slice(args);
        ok(&home, &all)
    };

    let started = Instant::now();
    as_alice(&[
        "new-app",
        "openshift/busybox-httpd-example",
        "-p",
        &format!("IMAGE={}", worker.images[0]),
        "-p",
        "MESSAGE=served from a template",
    ]);
    let deadline = Instant::now() + WAIT;
    let ip = loop {
        let pods: serde_json::Value = serde_json::from_str(&as_alice(&[
            "get",
            "pods",
            "-l",
            "deployment=web",
            "-o",
            "json",
        ]))
        .unwrap();
        let ready = pods["items"].as_array().unwrap().iter().find_map(|p| {
            (p["status"]["containerStatuses"][0]["ready"] == true)
                .then(|| p["status"]["podIP"].as_str().map(str::to_string))
                .flatten()
        });
        if let Some(ip) = ready
            && std::net::TcpStream::connect((ip.as_str(), 8080)).is_ok()
        {
            break ip;
        }
        assert!(Instant::now() < deadline, "no pod of web answered: {pods}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let page = http_get(&ip, "index.html");
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.contains("served from a template"), "{page}");
    eprintln!(
        "oc new-app busybox-httpd-example: pod answering in {:?}",
        started.elapsed()
    );

    // The same template instantiated by a TemplateInstance is Ready once its Deployment is.
    let template: serde_json::Value = serde_json::from_str(&as_alice(&[
        "get",
        "template",
        "busybox-httpd-example",
        "-n",
        "openshift",
        "-o",
        "json",
    ]))
    .unwrap();
    let mut template = template;
    for p in template["parameters"].as_array_mut().unwrap() {
        match p["name"].as_str().unwrap() {
            "NAME" => p["value"] = serde_json::json!("instance"),
            "IMAGE" => p["value"] = serde_json::json!(worker.images[0]),
            _ => {}
        }
    }
    let ti = serde_json::json!({
        "apiVersion": "template.openshift.io/v1", "kind": "TemplateInstance",
        "metadata": {"name": "instance"},
        "spec": {"template": template},
    });
    let file = c.file("instance.json", &ti.to_string());
    let started = Instant::now();
    as_alice(&["create", "-f", &file]);
    c.wait_for(
        &["-n", "shop", "templateinstance", "instance"],
        "{.status.conditions[0].type}={.status.conditions[0].status}={.status.conditions[0].reason}",
        "Ready=True=Created",
        WAIT,
    );
    eprintln!(
        "template instance of busybox-httpd-example Ready in {:?}",
        started.elapsed()
    );
}
