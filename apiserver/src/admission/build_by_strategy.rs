//! `build.openshift.io/BuildByStrategy`: writing a Build or BuildConfig, or starting a build
//! through `instantiate` or `clone`, needs `create` on the strategy's `builds/<strategy>`
//! (`builds/docker`, `builds/optimizeddocker`, `builds/source`, `builds/custom`,
//! `builds/jenkinspipeline`) in the namespace, refused with upstream's message. Updates that
//! only touch what the garbage collector writes are let through, as upstream.

use auth::rbac::Attributes as RbacAttributes;
use serde_json::Value;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::{ApiError, Target};
use crate::http::serve::User;

pub const NAME: &str = "build.openshift.io/BuildByStrategy";

const GROUP: &str = "build.openshift.io";

pub fn applies(a: &Attributes<'_>) -> bool {
    a.def.group == GROUP
        && matches!(a.def.plural, "builds" | "buildconfigs")
        && a.subresource.is_empty()
        && matches!(a.operation, Operation::Create | Operation::Update)
        && a.user.is_some()
}

/// The strategy's subresource of `builds` and its name in messages; an error for a spec
/// without a known strategy.
fn strategy_of(strategy: &Value) -> Result<(&'static str, &'static str), String> {
    let docker = &strategy["dockerStrategy"];
    let optimized = docker["imageOptimizationPolicy"]
        .as_str()
        .is_some_and(|p| !p.is_empty() && p != "None");
    if docker.is_object() && optimized {
        Ok(("optimizeddocker", "Docker"))
    } else if docker.is_object() {
        Ok(("docker", "Docker"))
    } else if strategy["customStrategy"].is_object() {
        Ok(("custom", "Custom"))
    } else if strategy["sourceStrategy"].is_object() {
        Ok(("source", "Source"))
    } else if strategy["jenkinsPipelineStrategy"].is_object() {
        Ok(("jenkinspipeline", "JenkinsPipeline"))
    } else {
        Err(format!("unrecognized build strategy: {strategy}"))
    }
}

/// The object without what the garbage collector changes (and what every write changes).
fn without_gc_fields(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(meta) = copy["metadata"].as_object_mut() {
        for field in [
            "ownerReferences",
            "finalizers",
            "resourceVersion",
            "managedFields",
            "generation",
        ] {
            meta.remove(field);
        }
    }
    copy
}

pub async fn check(server: &ApiServer, a: &Attributes<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(user) = a.user else {
        return Ok(());
    };
    if let Some(old) = a.old
        && without_gc_fields(old) == without_gc_fields(obj)
    {
        return Ok(());
    }
    let target = Target {
        group: GROUP.into(),
        resource: a.def.plural.into(),
        name: obj["metadata"]["name"].as_str().unwrap_or(a.name).into(),
    };
    let namespace = a.namespace.unwrap_or_default();
    check_strategy(server, user, namespace, &obj["spec"]["strategy"], target).await
}

/// Whether `user` may start builds of `strategy` in `namespace`; refused as about `target`
/// (the object written, or the config or build a request names).
pub async fn check_strategy(
    server: &ApiServer,
    user: &User,
    namespace: &str,
    strategy: &Value,
    target: Target,
) -> Result<(), ApiError> {
    let (subresource, shown) = strategy_of(strategy).map_err(|message| ApiError::Forbidden {
        target: target.clone(),
        message,
    })?;
    let allowed = server
        .authorizer
        .policy()
        .await
        .authorize(
            &user_info(user),
            &RbacAttributes {
                verb: "create".into(),
                namespace: namespace.into(),
                api_group: GROUP.into(),
                resource: "builds".into(),
                subresource: subresource.into(),
                name: target.name.clone(),
                resource_request: true,
                ..Default::default()
            },
        )
        .allowed();
    match allowed {
        true => Ok(()),
        false => Err(ApiError::Forbidden {
            target,
            message: format!("build strategy {shown} is not allowed"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_strategy_has_its_subresource() {
        let of = |s: Value| strategy_of(&s).map(|(r, _)| r);
        assert_eq!(of(json!({"dockerStrategy": {}})), Ok("docker"));
        assert_eq!(
            of(json!({"dockerStrategy": {"imageOptimizationPolicy": "SkipLayers"}})),
            Ok("optimizeddocker")
        );
        assert_eq!(
            of(json!({"dockerStrategy": {"imageOptimizationPolicy": "None"}})),
            Ok("docker")
        );
        assert_eq!(of(json!({"customStrategy": {}})), Ok("custom"));
        assert_eq!(of(json!({"sourceStrategy": {}})), Ok("source"));
        assert_eq!(
            of(json!({"jenkinsPipelineStrategy": {}})),
            Ok("jenkinspipeline")
        );
        assert!(of(json!({})).is_err());
    }

    #[test]
    fn garbage_collector_writes_are_recognised() {
        let old = json!({"metadata": {"name": "b", "resourceVersion": "1"}, "spec": {"x": 1}});
        let gc = json!({"metadata": {"name": "b", "resourceVersion": "2",
            "ownerReferences": [{"uid": "u"}]}, "spec": {"x": 1}});
        assert_eq!(without_gc_fields(&old), without_gc_fields(&gc));
        let changed = json!({"metadata": {"name": "b"}, "spec": {"x": 2}});
        assert_ne!(without_gc_fields(&old), without_gc_fields(&changed));
    }
}
