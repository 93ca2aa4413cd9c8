//! A pod's quality-of-service class as upstream computes it (`GetPodQOS`): the class the API
//! server writes into a new pod's status, the one quota's `BestEffort` scopes select by, and
//! the one `describe pod` shows.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::quota::Amount;

pub const BEST_EFFORT: &str = "BestEffort";
pub const BURSTABLE: &str = "Burstable";
pub const GUARANTEED: &str = "Guaranteed";

/// The resources QoS looks at; others (storage, extended resources) never change the class.
const COMPUTE: [&str; 2] = ["cpu", "memory"];

type Sums = BTreeMap<&'static str, i128>;

/// A container's positive cpu and memory amounts in one of its resource lists.
fn compute(list: &Value) -> impl Iterator<Item = (&'static str, i128)> + '_ {
    COMPUTE.into_iter().filter_map(move |name| {
        let amount = Amount::parse(list.get(name)?.as_str()?)?;
        (amount.milli > 0).then_some((name, amount.milli))
    })
}

/// The class of the pod `spec`: best effort without any cpu or memory request or limit;
/// guaranteed when every container (init containers included) limits both and the sums of
/// requests and limits are equal; burstable otherwise. A request missing where a limit is set
/// counts as that limit, as the API's defaulting makes it.
pub fn qos_class(spec: &Value) -> &'static str {
    let (mut requests, mut limits) = (Sums::new(), Sums::new());
    let mut guaranteed = true;
    let containers = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|list| {
            spec.get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        });
    for c in containers {
        let resources = c.get("resources").unwrap_or(&Value::Null);
        let (asked, limited) = (&resources["requests"], &resources["limits"]);
        let mut limited_count = 0;
        for (name, milli) in compute(limited) {
            limited_count += 1;
            *limits.entry(name).or_default() += milli;
            if asked.get(name).is_none() {
                *requests.entry(name).or_default() += milli;
            }
        }
        for (name, milli) in compute(asked) {
            *requests.entry(name).or_default() += milli;
        }
        guaranteed &= limited_count == COMPUTE.len();
    }
    if requests.is_empty() && limits.is_empty() {
        BEST_EFFORT
    } else if guaranteed && requests == limits {
        GUARANTEED
    } else {
        BURSTABLE
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn spec(resources: Value) -> Value {
        json!({"containers": [{"name": "a", "resources": resources}]})
    }

    #[test]
    fn classes_follow_requests_and_limits() {
        assert_eq!(
            qos_class(&json!({"containers": [{"name": "a"}]})),
            BEST_EFFORT
        );
        assert_eq!(qos_class(&spec(json!({}))), BEST_EFFORT);
        assert_eq!(
            qos_class(&spec(json!({"requests": {"cpu": "100m"}}))),
            BURSTABLE
        );
        assert_eq!(
            qos_class(&spec(json!({"limits": {"memory": "1Mi"}}))),
            BURSTABLE
        );
        let same = json!({"cpu": "1", "memory": "1Gi"});
        assert_eq!(
            qos_class(&spec(json!({"requests": same, "limits": same}))),
            GUARANTEED
        );
        let unequal = json!({"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": same});
        assert_eq!(qos_class(&spec(unequal)), BURSTABLE);
    }

    #[test]
    fn limits_stand_for_missing_requests_and_other_resources_do_not_count() {
        let limits_only = json!({"limits": {"cpu": "1000m", "memory": "1Gi"}});
        assert_eq!(qos_class(&spec(limits_only)), GUARANTEED);
        let zero = json!({"requests": {"cpu": "0"}, "limits": {"ephemeral-storage": "1Gi"}});
        assert_eq!(qos_class(&spec(zero)), BEST_EFFORT);
    }

    #[test]
    fn every_container_must_limit_both_for_guaranteed() {
        let both = json!({"cpu": "1", "memory": "1Gi"});
        let pod = json!({
            "containers": [{"name": "a", "resources": {"limits": both}}],
            "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "1"}}}],
        });
        assert_eq!(qos_class(&pod), BURSTABLE);
    }
}
