//! CustomResourceDefinitions as kubectl 1.32 uses them: a definition with defaults, an enum,
//! printer columns, a status subresource and two versions, served at once; its objects
//! created, listed as tables, watched, applied server-side, refused with upstream's words;
//! a project admin using them once a role aggregated to `admin` grants them; and the
//! definition's deletion removing its objects and its resource.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::{Backend, Cluster};

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Color
      type: string
      jsonPath: .spec.color
    - name: Size
      type: integer
      jsonPath: .spec.size
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size:
                type: integer
                default: 3
                minimum: 1
                maximum: 10
              color:
                type: string
                enum: [red, green]
          status:
            type: object
            properties:
              ready:
                type: boolean
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const WIDGET: &str = r#"
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  color: red
"#;

const WAIT: Duration = Duration::from_secs(10);

fn established(c: &Cluster) {
    c.wait_for(
        &["crd", "widgets.example.com"],
        "{.status.conditions[?(@.type==\"Established\")].status}",
        "True",
        WAIT,
    );
}

#[test]
fn custom_resources_through_kubectl() {
    let c = Cluster::start(Backend::Embedded);
    let crd = c.file("crd.yaml", WIDGET_CRD);
    c.kubectl_ok(&["apply", "-f", &crd]);
    established(&c);
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "crd",
            "widgets.example.com",
            "-o",
            "jsonpath={.status.conditions[?(@.type==\"NamesAccepted\")].reason}"
        ]),
        "NoConflicts"
    );
    let resources = c.kubectl_ok(&["api-resources", "--api-group=example.com"]);
    assert!(resources.contains("widgets"), "{resources}");
    assert!(resources.contains("wd"), "{resources}");

    let explained = c.kubectl_ok(&["explain", "widgets.spec"]);
    assert!(explained.contains("KIND:       Widget"), "{explained}");
    assert!(explained.contains("size\t<integer>"), "{explained}");
    assert!(explained.contains("color\t<string>"), "{explained}");
    let widget = c.file("w1.yaml", WIDGET);
    assert_eq!(
        c.kubectl_ok(&["create", "-f", &widget]),
        "widget.example.com/w1 created\n"
    );
    let table = c.kubectl_ok(&["get", "widgets"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "COLOR", "SIZE"], "{table}");
    assert_eq!(lines[1], ["w1", "red", "3"], "the default size: {table}");
    assert_eq!(
        c.kubectl_ok(&["get", "wd", "w1", "-o", "jsonpath={.spec.size}"]),
        "3"
    );
    // Served in both versions, from the same objects.
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "widgets.v1beta1.example.com",
            "w1",
            "-o",
            "jsonpath={.metadata.name}"
        ]),
        "w1"
    );

    let err = c.kubectl_err(&[
        "patch",
        "widget",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"blue"}}"#,
    ]);
    assert!(
        err.contains(r#"spec.color: Unsupported value: "blue": supported values: "red", "green""#),
        "{err}"
    );
    let err = c.kubectl_err(&[
        "patch",
        "widget",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":"big"}}"#,
    ]);
    assert!(
        err.contains(r#"spec.size: Invalid value: "string": spec.size in body must be of type integer: "string""#),
        "{err}"
    );
    let err = c.kubectl_err(&[
        "patch",
        "widget",
        "w1",
        "--type=strategic",
        "-p",
        r#"{"spec":{"size":4}}"#,
    ]);
    assert!(
        err.contains("UnsupportedMediaType") || err.contains("unknown format"),
        "{err}"
    );

    let watch = c.kubectl_watch(&["get", "widgets", "--watch", "--no-headers"]);
    let first = watch.next();
    assert!(first.starts_with("w1 "), "{first}");
    let applied = c.file(
        "w1-apply.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  color: green\n  size: 5\n",
    );
    c.kubectl_ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        &applied,
    ]);
    let next = watch.next();
    let cells: Vec<&str> = next.split_whitespace().collect();
    assert_eq!(cells[..3], ["w1", "green", "5"], "{next}");
    drop(watch);
    let managers = c.kubectl_ok(&[
        "get",
        "widget",
        "w1",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(managers.contains("kubectl"), "{managers}");

    assert!(
        c.kubectl_ok(&["get", "all"])
            .contains("widget.example.com/w1")
    );

    c.kubectl_ok(&["delete", "crd", "widgets.example.com"]);
    let err = c.kubectl_err(&["get", "crd", "widgets.example.com"]);
    assert!(err.contains("not found"), "{err}");
    let err = c.kubectl_err(&[
        "get",
        "--raw",
        "/apis/example.com/v1/namespaces/default/widgets",
    ]);
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );
}

#[test]
fn a_project_admin_uses_a_custom_resource_granted_through_aggregation() {
    let c = Cluster::start(Backend::Embedded);
    let crd = c.file("crd.yaml", WIDGET_CRD);
    c.kubectl_ok(&["apply", "-f", &crd]);
    established(&c);
    c.kubectl_ok(&["create", "namespace", "team"]);
    let alice = c.user_with_role("alice", &[], "admin", "team");
    let as_alice = |args: &[&str]| {
        let mut cmd = c.kubectl_command(args);
        cmd.env("KUBECONFIG", &alice);
        cmd.output().unwrap()
    };
    let widget = c.file("w1.yaml", WIDGET);
    let denied = as_alice(&["create", "-n", "team", "-f", &widget]);
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("forbidden"));
    let role = c.file(
        "role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: widgets-admin\n  labels:\n    rbac.authorization.k8s.io/aggregate-to-admin: \"true\"\nrules:\n- apiGroups: [example.com]\n  resources: [widgets]\n  verbs: [\"*\"]\n",
    );
    c.kubectl_ok(&["apply", "-f", &role]);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out = as_alice(&["create", "-n", "team", "-f", &widget]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "alice still cannot create widgets: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let listed = as_alice(&["get", "widgets", "-n", "team", "-o", "name"]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "widget.example.com/w1\n"
    );
}
