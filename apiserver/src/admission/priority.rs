//! Upstream's `Priority`: a new pod gets the `priority` and `preemptionPolicy` of the
//! PriorityClass it names, or of the cluster's default class (whose name it then gets), or 0
//! and `PreemptLowerPriority` when there is none; a pod naming a class that does not exist, or
//! asking another priority or policy than its class gives, is refused. An update keeps what
//! the create set. At most one PriorityClass may be the global default.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "Priority";

/// The policy of pods when no class gives one.
const DEFAULT_PREEMPTION_POLICY: &str = "PreemptLowerPriority";

/// Pods, created or updated.
pub fn applies_to_pods(a: &Attributes<'_>) -> bool {
    a.is_object_of("", "pods") && writes(a)
}

/// Priority classes, created or updated.
pub fn applies_to_classes(a: &Attributes<'_>) -> bool {
    a.is_object_of("scheduling.k8s.io", "priorityclasses") && writes(a)
}

fn writes(a: &Attributes<'_>) -> bool {
    matches!(a.operation, Operation::Create | Operation::Update)
}

/// One class as pods take it.
#[derive(Clone, Debug, PartialEq)]
struct Class {
    value: i64,
    preemption_policy: Option<String>,
}

/// Every class by name, and the global default.
#[derive(Debug, Default)]
pub(super) struct Classes {
    by_name: HashMap<String, Class>,
    default: Option<(String, Class)>,
}

impl Classes {
    fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Classes {
        let mut classes = Classes::default();
        for obj in objects {
            let Some(name) = obj["metadata"]["name"].as_str() else {
                continue;
            };
            let class = Class {
                value: obj["value"].as_i64().unwrap_or(0),
                preemption_policy: obj["preemptionPolicy"].as_str().map(str::to_string),
            };
            // Should a race leave two defaults, the lower value wins, as upstream's.
            let lower = |(n, d): &(String, Class)| (class.value, name) < (d.value, n.as_str());
            if obj["globalDefault"] == true && classes.default.as_ref().is_none_or(lower) {
                classes.default = Some((name.to_string(), class.clone()));
            }
            classes.by_name.insert(name.to_string(), class);
        }
        classes
    }
}

/// The classes as the watch cache holds them (once it holds this server's own writes of
/// them: a class just created is found by the next pod), derived again when they change.
async fn classes(server: &ApiServer) -> Result<Arc<Classes>, ApiError> {
    let (def, fresh) = server
        .fresh_named_cache("scheduling.k8s.io", "v1", "priorityclasses")
        .await?;
    let Some(cache) = fresh else {
        let objects = server.list_objects(def, None).await?;
        return Ok(Arc::new(Classes::from_objects(&objects)));
    };
    Ok(server
        .admission
        .state
        .priority_classes
        .get_or_derive(&cache, |cache| {
            let (objects, _) = cache.snapshot(&def.key_prefix());
            let parsed: Vec<Value> = objects
                .iter()
                .filter_map(|(_, o)| serde_json::from_slice(&o.json).ok())
                .collect();
            Classes::from_objects(&parsed)
        }))
}

/// Sets a new pod's priority from its class; keeps an updated pod's.
pub async fn admit(
    server: &ApiServer,
    a: &Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    if a.operation == Operation::Update {
        keep_on_update(pod, a.old);
        return Ok(());
    }
    let classes = classes(server).await?;
    resolve(&classes, pod).map_err(|message| a.forbidden(pod, message))
}

/// What the create set, kept when an update leaves it out (validation refuses changes).
fn keep_on_update(pod: &mut Value, old: Option<&Value>) {
    let Some(old_spec) = old.and_then(|o| o.get("spec")) else {
        return;
    };
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for field in ["priority", "preemptionPolicy"] {
        if spec.get(field).is_none_or(Value::is_null)
            && let Some(kept) = old_spec.get(field).filter(|v| !v.is_null())
        {
            spec.insert(field.to_string(), kept.clone());
        }
    }
}

/// A new pod's class, priority and policy, or upstream's refusal.
fn resolve(classes: &Classes, pod: &mut Value) -> Result<(), String> {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let named = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    let (class_name, priority, policy) = match named {
        Some(name) => {
            let class = classes
                .by_name
                .get(name)
                .ok_or_else(|| format!("no PriorityClass with name {name} was found"))?;
            (None, class.value, class.preemption_policy.clone())
        }
        None => match &classes.default {
            Some((name, class)) => (
                Some(name.clone()),
                class.value,
                class.preemption_policy.clone(),
            ),
            None => (None, 0, Some(DEFAULT_PREEMPTION_POLICY.to_string())),
        },
    };
    if let Some(asked) = spec.get("priority").filter(|v| !v.is_null())
        && asked.as_i64() != Some(priority)
    {
        return Err(format!(
            "the integer value of priority ({asked}) must not be provided in pod spec; \
             priority admission controller computed {priority} from the given PriorityClass name"
        ));
    }
    if let Some(policy) = &policy
        && let Some(asked) = spec.get("preemptionPolicy").filter(|v| !v.is_null())
        && asked.as_str() != Some(policy)
    {
        let asked = asked
            .as_str()
            .map_or_else(|| asked.to_string(), str::to_string);
        return Err(format!(
            "the string value of PreemptionPolicy ({asked}) must not be provided in pod spec; \
             priority admission controller computed {policy} from the given PriorityClass name"
        ));
    }
    if let Some(name) = class_name {
        spec.insert("priorityClassName".into(), Value::String(name));
    }
    spec.insert("priority".into(), Value::from(priority));
    if let Some(policy) = policy {
        spec.insert("preemptionPolicy".into(), Value::String(policy));
    }
    Ok(())
}

/// A class marked the global default while another one is refused.
pub async fn check(server: &ApiServer, a: &Attributes<'_>, class: &Value) -> Result<(), ApiError> {
    if class["globalDefault"] != true {
        return Ok(());
    }
    let classes = classes(server).await?;
    let name = class["metadata"]["name"].as_str().unwrap_or(a.name);
    match &classes.default {
        Some((other, _)) if a.operation == Operation::Create || other != name => Err(a.forbidden(
            class,
            format!(
                "PriorityClass {other} is already marked as default. Only one default can exist"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn classes(objects: &[Value]) -> Classes {
        Classes::from_objects(objects)
    }

    fn class(name: &str, value: i64, default: bool) -> Value {
        json!({"metadata": {"name": name}, "value": value, "globalDefault": default,
               "preemptionPolicy": "PreemptLowerPriority"})
    }

    #[test]
    fn pods_without_a_class_get_zero_or_the_default_class() {
        let mut pod = json!({"spec": {"containers": []}});
        assert_eq!(resolve(&classes(&[]), &mut pod), Ok(()));
        assert_eq!(pod["spec"]["priority"], 0);
        assert_eq!(pod["spec"]["preemptionPolicy"], "PreemptLowerPriority");
        assert!(pod["spec"].get("priorityClassName").is_none());

        let mut never = class("batch", 100, true);
        never["preemptionPolicy"] = json!("Never");
        // Of two defaults (a race), the lower value is taken.
        let with_default = classes(&[class("high", 1000, true), never, class("x", 5, false)]);
        let mut pod = json!({"spec": {"containers": []}});
        assert_eq!(resolve(&with_default, &mut pod), Ok(()));
        assert_eq!(pod["spec"]["priorityClassName"], "batch");
        assert_eq!(pod["spec"]["priority"], 100);
        assert_eq!(pod["spec"]["preemptionPolicy"], "Never");
    }

    #[test]
    fn a_named_class_gives_its_value_and_a_wrong_one_is_refused() {
        let known = classes(&[class("high", 1000, false)]);
        let mut pod = json!({"spec": {"priorityClassName": "high"}});
        assert_eq!(resolve(&known, &mut pod), Ok(()));
        assert_eq!(pod["spec"]["priority"], 1000);

        let mut missing = json!({"spec": {"priorityClassName": "gold"}});
        assert_eq!(
            resolve(&known, &mut missing),
            Err("no PriorityClass with name gold was found".into())
        );
        let mut asked = json!({"spec": {"priorityClassName": "high", "priority": 7}});
        assert_eq!(
            resolve(&known, &mut asked),
            Err(
                "the integer value of priority (7) must not be provided in pod spec; priority \
                 admission controller computed 1000 from the given PriorityClass name"
                    .into()
            )
        );
        let mut same = json!({"spec": {"priorityClassName": "high", "priority": 1000}});
        assert_eq!(resolve(&known, &mut same), Ok(()));
        let mut policy =
            json!({"spec": {"priorityClassName": "high", "preemptionPolicy": "Never"}});
        assert_eq!(
            resolve(&known, &mut policy),
            Err(
                "the string value of PreemptionPolicy (Never) must not be provided in pod spec; \
                 priority admission controller computed PreemptLowerPriority from the given \
                 PriorityClass name"
                    .into()
            )
        );
    }

    #[test]
    fn an_update_keeps_what_the_create_set() {
        let old = json!({"spec": {"priority": 1000, "preemptionPolicy": "Never"}});
        let mut pod = json!({"spec": {"containers": []}});
        keep_on_update(&mut pod, Some(&old));
        assert_eq!(pod["spec"]["priority"], 1000);
        assert_eq!(pod["spec"]["preemptionPolicy"], "Never");
        let mut changed = json!({"spec": {"priority": 5}});
        keep_on_update(&mut changed, Some(&old));
        assert_eq!(changed["spec"]["priority"], 5);
    }
}
