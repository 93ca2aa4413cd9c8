//! Upstream's defaults of a DeploymentConfig (apps.openshift.io/v1, the group API's layered
//! defaults): a ConfigChange trigger when none are given, the selector from the template's
//! labels, the Rolling strategy and its parameters, a history of 10 revisions.

use serde_json::{Map, Value, json};

/// How long a deployer may run, in seconds (upstream's MaxDeploymentDurationSeconds).
pub const MAX_DEPLOYMENT_SECONDS: i64 = 21600;
/// The default timeout of both strategies, in seconds.
pub const STRATEGY_TIMEOUT_SECONDS: i64 = 600;

fn object_at<'a>(parent: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !parent[key].is_object() {
        parent[key] = json!({});
    }
    match parent[key].as_object_mut() {
        Some(map) => map,
        None => unreachable!("just made an object"),
    }
}

fn default_to(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.into(), value);
    }
}

/// Whether an int-or-percent is zero (`0` or `"0%"`).
fn is_zero(value: Option<&Value>) -> bool {
    matches!(value, Some(v) if *v == json!(0) || *v == json!("0%"))
}

fn rolling_defaults(params: &mut Map<String, Value>) {
    default_to(params, "intervalSeconds", json!(1));
    default_to(params, "updatePeriodSeconds", json!(1));
    default_to(params, "timeoutSeconds", json!(STRATEGY_TIMEOUT_SECONDS));
    let surge = params.get("maxSurge").filter(|v| !v.is_null()).cloned();
    let unavailable = params
        .get("maxUnavailable")
        .filter(|v| !v.is_null())
        .cloned();
    match (&surge, &unavailable) {
        (None, None) => {
            params.insert("maxSurge".into(), json!("25%"));
            params.insert("maxUnavailable".into(), json!("25%"));
        }
        (Some(_), None) if is_zero(surge.as_ref()) => {
            params.insert("maxUnavailable".into(), json!("25%"));
        }
        (None, Some(_)) if is_zero(unavailable.as_ref()) => {
            params.insert("maxSurge".into(), json!("25%"));
        }
        _ => {}
    }
}

fn strategy_defaults(spec: &mut Value) {
    let strategy = object_at(spec, "strategy");
    if strategy
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        strategy.insert("type".into(), json!("Rolling"));
    }
    default_to(strategy, "resources", json!({}));
    default_to(
        strategy,
        "activeDeadlineSeconds",
        json!(MAX_DEPLOYMENT_SECONDS),
    );
    let kind = strategy
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let params = match kind.as_str() {
        "Rolling" => "rollingParams",
        "Recreate" => "recreateParams",
        _ => return,
    };
    default_to(strategy, params, json!({}));
    let Some(params) = strategy.get_mut(params).and_then(Value::as_object_mut) else {
        return;
    };
    if kind == "Rolling" {
        rolling_defaults(params);
    } else {
        default_to(params, "timeoutSeconds", json!(STRATEGY_TIMEOUT_SECONDS));
    }
}

fn trigger_defaults(spec: &mut Value, namespace: &str) {
    if spec["triggers"].is_null() {
        spec["triggers"] = json!([{"type": "ConfigChange"}]);
    }
    let Some(triggers) = spec["triggers"].as_array_mut() else {
        return;
    };
    for trigger in triggers {
        let Some(from) = trigger
            .pointer_mut("/imageChangeParams/from")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if from
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
        {
            from.insert("kind".into(), json!("ImageStreamTag"));
        }
        if from
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
            && !namespace.is_empty()
        {
            from.insert("namespace".into(), json!(namespace));
        }
    }
}

/// The spec defaults, applied on every write.
pub fn apply(obj: &mut Value) {
    let namespace = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !obj["spec"].is_object() {
        obj["spec"] = json!({});
    }
    let spec = &mut obj["spec"];
    trigger_defaults(spec, &namespace);
    let empty_selector = spec["selector"].as_object().is_none_or(Map::is_empty);
    if empty_selector && spec["template"]["metadata"]["labels"].is_object() {
        spec["selector"] = spec["template"]["metadata"]["labels"].clone();
    }
    strategy_defaults(spec);
    if let Some(spec) = spec.as_object_mut() {
        default_to(spec, "revisionHistoryLimit", json!(10));
        default_to(spec, "replicas", json!(0));
        default_to(spec, "test", json!(false));
    }
}

/// A new object's status (every count present, as upstream's non-omitted fields) and its
/// triggers' last images cleared.
pub fn on_create(obj: &mut Value) {
    obj["status"] = json!({"latestVersion": 0, "observedGeneration": 0, "replicas": 0,
        "updatedReplicas": 0, "availableReplicas": 0, "unavailableReplicas": 0});
    if let Some(triggers) = obj["spec"]["triggers"].as_array_mut() {
        for params in triggers.iter_mut().filter_map(|t| {
            t.get_mut("imageChangeParams")
                .and_then(Value::as_object_mut)
        }) {
            params.insert("lastTriggeredImage".into(), json!(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_config_gets_upstreams_defaults() {
        let mut dc = json!({"metadata": {"name": "web", "namespace": "p"}, "spec": {
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {}},
            "triggers": [{"type": "ImageChange", "imageChangeParams": {"from": {"name": "web:latest"}}}]}});
        apply(&mut dc);
        let spec = &dc["spec"];
        assert_eq!(spec["selector"], json!({"app": "web"}));
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["strategy"],
            json!({"type": "Rolling", "resources": {}, "activeDeadlineSeconds": 21600,
                "rollingParams": {"intervalSeconds": 1, "updatePeriodSeconds": 1,
                "timeoutSeconds": 600, "maxSurge": "25%", "maxUnavailable": "25%"}})
        );
        assert_eq!(
            spec["triggers"][0]["imageChangeParams"]["from"],
            json!({"kind": "ImageStreamTag", "name": "web:latest", "namespace": "p"})
        );
    }

    #[test]
    fn triggers_default_only_when_absent() {
        let mut none = json!({"spec": {}});
        apply(&mut none);
        assert_eq!(none["spec"]["triggers"], json!([{"type": "ConfigChange"}]));
        let mut empty = json!({"spec": {"triggers": []}});
        apply(&mut empty);
        assert_eq!(empty["spec"]["triggers"], json!([]));
    }

    #[test]
    fn a_zero_surge_makes_unavailable_a_quarter() {
        let mut dc = json!({"spec": {"strategy": {"rollingParams": {"maxSurge": 0}}}});
        apply(&mut dc);
        let params = &dc["spec"]["strategy"]["rollingParams"];
        assert_eq!(params["maxUnavailable"], "25%");
        let mut recreate = json!({"spec": {"strategy": {"type": "Recreate"}}});
        apply(&mut recreate);
        assert_eq!(
            recreate["spec"]["strategy"]["recreateParams"],
            json!({"timeoutSeconds": 600})
        );
    }
}
