//! project.openshift.io: projects are namespaces as their users see them. `projects` lists
//! only the namespaces the caller may `get`; `projectrequests` creates a namespace for the
//! requester (with the requester, display name and description annotations) and makes the
//! requester its `admin` through a RoleBinding.

use api::scheme::ResourceDef;
use auth::rbac::{Attributes, Policy, UserInfo};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use storage::ListOptions;

use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::{ApiError, Target, from_storage};
use crate::http::serve::User;
use crate::registry::object;
use crate::registry::response::Output;

const REQUESTER: &str = "openshift.io/requester";
const DISPLAY_NAME: &str = "openshift.io/display-name";
const DESCRIPTION: &str = "openshift.io/description";

fn namespaces(server: &ApiServer) -> Result<&ResourceDef, ApiError> {
    server
        .scheme
        .lookup("", "v1", "namespaces")
        .ok_or(ApiError::PathNotFound)
}

fn target(name: &str) -> Target {
    Target {
        group: "project.openshift.io".into(),
        resource: "projects".into(),
        name: name.into(),
    }
}

/// A namespace as a Project.
pub(crate) fn project(namespace: Value) -> Value {
    json!({
        "kind": "Project",
        "apiVersion": "project.openshift.io/v1",
        "metadata": namespace["metadata"],
        "spec": namespace["spec"],
        "status": namespace["status"],
    })
}

/// Whether `user` may see the namespace (`get` it, through any binding).
pub(crate) fn visible(policy: &Policy, user: &UserInfo, name: &str) -> bool {
    let attrs = Attributes {
        verb: "get".into(),
        namespace: name.into(),
        resource: "namespaces".into(),
        name: name.into(),
        resource_request: true,
        ..Default::default()
    };
    policy.authorize(user, &attrs).allowed()
}

/// `projects`: list (visible ones), get, delete.
pub async fn projects(
    server: &ApiServer,
    def: &ResourceDef,
    verb: &str,
    name: &str,
    user: &User,
    out: Output,
) -> Result<Response, ApiError> {
    let ns_def = namespaces(server)?;
    match verb {
        "list" => {
            let list = server
                .store
                .list(&ns_def.key_prefix(), ListOptions::default())
                .await
                .map_err(|e| from_storage(e, target("")))?;
            let (policy, who) = (server.authorizer.policy().await, user_info(user));
            let mut items = Vec::new();
            for kv in &list.kvs {
                let ns = object::from_store(kv)?;
                if visible(&policy, &who, object::meta_str(&ns, "name")) {
                    items.push(project(ns));
                }
            }
            let metadata = json!({"resourceVersion": list.revision.to_string()});
            Ok(out.list(def, metadata, items))
        }
        "get" => {
            let ns = server
                .get_object(ns_def, None, name)
                .await?
                .ok_or_else(|| ApiError::NotFound(target(name)))?;
            Ok(out.object(def, project(ns)))
        }
        "delete" => {
            // The namespace terminates: its content goes first, then it does.
            let (found, _) = server
                .store
                .get(&ns_def.key(None, name), None)
                .await
                .map_err(|e| crate::error::from_storage(e, target(name)))?;
            let current = found.ok_or_else(|| ApiError::NotFound(target(name)))?;
            let ns = object::from_store(&current)?;
            // The namespace's deletion is admitted as a deletion of the namespace itself is,
            // as upstream's project storage deletes it through the namespaces API.
            let admitted = crate::admission::Attributes {
                operation: crate::admission::Operation::Delete,
                def: ns_def,
                subresource: "",
                namespace: None,
                name,
                user: Some(user),
                old: Some(&ns),
                dry_run: false,
                namespace_object: Default::default(),
            };
            crate::admission::validate(server, &admitted, &ns).await?;
            let options = crate::registry::generic::deletion::DeleteOptions::default();
            crate::registry::generic::delete::carry_out(
                server,
                ns_def,
                &crate::registry::core::Namespaces,
                &current,
                &ns,
                &options,
                false,
            )
            .await?;
            Ok(out.respond(
                StatusCode::OK,
                def,
                crate::registry::response::deleted(def, name, ""),
            ))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Names no project may be requested under, and prefixes no requested name may start with:
/// they belong to the platform.
const RESERVED_NAMES: &[&str] = &["openshift", "kubernetes", "kube"];
const RESERVED_PREFIXES: &[&str] = &["openshift-", "kubernetes-", "kube-"];

/// Upstream's refusal of a reserved project name (403).
fn refuse_reserved(name: &str) -> Result<(), ApiError> {
    let why = if RESERVED_NAMES.contains(&name) {
        format!("cannot request a project with the name {name:?}")
    } else if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(**p)) {
        format!("cannot request a project starting with {prefix:?}")
    } else {
        return Ok(());
    };
    Err(ApiError::Forbidden {
        target: crate::error::Target {
            group: "project.openshift.io".into(),
            resource: "project".into(),
            name: name.into(),
        },
        message: why,
    })
}

/// `projectrequests`: list answers whether the caller may self-provision (it got past
/// authorization); create provisions the project.
pub async fn project_requests(
    server: &ApiServer,
    def: &ResourceDef,
    verb: &str,
    body: Option<Value>,
    user: &User,
    out: Output,
) -> Result<Response, ApiError> {
    let status = |s: api::status::Status| {
        serde_json::to_value(s).map_err(|e| ApiError::Internal(e.to_string()))
    };
    if verb == "list" {
        let allowed = api::status::Status::success(Default::default());
        return Ok(out.respond(StatusCode::OK, def, status(allowed)?));
    }
    let request = body.unwrap_or(Value::Null);
    let name = object::meta_str(&request, "name").to_string();
    let problems = api::names::dns1123_label(&name);
    if !problems.is_empty() {
        return Err(ApiError::Invalid {
            kind: "ProjectRequest".into(),
            target: target(&name),
            causes: vec![api::status::StatusCause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {name:?}: {}", problems.join(", ")),
                field: "metadata.name".into(),
            }],
        });
    }
    refuse_reserved(&name)?;
    let ns_def = namespaces(server)?;
    let mut annotations = json!({REQUESTER: user.name});
    for (field, key) in [("displayName", DISPLAY_NAME), ("description", DESCRIPTION)] {
        if let Some(v) = request[field].as_str().filter(|v| !v.is_empty()) {
            annotations[key] = json!(v);
        }
    }
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "annotations": annotations}});
    let ns = server
        .create_object(ns_def, ns)
        .await
        .map_err(|e| match e {
            // Upstream names the singular resource here: `project.project.openshift.io`.
            ApiError::AlreadyExists(_) => ApiError::AlreadyExists(Target {
                resource: "project".into(),
                ..target(&name)
            }),
            e => e,
        })?;
    let binding_def = server
        .scheme
        .lookup("rbac.authorization.k8s.io", "v1", "rolebindings")
        .ok_or(ApiError::PathNotFound)?;
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "admin", "namespace": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user.name}],
    });
    server.create_object(binding_def, binding).await?;
    let project_def = server
        .scheme
        .lookup("project.openshift.io", "v1", "projects")
        .ok_or(ApiError::PathNotFound)?;
    Ok(out.respond(StatusCode::CREATED, project_def, project(ns)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_cannot_be_requested() {
        let refused = |name: &str| refuse_reserved(name).unwrap_err().status().message;
        assert_eq!(
            refused("openshift-evil"),
            "project.project.openshift.io \"openshift-evil\" is forbidden: cannot request a project starting with \"openshift-\""
        );
        assert_eq!(
            refused("kube-evil"),
            "project.project.openshift.io \"kube-evil\" is forbidden: cannot request a project starting with \"kube-\""
        );
        assert_eq!(
            refused("openshift"),
            "project.project.openshift.io \"openshift\" is forbidden: cannot request a project with the name \"openshift\""
        );
        assert!(refuse_reserved("default").is_ok(), "taken, not reserved");
        assert!(refuse_reserved("my-kube-app").is_ok());
    }
}
