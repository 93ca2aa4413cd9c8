//! A binding's parameters: the objects of the policy's `paramKind` its `paramRef` names (by
//! name or label selector, in its namespace or the request's), read from their watch cache.

use serde_json::Value;

use super::compiled::{Binding, Policy};
use crate::ApiServer;
use crate::admission::{Attributes, matching};

/// The parameter objects to evaluate the policy with: `[None]` for a policy without
/// `paramKind`, none at all when they are missing and the binding allows that.
pub async fn resolve(
    server: &ApiServer,
    policy: &Policy,
    binding: &Binding,
    a: &Attributes<'_>,
) -> Result<Vec<Option<Value>>, String> {
    let Some((api_version, kind)) = &policy.param_kind else {
        return Ok(vec![None]);
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let def = server
        .scheme
        .group_version(group, version)
        .find(|d| d.kind == kind.as_str())
        .ok_or_else(|| {
            format!("failed to find resource referenced by paramKind: '{api_version}, Kind={kind}'")
        })?;
    let Some(param_ref) = &binding.param_ref else {
        return Err(format!(
            "ValidatingAdmissionPolicy '{}' has paramKind but binding '{}' has no paramRef",
            policy.name, binding.name
        ));
    };
    let namespace = match def.namespaced() {
        false => None,
        true => match param_ref.namespace.as_deref().or(a.namespace) {
            Some(ns) => Some(ns),
            None => {
                return Err(
                    "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources"
                        .into(),
                );
            }
        },
    };
    let cache = server
        .watch_caches
        .of(def)
        .await
        .map_err(|e| e.to_string())?;
    let found: Vec<Value> = match (&param_ref.name, &param_ref.selector) {
        (Some(name), _) => cache
            .get(&def.key(namespace, name))
            .and_then(|c| serde_json::from_slice(&c.json).ok())
            .into_iter()
            .collect(),
        (None, Some(selector)) => {
            let (objects, _) = cache.snapshot(&def.namespace_prefix(namespace));
            objects
                .iter()
                .filter_map(|(_, c)| serde_json::from_slice::<Value>(&c.json).ok())
                .filter(|o| selector.matches(matching::labels(Some(o))))
                .collect()
        }
        (None, None) => Vec::new(),
    };
    if found.is_empty() {
        return match param_ref.deny_if_missing {
            true => {
                Err("no params found for policy binding with `Deny` parameterNotFoundAction".into())
            }
            false => Ok(Vec::new()),
        };
    }
    Ok(found.into_iter().map(Some).collect())
}
