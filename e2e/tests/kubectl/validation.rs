//! Validation and apply as kubectl meets them: the OpenShift kinds' schemas, kubectl's own
//! validation of `List` files from the protobuf OpenAPI, server-side field validation, and
//! server-side apply's conflicts.

use e2e::{Backend, Cluster};

#[test]
fn openshift_kinds_apply_cleanly_and_validate_their_metadata() {
    let c = Cluster::start(Backend::Embedded);
    let route = |host: &str, extra: &str| {
        c.file(
            "route.yaml",
            &format!("apiVersion: route.openshift.io/v1\nkind: Route\nmetadata:\n  name: web\n{extra}spec:\n  host: {host}\n  to: {{kind: Service, name: web}}\n"),
        )
    };
    // Client-side apply merges them as custom resources: no warning about fields.
    for (host, verb) in [
        ("a.example.com", "created"),
        ("b.example.com", "configured"),
    ] {
        let out = c.kubectl(&["apply", "-f", &route(host, "")]);
        assert_eq!(
            (
                String::from_utf8_lossy(&out.stdout).as_ref(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (
                format!("route.route.openshift.io/web {verb}\n").as_str(),
                ""
            )
        );
    }
    assert_eq!(
        c.kubectl_ok(&["get", "route", "web", "-o", "jsonpath={.spec.host}"]),
        "b.example.com"
    );
    // Their metadata is ObjectMeta, checked strictly.
    let file = route("c.example.com", "  labelz: {a: b}\n");
    assert_eq!(
        c.kubectl_err(&["replace", "-f", &file]),
        format!(
            "Error from server (BadRequest): error when replacing \"{file}\": Route in version \"v1\" cannot be handled as a Route: strict decoding error: unknown field \"metadata.labelz\"\n"
        )
    );
}

#[test]
fn list_files_are_validated_by_kubectl_with_the_protobuf_openapi() {
    let c = Cluster::start(Backend::Embedded);
    // kubectl validates List files itself, from /openapi/v2 in protobuf.
    let bad = c.file(
        "bad-list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  bogus: 1\n",
    );
    assert_eq!(
        c.kubectl_err(&["apply", "-f", &bad]),
        format!(
            "error: error validating \"{bad}\": error validating data: ValidationError(ConfigMap): unknown field \"bogus\" in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these errors, turn validation off with --validate=false\n"
        )
    );
    // Kinds whose schema keeps unknown fields accept any.
    let good = c.file(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data: {k: v}\n- apiVersion: image.openshift.io/v1\n  kind: ImageStream\n  metadata: {name: ruby}\n  spec: {tags: [{name: a, from: {kind: DockerImage, name: x/y:1}}]}\n",
    );
    assert_eq!(
        c.kubectl_ok(&["apply", "-f", &good]),
        "configmap/a created\nimagestream.image.openshift.io/ruby created\n"
    );
}

#[test]
fn field_validation_strict_warn_and_ignore() {
    let c = Cluster::start(Backend::Embedded);
    let file = c.file(
        "typo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndata:\n  a: b\ndta:\n  c: d\n",
    );
    // kubectl validates strictly by default: on the server, with upstream's message.
    assert_eq!(
        c.kubectl_err(&["create", "-f", &file]),
        format!(
            "Error from server (BadRequest): error when creating \"{file}\": ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"dta\"\n"
        )
    );
    let out = c.kubectl(&["create", "-f", &file, "--validate=warn"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Warning: unknown field \"dta\"\n"
    );
    // Unknown fields are dropped, as upstream drops them.
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmap",
            "typo",
            "-o",
            "jsonpath={.data.a}|{.dta}"
        ]),
        "b|"
    );
    let out = c.kubectl(&["replace", "-f", &file, "--validate=false"]);
    assert!(out.status.success() && out.stderr.is_empty());
    // kubectl patch leaves validation to the server's default: a warning.
    let out = c.kubectl(&[
        "patch",
        "configmap",
        "typo",
        "--type=merge",
        "-p",
        r#"{"spec":{"x":1}}"#,
    ]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Warning: unknown field \"spec\"\n"
    );
}

#[test]
fn server_side_apply_conflicts_force_and_migration() {
    let c = Cluster::start(Backend::Embedded);
    let file = |name: &str, a: &str| {
        c.file(
            name,
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"{a}\"\n  b: \"2\"\n"),
        )
    };
    assert_eq!(
        c.kubectl_ok(&["apply", "--server-side", "-f", &file("one.yaml", "1")]),
        "configmap/ssa serverside-applied\n"
    );
    let fields = |c: &Cluster| {
        c.kubectl_ok(&[
            "get", "configmap", "ssa", "--show-managed-fields", "-o",
            "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}={.fieldsV1}{\"\\n\"}{end}",
        ])
    };
    assert_eq!(
        fields(&c),
        "kubectl/Apply={\"f:data\":{\"f:a\":{},\"f:b\":{}}}\n"
    );
    // Another manager applying another value conflicts, as upstream says it.
    let other = file("two.yaml", "9");
    let err = c.kubectl_err(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        &other,
    ]);
    assert!(
        err.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"kubectl\" using v1: .data.a\n"
        ),
        "{err}"
    );
    c.kubectl_ok(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        &other,
    ]);
    assert_eq!(
        fields(&c),
        "kubectl/Apply={\"f:data\":{\"f:b\":{}}}\nother/Apply={\"f:data\":{\"f:a\":{},\"f:b\":{}}}\n"
    );
    // An edit is an update: its manager owns what it changed.
    c.kubectl_ok(&["patch", "configmap", "ssa", "-p", r#"{"data":{"c":"3"}}"#]);
    assert!(fields(&c).contains("kubectl-patch/Update={\"f:data\":{\"f:c\":{}}}"));

    // An object applied client-side moves to server-side apply (kubectl's migration).
    let csa = c.file(
        "csa.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"1\"\n  b: \"2\"\n",
    );
    c.kubectl_ok(&["apply", "-f", &csa]);
    c.kubectl_ok(&["apply", "--server-side", "-f", &csa]);
    std::fs::write(
        &csa,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  b: \"2\"\n",
    )
    .unwrap();
    c.kubectl_ok(&["apply", "--server-side", "-f", &csa]);
    // The field no longer applied is gone: the client-side manager handed it over.
    assert_eq!(
        c.kubectl_ok(&["get", "configmap", "csa", "-o", "jsonpath={.data}"]),
        r#"{"b":"2"}"#
    );
}
