//! Namespace writes: their Pod Security labels must be valid (on an update, only when they
//! changed), and a stricter enforce level is tried on the namespace's pods, each kind of
//! violation answered with a warning naming a pod, as upstream's dry run (pods of exempt
//! runtime classes left out). A namespace the configuration exempts is warned that its
//! labels will be ignored.

use serde_json::Value;

use super::checks::evaluate;
use super::config::Configuration;
use super::policy::{LABEL_PREFIX, Level, LevelVersion, Policy};
use super::{Admitted, Attributes, Operation, exempt_namespace};
use crate::ApiServer;
use crate::error::ApiError;

/// Pods looked at, at most, when the enforce level changes.
const MAX_PODS: usize = 3000;

pub async fn check(
    server: &ApiServer,
    config: &Configuration,
    a: &Attributes<'_>,
    namespace: &Value,
) -> Result<Admitted, ApiError> {
    let labels = &namespace["metadata"]["labels"];
    let (new, errors) = Policy::from_labels(labels, config.defaults);
    let name = namespace["metadata"]["name"].as_str().unwrap_or(a.name);
    // Only the namespaces the configuration exempts are warned of, as upstream warns.
    let exempt = || Admitted {
        warnings: exempt_warning(config, name, &new, labels)
            .filter(|_| config.exempt_namespace(name))
            .into_iter()
            .collect(),
    };
    let Some(old_namespace) = a.old.filter(|_| a.operation == Operation::Update) else {
        errors.into_result(a.def, namespace)?;
        return Ok(match exempt_namespace(config, name) {
            true => exempt(),
            false => Admitted::default(),
        });
    };
    let (old, old_errors) =
        Policy::from_labels(&old_namespace["metadata"]["labels"], config.defaults);
    if !errors.is_empty() && (old_errors.is_empty() || errors.summary() != old_errors.summary()) {
        errors.into_result(a.def, namespace)?;
    }
    let unchanged = new.enforce == old.enforce;
    let relaxed =
        new.enforce.version == old.enforce.version && new.enforce.level <= old.enforce.level;
    if unchanged || new.enforce.level == Level::Privileged || relaxed {
        return Ok(Admitted::default());
    }
    if exempt_namespace(config, name) {
        return Ok(exempt());
    }
    let def = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    let warnings = match server.list_objects(def, Some(name)).await {
        Ok(mut pods) => {
            pods.retain(|p| !config.exempt_runtime_class(&p["spec"]));
            dry_run(name, new.enforce, &pods)
        }
        Err(_) => vec!["failed to list pods while checking new PodSecurity enforce level".into()],
    };
    Ok(Admitted { warnings })
}

/// Upstream's warning for an exempt namespace labelled with a policy that is neither fully
/// privileged nor the cluster's default: the modes its labels set, not privileged.
fn exempt_warning(
    config: &Configuration,
    name: &str,
    policy: &Policy,
    labels: &Value,
) -> Option<String> {
    if policy.fully_privileged() || policy.equivalent(&config.defaults) {
        return None;
    }
    let set = |mode: &str| {
        labels.get(format!("{LABEL_PREFIX}{mode}")).is_some()
            || labels
                .get(format!("{LABEL_PREFIX}{mode}-version"))
                .is_some()
    };
    let modes = [
        ("enforce", policy.enforce),
        ("audit", policy.audit),
        ("warn", policy.warn),
    ];
    let named: Vec<String> = modes
        .iter()
        .filter(|(mode, lv)| lv.level != Level::Privileged && set(mode))
        .map(|(mode, lv)| format!("{mode}={lv}"))
        .collect();
    Some(format!(
        "namespace {name:?} is exempt from Pod Security, and the policy ({}) will be ignored",
        named.join(", ")
    ))
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
