//! The quota admission decision (upstream's `checkRequest`), without I/O: which of a
//! namespace's quotas an object is charged to, the usage each would hold after it, or the
//! refusal in upstream's words.

use std::collections::BTreeSet;

use serde_json::Value;

use super::amount::Amount;
use super::scopes::selects;
use super::usage::{Usage, matches, usage};

/// What is admitted: a quota's name, its resourceVersion and the `status.used` it must hold.
#[derive(Debug)]
pub struct Charge {
    pub quota: String,
    pub resource_version: String,
    pub used: Usage,
}

/// A resource list of a quota's status (`hard` or `used`).
pub fn status_list(quota: &Value, field: &str) -> Usage {
    quota["status"][field]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Amount::parse(v.as_str()?)?)))
        .collect()
}

/// `a=1,b=2`, sorted by name (upstream's `prettyPrint`).
pub fn pretty(list: &Usage) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// An object about to be written, as the quota sees it.
pub struct Request<'a> {
    pub group: &'a str,
    pub plural: &'a str,
    pub obj: &'a Value,
    /// The stored object on an update (only the increase is charged).
    pub old: Option<&'a Value>,
    /// Seconds since the epoch.
    pub now: i64,
}

/// The charges `r` makes on `quotas` (ordered by name), or the refusal's message.
pub fn check(quotas: &[Value], r: &Request<'_>) -> Result<Vec<Charge>, String> {
    let mut interesting = Vec::new();
    for quota in quotas {
        let name = quota["metadata"]["name"].as_str().unwrap_or_default();
        let hard = status_list(quota, "hard");
        let restricted: Vec<&String> = hard
            .keys()
            .filter(|n| matches(n, r.group, r.plural))
            .collect();
        if restricted.is_empty() || !selects(quota, r.group, r.plural, r.obj) {
            continue;
        }
        let is_pod = r.group.is_empty() && r.plural == "pods";
        if is_pod && let Some(missing) = missing_requests(&restricted, r.obj) {
            return Err(format!("failed quota: {name}: must specify {missing}"));
        }
        let used = status_list(quota, "used");
        if restricted.iter().any(|n| !used.contains_key(*n)) {
            let names: Vec<&str> = restricted.iter().map(|n| n.as_str()).collect();
            return Err(format!(
                "status unknown for quota: {name}, resources: {}",
                names.join(",")
            ));
        }
        interesting.push((quota, name, hard, used));
    }
    let mut delta = usage(r.group, r.plural, r.obj, r.now);
    let negative: Vec<&str> = delta
        .iter()
        .filter(|(_, v)| v.milli < 0)
        .map(|(k, _)| k.as_str())
        .collect();
    if !negative.is_empty() {
        return Err(format!(
            "quota usage is negative for resource(s): {}",
            negative.join(",")
        ));
    }
    if let Some(old) = r.old {
        let before = usage(r.group, r.plural, old, r.now);
        for (k, v) in delta.iter_mut() {
            if let Some(b) = before.get(k) {
                *v = if *b > *v {
                    Amount::default()
                } else {
                    v.minus(*b)
                };
            }
        }
    }
    delta.retain(|_, v| v.milli != 0);
    if delta.is_empty() {
        return Ok(Vec::new());
    }
    let mut charges = Vec::new();
    for (quota, name, hard, used) in interesting {
        let requested: Usage = delta
            .iter()
            .filter(|(k, _)| hard.contains_key(*k))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let mut next = used.clone();
        for (k, v) in &requested {
            let sum = next.get(k).copied().unwrap_or_default().plus(*v);
            next.insert(k.clone(), sum);
        }
        let exceeded: BTreeSet<&String> = requested
            .keys()
            .filter(|k| matches!((next.get(*k), hard.get(*k)), (Some(n), Some(h)) if n > h))
            .collect();
        if !exceeded.is_empty() {
            let mask = |list: &Usage| -> Usage {
                list.iter()
                    .filter(|(k, _)| exceeded.contains(k))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            };
            return Err(format!(
                "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                pretty(&mask(&requested)),
                pretty(&mask(&used)),
                pretty(&mask(&hard))
            ));
        }
        if requested.is_empty() {
            continue;
        }
        charges.push(Charge {
            quota: name.to_string(),
            resource_version: quota["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            used: next,
        });
    }
    Ok(charges)
}

/// Upstream's pod constraint: when a quota limits cpu or memory, every container must state
/// them (`requests.cpu for: a,b; limits.memory for: a`).
fn missing_requests(restricted: &[&String], pod: &Value) -> Option<String> {
    const CHECKED: [&str; 6] = [
        "cpu",
        "memory",
        "requests.cpu",
        "requests.memory",
        "limits.cpu",
        "limits.memory",
    ];
    let required: Vec<&str> = restricted
        .iter()
        .map(|n| n.as_str())
        .filter(|n| CHECKED.contains(n))
        .collect();
    let mut missing: std::collections::BTreeMap<&str, BTreeSet<&str>> = Default::default();
    for c in ["containers", "initContainers"]
        .iter()
        .flat_map(|k| pod["spec"][k].as_array().into_iter().flatten())
    {
        let requests = &c["resources"]["requests"];
        let limits = &c["resources"]["limits"];
        for name in &required {
            let (list, resource) = match name.split_once('.') {
                Some(("limits", r)) => (limits, r),
                Some((_, r)) => (requests, r),
                None => (requests, *name),
            };
            // A request missing is defaulted from the limit.
            let present = list.get(resource).is_some()
                || (!std::ptr::eq(list, limits) && limits.get(resource).is_some());
            if !present {
                missing
                    .entry(name)
                    .or_default()
                    .insert(c["name"].as_str().unwrap_or_default());
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| {
            let names: Vec<&str> = names.iter().copied().collect();
            format!("{r} for: {}", names.join(","))
        })
        .collect();
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn quota(hard: Value, used: Value) -> Value {
        json!({"metadata": {"name": "q", "resourceVersion": "7"},
            "spec": {"hard": hard}, "status": {"hard": hard, "used": used}})
    }

    fn create<'a>(plural: &'a str, obj: &'a Value) -> Request<'a> {
        Request {
            group: "",
            plural,
            obj,
            old: None,
            now: 0,
        }
    }

    #[test]
    fn a_create_within_the_quota_is_charged() {
        let q = quota(json!({"configmaps": "2"}), json!({"configmaps": "1"}));
        let charges = check(&[q], &create("configmaps", &json!({}))).unwrap_or_default();
        assert_eq!(charges.len(), 1);
        assert_eq!(charges[0].resource_version, "7");
        assert_eq!(pretty(&charges[0].used), "configmaps=2");
    }

    #[test]
    fn a_create_past_the_quota_is_refused_in_upstreams_words() {
        let q = quota(
            json!({"pods": "2", "requests.cpu": "1"}),
            json!({"pods": "2", "requests.cpu": "500m"}),
        );
        let pod = json!({"spec": {"containers": [{"name": "a",
            "resources": {"requests": {"cpu": "600m"}}}]}});
        assert_eq!(
            check(&[q], &create("pods", &pod)).err().as_deref(),
            Some(
                "exceeded quota: q, requested: pods=1,requests.cpu=600m, used: pods=2,requests.cpu=500m, limited: pods=2,requests.cpu=1"
            )
        );
    }

    #[test]
    fn pods_must_state_what_the_quota_limits() {
        let q = quota(
            json!({"requests.cpu": "1", "limits.memory": "1Gi"}),
            json!({"requests.cpu": "0", "limits.memory": "0"}),
        );
        let pod = json!({"spec": {"containers": [{"name": "a"},
            {"name": "b", "resources": {"limits": {"cpu": "1", "memory": "1Mi"}}}]}});
        assert_eq!(
            check(&[q], &create("pods", &pod)).err().as_deref(),
            Some("failed quota: q: must specify limits.memory for: a; requests.cpu for: a")
        );
    }

    #[test]
    fn a_quota_without_usage_is_unknown_and_other_kinds_pass() {
        let q = json!({"metadata": {"name": "q"}, "status": {"hard": {"configmaps": "1", "count/secrets": "1"}}});
        assert_eq!(
            check(std::slice::from_ref(&q), &create("configmaps", &json!({})))
                .err()
                .as_deref(),
            Some("status unknown for quota: q, resources: configmaps")
        );
        let charges = check(&[q], &create("services", &json!({}))).map(|c| c.len());
        assert_eq!(charges, Ok(0));
    }

    #[test]
    fn updates_are_charged_only_what_they_add() {
        let q = quota(
            json!({"requests.storage": "10Gi"}),
            json!({"requests.storage": "9Gi"}),
        );
        let claim = |size: &str| json!({"spec": {"resources": {"requests": {"storage": size}}}});
        let (old, new) = (claim("1Gi"), claim("2Gi"));
        let r = Request {
            old: Some(&old),
            ..create("persistentvolumeclaims", &new)
        };
        let charges = check(&[q], &r).unwrap_or_default();
        assert_eq!(pretty(&charges[0].used), "requests.storage=10Gi");
    }
}
