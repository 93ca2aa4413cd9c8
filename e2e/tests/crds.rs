//! CustomResourceDefinitions as kubectl 1.32 uses them: a definition with defaults, an enum,
//! printer columns, a status subresource and two versions, served at once; its objects
//! created, listed as tables, watched, applied server-side, refused with upstream's words;
//! a project admin using them once a role aggregated to `admin` grants them; and the
//! definition's deletion removing its objects and its resource. Rules are type-checked and
//! costed against the schema when the definition is written, and may use Kubernetes' CEL
//! libraries (a quantity limit, for a project admin).

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
    // The Swagger document has the kind too, for clients that read it.
    let swagger: serde_json::Value =
        serde_json::from_str(&c.kubectl_ok(&["get", "--raw", "/openapi/v2"])).unwrap();
    let definition = swagger["definitions"]
        .as_object()
        .unwrap()
        .values()
        .find(|d| {
            d["x-kubernetes-group-version-kind"][0]
                == serde_json::json!({"group": "example.com", "version": "v1", "kind": "Widget"})
        })
        .expect("a definition of example.com/v1 Widget");
    assert_eq!(
        definition["properties"]["spec"]["properties"]["size"]["type"], "integer",
        "{definition}"
    );
    assert!(swagger["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets"].is_object());
    assert!(swagger["definitions"]["io.k8s.api.core.v1.Pod"].is_object());
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

const GADGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-validations:
        - rule: "self.metadata.name.startsWith('g')"
          message: "name must start with g"
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.min <= self.max"
              message: "min must not exceed max"
            - rule: "self.max < 100"
              messageExpression: "'max is ' + string(self.max) + ', the limit 99'"
              reason: FieldValueForbidden
              fieldPath: ".max"
            properties:
              min: {type: integer}
              max: {type: integer}
              mode:
                type: string
                x-kubernetes-validations:
                - rule: "self == oldSelf"
                  message: "mode is immutable"
          status:
            type: object
            x-kubernetes-validations:
            - rule: "!has(self.ready) || self.ready <= 10"
            properties:
              phase: {type: string, enum: [Pending, Ready]}
              ready: {type: integer}
"#;

/// The gadget CRD's `spec` with its first rule replaced by `rule`.
fn gadget_crd_with_rule(rule: &str) -> String {
    GADGET_CRD.replacen(
        "- rule: \"self.min <= self.max\"",
        &format!("- rule: {rule:?}"),
        1,
    )
}

#[test]
fn validation_rules_status_schema_and_strict_fields_for_a_project_admin() {
    let c = Cluster::start(Backend::Embedded);
    // A rule that does not compile, or reads oldSelf where there is none to read, refuses the
    // definition with upstream's words.
    let broken = c.file("broken.yaml", &gadget_crd_with_rule("self.min <="));
    let err = c.kubectl_err(&["apply", "-f", &broken]);
    assert!(
        err.contains(r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.min <=", Message:"min must not exceed max""#)
            && err.contains("compilation failed"),
        "{err}"
    );
    let bad_path = c.file(
        "bad-path.yaml",
        &GADGET_CRD.replacen("fieldPath: \".max\"", "fieldPath: \".maximum\"", 1),
    );
    let err = c.kubectl_err(&["apply", "-f", &bad_path]);
    assert!(
        err.contains(r#"x-kubernetes-validations[1].fieldPath: Invalid value: ".maximum": fieldPath must be a valid path: does not refer to a valid field"#),
        "{err}"
    );

    let crd = c.file("gadgets.yaml", GADGET_CRD);
    c.kubectl_ok(&["apply", "-f", &crd]);
    c.wait_for(
        &["crd", "gadgets.example.com"],
        "{.status.conditions[?(@.type==\"Established\")].status}",
        "True",
        WAIT,
    );
    c.kubectl_ok(&["create", "namespace", "team"]);
    let role = c.file(
        "role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: gadgets-admin\n  labels:\n    rbac.authorization.k8s.io/aggregate-to-admin: \"true\"\nrules:\n- apiGroups: [example.com]\n  resources: [gadgets, gadgets/status]\n  verbs: [\"*\"]\n",
    );
    c.kubectl_ok(&["apply", "-f", &role]);
    let alice = c.user_with_role("alice", &[], "admin", "team");
    let as_alice = |args: &[&str]| {
        let mut all = vec!["-n", "team"];
        all.extend_from_slice(args);
        let mut cmd = c.kubectl_command(&all);
        cmd.env("KUBECONFIG", &alice);
        cmd.output().unwrap()
    };
    let gadget = |name: &str, spec: &str| {
        c.file(
            &format!("{name}.yaml"),
            &format!("apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: {name}\nspec: {spec}\n"),
        )
    };
    // Wait until the aggregated role lets alice create a valid gadget.
    let good = gadget("g1", "{min: 1, max: 5, mode: fast}");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out = as_alice(&["create", "-f", &good]);
        if out.status.success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "alice still cannot create gadgets: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let failed = |args: &[&str]| {
        let out = as_alice(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let succeeded = |args: &[&str]| {
        let out = as_alice(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // Create: every failed rule, in upstream's format, the root's at `<nil>`.
    let err = failed(&["create", "-f", &gadget("x1", "{min: 900, max: 500}")]);
    assert!(
        err.contains(r#"The Gadget "x1" is invalid: "#)
            && err.contains(r#"<nil>: Invalid value: "object": name must start with g"#)
            && err.contains(r#"spec: Invalid value: "object": min must not exceed max"#)
            && err.contains("spec.max: Forbidden: max is 500, the limit 99"),
        "{err}"
    );
    // Update: a transition rule sees the old value.
    let err = failed(&[
        "patch",
        "gadget",
        "g1",
        "--type=merge",
        "-p",
        r#"{"spec":{"mode":"slow"}}"#,
    ]);
    assert!(
        err.contains(r#"spec.mode: Invalid value: "string": mode is immutable"#),
        "{err}"
    );
    succeeded(&[
        "patch",
        "gadget",
        "g1",
        "--type=merge",
        "-p",
        r#"{"spec":{"max":7}}"#,
    ]);

    // Status: the subresource's writes are held to the schema and its rules; unknown
    // status fields are pruned.
    let err = failed(&[
        "patch",
        "gadget",
        "g1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Broken"}}"#,
    ]);
    assert!(
        err.contains(
            r#"status.phase: Unsupported value: "Broken": supported values: "Pending", "Ready""#
        ),
        "{err}"
    );
    let err = failed(&[
        "patch",
        "gadget",
        "g1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":11}}"#,
    ]);
    assert!(
        err.contains(
            r#"status: Invalid value: "object": failed rule: !has(self.ready) || self.ready <= 10"#
        ),
        "{err}"
    );
    succeeded(&[
        "patch",
        "gadget",
        "g1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Ready","ready":2,"extra":true}}"#,
    ]);
    let (status, _) = succeeded(&["get", "gadget", "g1", "-o", "jsonpath={.status}"]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status, serde_json::json!({"phase": "Ready", "ready": 2}));

    // Field validation: unknown fields are refused under Strict (kubectl's default),
    // reported under Warn, and pruned either way.
    let unknown = gadget("g2", "{min: 1, max: 2, bogus: true}");
    let err = failed(&["create", "-f", &unknown]);
    assert!(
        err.contains(r#"strict decoding error: unknown field "spec.bogus""#),
        "{err}"
    );
    let (_, warned) = succeeded(&["create", "--validate=warn", "-f", &unknown]);
    assert!(
        warned.contains(r#"Warning: unknown field "spec.bogus""#),
        "{warned}"
    );
    let (spec, _) = succeeded(&["get", "gadget", "g2", "-o", "jsonpath={.spec}"]);
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(spec, serde_json::json!({"min": 1, "max": 2}));
}

const BUDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: budgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: budgets, singular: budget, kind: Budget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "quantity(self.memory).compareTo(quantity('2Gi')) <= 0"
              message: "memory must be at most 2Gi"
            properties:
              memory:
                type: string
                maxLength: 20
                x-kubernetes-validations:
                - rule: "isQuantity(self)"
                  message: "memory must be a quantity"
              tags:
                type: array
                maxItems: 10
                items: {type: string, maxLength: 30}
"#;

#[test]
fn rules_are_checked_against_the_schema_and_use_the_quantity_library() {
    let c = Cluster::start(Backend::Embedded);
    let with_rule = |rule: &str| {
        c.file(
            "budget-bad.yaml",
            &BUDGET_CRD.replacen(
                "rule: \"quantity(self.memory).compareTo(quantity('2Gi')) <= 0\"",
                &format!("rule: {rule:?}"),
                1,
            ),
        )
    };
    // A field the schema does not have: cel-go's type error, at its column.
    let err = c.kubectl_err(&["apply", "-f", &with_rule("self.memroy != ''")]);
    assert!(
        err.contains(r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:"self.memroy != ''""#)
            && err.contains("compilation failed: ERROR: <input>:1:5: undefined field 'memroy'"),
        "{err}"
    );
    // A rule that is not a condition.
    let err = c.kubectl_err(&["apply", "-f", &with_rule("size(self.tags)")]);
    assert!(
        err.contains("cel expression must evaluate to a bool"),
        "{err}"
    );
    // A rule whose cost the schema does not bound: every pair of unbounded strings.
    let unbounded = c.file(
        "budget-costly.yaml",
        &BUDGET_CRD
            .replacen("maxItems: 10", "maxItems: 100000", 1)
            .replacen("maxLength: 30", "maxLength: 100000", 1)
            .replacen(
                "rule: \"quantity(self.memory).compareTo(quantity('2Gi')) <= 0\"",
                "rule: \"self.tags.all(a, self.tags.all(b, a == b || a.contains(b)))\"",
                1,
            ),
    );
    let err = c.kubectl_err(&["apply", "-f", &unbounded]);
    assert!(
        err.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"),
        "{err}"
    );
    // The same rule over the bounded list is accepted.
    let crd = c.file(
        "budgets.yaml",
        &BUDGET_CRD.replacen(
            "              message: \"memory must be at most 2Gi\"\n",
            "              message: \"memory must be at most 2Gi\"\n            - rule: \"self.tags.all(a, self.tags.all(b, a == b || !a.contains(b)))\"\n              message: \"no tag may contain another\"\n",
            1,
        ),
    );
    c.kubectl_ok(&["apply", "-f", &crd]);
    c.wait_for(
        &["crd", "budgets.example.com"],
        "{.status.conditions[?(@.type==\"Established\")].status}",
        "True",
        WAIT,
    );

    // A project admin's budgets: within the limit, over it, and not a quantity at all.
    c.kubectl_ok(&["create", "namespace", "team"]);
    let role = c.file(
        "role.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: budgets-admin\n  labels:\n    rbac.authorization.k8s.io/aggregate-to-admin: \"true\"\nrules:\n- apiGroups: [example.com]\n  resources: [budgets]\n  verbs: [\"*\"]\n",
    );
    c.kubectl_ok(&["apply", "-f", &role]);
    let alice = c.user_with_role("alice", &[], "admin", "team");
    let create = |name: &str, memory: &str| {
        let file = c.file(
            &format!("{name}.yaml"),
            &format!("apiVersion: example.com/v1\nkind: Budget\nmetadata:\n  name: {name}\nspec:\n  memory: {memory:?}\n  tags: [a, b]\n"),
        );
        let mut cmd = c.kubectl_command(&["-n", "team", "create", "-f", &file]);
        cmd.env("KUBECONFIG", &alice);
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let deadline = std::time::Instant::now() + WAIT;
    while !create("small", "1536Mi").0 {
        assert!(
            std::time::Instant::now() < deadline,
            "alice cannot create budgets"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, err) = create("big", "3Gi");
    assert!(!ok);
    assert!(
        err.contains(r#"The Budget "big" is invalid: spec: Invalid value: "object": memory must be at most 2Gi"#),
        "{err}"
    );
    let (ok, err) = create("odd", "lots");
    assert!(!ok);
    assert!(
        err.contains(r#"spec.memory: Invalid value: "string": memory must be a quantity"#),
        "{err}"
    );
}
