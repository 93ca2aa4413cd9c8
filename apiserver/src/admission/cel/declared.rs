//! The types upstream declares for the variables admission expressions see besides the
//! object: `request` (an admission.k8s.io/v1 AdmissionRequest as CEL sees it),
//! `namespaceObject` (a Namespace, without the fields upstream leaves out) and `authorizer`
//! with the checks its methods build. Their fields are closed, so a field they lack is
//! refused when the expression is compiled, as cel-go's checker refuses it.

use std::sync::Arc;

use super::shape::{MAX_REQUEST_BYTES, Shape};

pub const AUTHORIZER: &str = "kubernetes.authorization.Authorizer";
pub const PATH_CHECK: &str = "kubernetes.authorization.PathCheck";
pub const GROUP_CHECK: &str = "kubernetes.authorization.GroupCheck";
pub const RESOURCE_CHECK: &str = "kubernetes.authorization.ResourceCheck";
pub const DECISION: &str = "kubernetes.authorization.Decision";

fn string() -> Shape {
    Shape::String(MAX_REQUEST_BYTES)
}

fn strings() -> Shape {
    Shape::List(Box::new(string()), MAX_REQUEST_BYTES / 3)
}

fn timestamp() -> Shape {
    Shape::Named("google.protobuf.Timestamp")
}

fn object(name: &'static str, fields: &[(&str, Shape)]) -> Shape {
    Shape::Declared(
        name,
        Arc::new(
            fields
                .iter()
                .map(|(n, s)| (n.to_string(), s.clone()))
                .collect(),
        ),
    )
}

/// `request`: upstream's `kubernetes.AdmissionRequest` (`options` is anything).
pub fn request() -> Shape {
    let gvk = object(
        "kubernetes.GroupVersionKind",
        &[
            ("group", string()),
            ("version", string()),
            ("kind", string()),
        ],
    );
    let gvr = object(
        "kubernetes.GroupVersionResource",
        &[
            ("group", string()),
            ("version", string()),
            ("resource", string()),
        ],
    );
    let user = object(
        "kubernetes.UserInfo",
        &[
            ("username", string()),
            ("uid", string()),
            ("groups", strings()),
            (
                "extra",
                Shape::Map(Box::new(strings()), MAX_REQUEST_BYTES / 4),
            ),
        ],
    );
    object(
        "kubernetes.AdmissionRequest",
        &[
            ("kind", gvk.clone()),
            ("resource", gvr.clone()),
            ("subResource", string()),
            ("requestKind", gvk),
            ("requestResource", gvr),
            ("requestSubResource", string()),
            ("name", string()),
            ("namespace", string()),
            ("operation", string()),
            ("userInfo", user),
            ("dryRun", Shape::Bool),
            ("options", Shape::Dyn),
        ],
    )
}

/// `namespaceObject`: upstream's `kubernetes.Namespace` (its metadata's uid is `UID`, as
/// upstream declares it).
pub fn namespace() -> Shape {
    let labels = || Shape::Map(Box::new(string()), MAX_REQUEST_BYTES / 4);
    let condition = object(
        "kubernetes.NamespaceCondition",
        &[
            ("status", string()),
            ("type", string()),
            ("lastTransitionTime", timestamp()),
            ("message", string()),
            ("reason", string()),
        ],
    );
    let metadata = object(
        "kubernetes.NamespaceMetadata",
        &[
            ("name", string()),
            ("generateName", string()),
            ("namespace", string()),
            ("labels", labels()),
            ("annotations", labels()),
            ("UID", string()),
            ("creationTimestamp", timestamp()),
            ("deletionGracePeriodSeconds", Shape::Int),
            ("deletionTimestamp", timestamp()),
            ("generation", Shape::Int),
            ("resourceVersion", string()),
            ("finalizers", strings()),
        ],
    );
    object(
        "kubernetes.Namespace",
        &[
            ("metadata", metadata),
            (
                "spec",
                object("kubernetes.NamespaceSpec", &[("finalizers", strings())]),
            ),
            (
                "status",
                object(
                    "kubernetes.NamespaceStatus",
                    &[
                        (
                            "conditions",
                            Shape::List(Box::new(condition), MAX_REQUEST_BYTES / 10),
                        ),
                        ("phase", string()),
                    ],
                ),
            ),
        ],
    )
}

/// The variables every admission expression is compiled with, `object`, `oldObject` and
/// `params` left to the kinds they are checked against.
pub fn variables() -> Vec<(&'static str, Shape)> {
    vec![
        ("request", request()),
        ("namespaceObject", namespace()),
        ("authorizer", Shape::Named(AUTHORIZER)),
    ]
}

/// `authorizer.requestResource`, a field of the authorizer.
pub fn authorizer_field(field: &str) -> Option<Shape> {
    (field == "requestResource").then_some(Shape::Named(RESOURCE_CHECK))
}

/// What a method of the authorizer's types returns, given its arguments are strings (`None`
/// when the type has no such method of that many arguments).
pub fn authorizer_method(receiver: &str, method: &str, arguments: usize) -> Option<Shape> {
    let shape = match (receiver, method, arguments) {
        (AUTHORIZER, "group", 1) => Shape::Named(GROUP_CHECK),
        (AUTHORIZER, "path", 1) => Shape::Named(PATH_CHECK),
        (AUTHORIZER, "serviceAccount", 2) => Shape::Named(AUTHORIZER),
        (GROUP_CHECK, "resource", 1) => Shape::Named(RESOURCE_CHECK),
        (
            RESOURCE_CHECK,
            "subresource" | "namespace" | "name" | "fieldSelector" | "labelSelector",
            1,
        ) => Shape::Named(RESOURCE_CHECK),
        (RESOURCE_CHECK | PATH_CHECK, "check", 1) => Shape::Named(DECISION),
        (DECISION, "allowed" | "errored", 0) => Shape::Bool,
        (DECISION, "reason" | "error", 0) => string(),
        _ => return None,
    };
    Some(shape)
}

/// Whether `name` is one of the authorizer's types.
pub fn is_authorizer_type(name: &str) -> bool {
    [
        AUTHORIZER,
        PATH_CHECK,
        GROUP_CHECK,
        RESOURCE_CHECK,
        DECISION,
    ]
    .contains(&name)
}

#[cfg(test)]
mod tests {
    use super::super::compile_admission;

    fn refusal(source: &str) -> String {
        compile_admission(source).expect_err("refused")
    }

    #[test]
    fn request_and_namespace_fields_are_closed() {
        assert_eq!(
            refusal("request.userInfo.usernam == ''"),
            "compilation failed: ERROR: <input>:1:17: undefined field 'usernam'\n | request.userInfo.usernam == ''\n | ................^"
        );
        assert_eq!(
            refusal("namespaceObject.metadata.uid != ''"),
            "compilation failed: ERROR: <input>:1:25: undefined field 'uid'\n | namespaceObject.metadata.uid != ''\n | ........................^"
        );
        assert_eq!(
            refusal("request.dryRun > 1"),
            "compilation failed: ERROR: <input>:1:16: found no matching overload for '_>_' applied to '(bool, int)'\n | request.dryRun > 1\n | ...............^"
        );
        // The declared types' names, in cel-go's words.
        assert_eq!(
            refusal("request.userInfo.startsWith('a')"),
            "compilation failed: ERROR: <input>:1:28: found no matching overload for 'startsWith' applied to 'kubernetes.UserInfo.(string)'\n | request.userInfo.startsWith('a')\n | ...........................^"
        );
        assert_eq!(
            refusal("namespaceObject.status == 1"),
            "compilation failed: ERROR: <input>:1:24: found no matching overload for '_==_' applied to '(kubernetes.NamespaceStatus, int)'\n | namespaceObject.status == 1\n | .......................^"
        );
        for fine in [
            "request.userInfo.username == 'alice' && request.kind.kind == 'Pod'",
            "request.userInfo.groups.exists(g, g == 'admins')",
            "request.userInfo.extra['scopes'].all(s, s != '')",
            "has(request.subResource) && request.options.fieldManager == 'x'",
            "namespaceObject.metadata.labels['env'] == 'prod'",
            "namespaceObject.status.conditions.all(c, c.reason != '')",
            "request.kind == request.requestKind",
            "object.anything.goes && oldObject.too && params.and.these",
        ] {
            assert!(compile_admission(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn authorizer_methods_are_typed() {
        for fine in [
            "authorizer.group('apps').resource('deployments').namespace('p').name('web').check('update').allowed()",
            "authorizer.path('/healthz').check('get').reason() != ''",
            "authorizer.serviceAccount('ns', 'sa').group('').resource('pods').subresource('log').check('get').errored()",
            "authorizer.requestResource.check('create').allowed()",
            "authorizer.requestResource.labelSelector('a=b').check('list').error() == ''",
        ] {
            assert!(compile_admission(fine).is_ok(), "{fine}");
        }
        assert_eq!(
            refusal("authorizer.allowed()"),
            "compilation failed: ERROR: <input>:1:19: found no matching overload for 'allowed' applied to 'kubernetes.authorization.Authorizer.()'\n | authorizer.allowed()\n | ..................^"
        );
        assert_eq!(
            refusal("authorizer.group('apps').resource('deployments').check(1).allowed()"),
            "compilation failed: ERROR: <input>:1:55: found no matching overload for 'check' applied to 'kubernetes.authorization.ResourceCheck.(int)'\n | authorizer.group('apps').resource('deployments').check(1).allowed()\n | ......................................................^"
        );
    }
}
