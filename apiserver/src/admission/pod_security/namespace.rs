//! Namespace writes: their Pod Security labels must be valid (on an update, only when they
//! changed), and a stricter enforce level is tried on the namespace's pods, each kind of
//! violation answered with a warning naming a pod, as upstream's dry run.

use serde_json::Value;

use super::checks::evaluate;
use super::policy::{Level, LevelVersion, Policy};
use super::{Admitted, Attributes, EXEMPT_NAMESPACES, Operation};
use crate::ApiServer;
use crate::error::ApiError;

/// Pods looked at, at most, when the enforce level changes.
const MAX_PODS: usize = 3000;

pub async fn check(
    server: &ApiServer,
    a: &Attributes<'_>,
    namespace: &Value,
) -> Result<Admitted, ApiError> {
    let (new, errors) =
        Policy::from_labels(&namespace["metadata"]["labels"], Policy::OPENSHIFT_DEFAULTS);
    let Some(old_namespace) = a.old.filter(|_| a.operation == Operation::Update) else {
        errors.into_result(a.def, namespace)?;
        return Ok(Admitted::default());
    };
    let (old, old_errors) = Policy::from_labels(
        &old_namespace["metadata"]["labels"],
        Policy::OPENSHIFT_DEFAULTS,
    );
    if !errors.is_empty() && (old_errors.is_empty() || errors.summary() != old_errors.summary()) {
        errors.into_result(a.def, namespace)?;
    }
    let name = namespace["metadata"]["name"].as_str().unwrap_or(a.name);
    let unchanged = new.enforce == old.enforce;
    let relaxed =
        new.enforce.version == old.enforce.version && new.enforce.level <= old.enforce.level;
    if unchanged
        || new.enforce.level == Level::Privileged
        || relaxed
        || EXEMPT_NAMESPACES.contains(&name)
    {
        return Ok(Admitted::default());
    }
    let def = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    let warnings = match server.list_objects(def, Some(name)).await {
        Ok(pods) => dry_run(name, new.enforce, &pods),
        Err(_) => vec!["failed to list pods while checking new PodSecurity enforce level".into()],
    };
    Ok(Admitted { warnings })
}

/// Upstream's warnings for the pods `enforce` would refuse: a summary, then one line per
/// distinct set of reasons, naming the first pod (by name) and how many others share it.
pub fn dry_run(namespace: &str, enforce: LevelVersion, pods: &[Value]) -> Vec<String> {
    let checked = &pods[..pods.len().min(MAX_PODS)];
    // reasons -> (first pod name, count), in the order first seen
    let mut found: Vec<(String, String, usize)> = Vec::new();
    for pod in checked {
        let verdict = evaluate(
            enforce.level,
            enforce.version,
            &pod["metadata"],
            &pod["spec"],
        );
        if verdict.allowed() {
            continue;
        }
        let reasons = verdict.reasons();
        let name = pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match found.iter_mut().find(|(r, _, _)| *r == reasons) {
            Some((_, first, count)) => {
                *count += 1;
                if name < *first {
                    *first = name;
                }
            }
            None => found.push((reasons, name, 1)),
        }
    }
    let mut warnings = Vec::new();
    if checked.len() < pods.len() {
        warnings.push(format!(
            "new PodSecurity enforce level only checked against the first {} of {} existing pods",
            checked.len(),
            pods.len()
        ));
    }
    if !found.is_empty() {
        warnings.push(format!(
            "existing pods in namespace {namespace:?} violate the new PodSecurity enforce level {:?}",
            enforce.to_string()
        ));
    }
    let mut lines: Vec<String> = found
        .into_iter()
        .map(|(reasons, first, count)| match count {
            1 => format!("{first}: {reasons}"),
            2 => format!("{first} (and 1 other pod): {reasons}"),
            n => format!("{first} (and {} other pods): {reasons}", n - 1),
        })
        .collect();
    lines.sort();
    warnings.extend(lines);
    warnings
}
