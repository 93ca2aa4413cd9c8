//! `LimitRanger`: the LimitRanges of a pod's namespace, as upstream applies them on pod
//! creation — each container without a limit or request gets the `Container` item's
//! `default` / `defaultRequest` (a request falls back to the limit), then every container and
//! the pod as a whole are checked against `min`, `max` and `maxLimitRequestRatio`, refused
//! with upstream's messages.

use api::quantity::milli;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;

pub const NAME: &str = "LimitRanger";

pub fn applies(a: &super::Attributes<'_>) -> bool {
    a.creates_pod()
}

pub async fn admit(
    server: &ApiServer,
    a: &super::Attributes<'_>,
    pod: &mut Value,
) -> Result<(), ApiError> {
    let Some(namespace) = a.namespace else {
        return Ok(());
    };
    let ranges = limit_ranges(server, namespace).await?;
    if ranges.is_empty() {
        return Ok(());
    }
    let items: Vec<&Value> = ranges
        .iter()
        .flat_map(|r| r["spec"]["limits"].as_array().into_iter().flatten())
        .collect();
    for item in items.iter().filter(|i| i["type"] == "Container") {
        apply_defaults(item, pod);
    }
    let mut errors = Vec::new();
    for item in &items {
        check(item, pod, &mut errors);
    }
    if errors.is_empty() {
        return Ok(());
    }
    let message = match errors.len() {
        1 => errors.remove(0),
        _ => format!("[{}]", errors.join(", ")),
    };
    Err(a.forbidden(pod, message))
}

fn containers_mut(pod: &mut Value) -> impl Iterator<Item = &mut Value> {
    let spec = pod.get_mut("spec").and_then(Value::as_object_mut);
    let mut all: Vec<&mut Value> = Vec::new();
    if let Some(spec) = spec {
        for (key, list) in spec.iter_mut() {
            if key == "containers" || key == "initContainers" {
                all.extend(list.as_array_mut().into_iter().flatten());
            }
        }
    }
    all.into_iter()
}

/// Upstream's defaulting: limits from `default`, requests from `defaultRequest`, else from the
/// (possibly defaulted) limit.
fn apply_defaults(item: &Value, pod: &mut Value) {
    for c in containers_mut(pod) {
        for (resource, limit) in item["default"].as_object().into_iter().flatten() {
            if c["resources"]["limits"].get(resource).is_none() {
                c["resources"]["limits"][resource] = limit.clone();
            }
        }
        for (resource, request) in item["defaultRequest"].as_object().into_iter().flatten() {
            if c["resources"]["requests"].get(resource).is_none() {
                c["resources"]["requests"][resource] = request.clone();
            }
        }
        let limits = c["resources"]["limits"].clone();
        for (resource, limit) in limits.as_object().into_iter().flatten() {
            if c["resources"]["requests"].get(resource).is_none() {
                c["resources"]["requests"][resource] = limit.clone();
            }
        }
    }
}

fn check(item: &Value, pod: &Value, errors: &mut Vec<String>) {
    let kind = item["type"].as_str().unwrap_or_default();
    let containers = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| pod["spec"][k].as_array().into_iter().flatten());
    match kind {
        "Container" => {
            for c in containers {
                bounds(
                    item,
                    kind,
                    &c["resources"]["requests"],
                    &c["resources"]["limits"],
                    errors,
                );
            }
        }
        "Pod" => {
            let mut requests = serde_json::Map::new();
            let mut limits = serde_json::Map::new();
            for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
                sum_into(&mut requests, &c["resources"]["requests"]);
                sum_into(&mut limits, &c["resources"]["limits"]);
            }
            bounds(
                item,
                kind,
                &Value::Object(requests),
                &Value::Object(limits),
                errors,
            );
        }
        _ => {}
    }
}

/// Adds quantities (kept as milli-unit numbers, printed back as upstream's canonical form
/// only in messages through `show`).
fn sum_into(total: &mut serde_json::Map<String, Value>, list: &Value) {
    for (resource, q) in list.as_object().into_iter().flatten() {
        let Some(m) = q.as_str().and_then(milli) else {
            continue;
        };
        let sum = total
            .get(resource)
            .and_then(Value::as_str)
            .and_then(milli)
            .unwrap_or(0)
            + m;
        total.insert(resource.clone(), json!(format!("{sum}m")));
    }
}

fn bounds(item: &Value, kind: &str, requests: &Value, limits: &Value, errors: &mut Vec<String>) {
    let get = |list: &Value, r: &str| list.get(r).and_then(Value::as_str).map(str::to_string);
    for (r, min) in item["min"].as_object().into_iter().flatten() {
        let (Some(min), Some(min_m)) = (min.as_str(), min.as_str().and_then(milli)) else {
            continue;
        };
        match get(requests, r) {
            None => errors.push(format!(
                "minimum {r} usage per {kind} is {min}.  No request is specified"
            )),
            Some(q) if milli(&q).is_some_and(|v| v < min_m) => errors.push(format!(
                "minimum {r} usage per {kind} is {min}, but request is {}",
                show(&q)
            )),
            _ => {}
        }
    }
    for (r, max) in item["max"].as_object().into_iter().flatten() {
        let (Some(max), Some(max_m)) = (max.as_str(), max.as_str().and_then(milli)) else {
            continue;
        };
        match get(limits, r) {
            None => errors.push(format!(
                "maximum {r} usage per {kind} is {max}.  No limit is specified"
            )),
            Some(q) if milli(&q).is_some_and(|v| v > max_m) => errors.push(format!(
                "maximum {r} usage per {kind} is {max}, but limit is {}",
                show(&q)
            )),
            _ => {}
        }
    }
    for (r, ratio) in item["maxLimitRequestRatio"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let Some(ratio_m) = ratio.as_str().and_then(milli) else {
            continue;
        };
        let (Some(l), Some(q)) = (
            get(limits, r).and_then(|l| milli(&l)),
            get(requests, r).and_then(|q| milli(&q)),
        ) else {
            continue;
        };
        if q > 0 && l * 1000 / q > ratio_m {
            errors.push(format!(
                "{r} max limit to request ratio per {kind} is {}, but provided ratio is {:.6}",
                ratio.as_str().unwrap_or_default(),
                l as f64 / q as f64
            ));
        }
    }
}

/// A quantity as written, or a summed one back in whole units when it is one.
fn show(q: &str) -> String {
    match q.strip_suffix('m').and_then(|m| m.parse::<i64>().ok()) {
        Some(m) if m % 1000 == 0 && q.ends_with('m') => (m / 1000).to_string(),
        _ => q.to_string(),
    }
}

async fn limit_ranges(server: &ApiServer, namespace: &str) -> Result<Vec<Value>, ApiError> {
    let (def, cache) = server
        .named_cache("", "v1", "limitranges")
        .await?
        .ok_or(ApiError::PathNotFound)?;
    let (objects, _) = def.with_namespace_prefix(Some(namespace), |p| cache.snapshot(p));
    Ok(objects
        .iter()
        .filter_map(|(_, o)| serde_json::from_slice::<Value>(&o.json).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Value {
        json!({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m"}, "min": {"cpu": "50m"}, "max": {"cpu": "1"},
            "maxLimitRequestRatio": {"cpu": "4"}})
    }

    #[test]
    fn defaults_fill_what_containers_leave_out() {
        let mut pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "resources": {"limits": {"cpu": "200m"}}}]}});
        apply_defaults(&limits(), &mut pod);
        let a = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(a["limits"], json!({"cpu": "500m", "memory": "256Mi"}));
        assert_eq!(a["requests"], json!({"cpu": "100m", "memory": "256Mi"}));
        let b = &pod["spec"]["containers"][1]["resources"];
        assert_eq!(b["limits"]["cpu"], "200m");
        assert_eq!(b["requests"]["cpu"], "100m");
        assert!(pod["spec"].get("initContainers").is_none());
    }

    #[test]
    fn bounds_and_ratios_are_refused_in_upstreams_words() {
        let pod = json!({"spec": {"containers": [{"name": "a", "resources": {
            "requests": {"cpu": "10m"}, "limits": {"cpu": "2"}}}]}});
        let mut errors = Vec::new();
        check(&limits(), &pod, &mut errors);
        assert_eq!(
            errors,
            [
                "minimum cpu usage per Container is 50m, but request is 10m",
                "maximum cpu usage per Container is 1, but limit is 2",
                "cpu max limit to request ratio per Container is 4, but provided ratio is 200.000000",
            ]
        );
    }
}
