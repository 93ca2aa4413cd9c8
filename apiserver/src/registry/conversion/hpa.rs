//! HorizontalPodAutoscalers between `autoscaling/v2` (stored) and `autoscaling/v1`, as
//! kube-apiserver 1.32 converts them: v1 keeps the CPU utilization target in
//! `targetCPUUtilizationPercentage`; what v1 has no field for (other metrics, their current
//! values, the scaling behaviour, the conditions) travels in `autoscaling.alpha.kubernetes.io/*`
//! annotations in v1's own shapes, read back (and dropped) on the way to v2. Annotations that
//! do not parse are ignored, as upstream's.

use serde_json::{Map, Value, json};

pub const V1: &str = "autoscaling/v1";
pub const V2: &str = "autoscaling/v2";

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const ROUND_TRIP: [&str; 4] = [METRICS, CURRENT_METRICS, BEHAVIOR, CONDITIONS];

/// `obj` (either version) in `api_version`.
pub fn convert(obj: &Value, api_version: &str) -> Value {
    match (obj["apiVersion"].as_str(), api_version) {
        (Some(V2), V1) => to_v1(obj),
        (Some(V1), V2) => to_v2(obj),
        _ => {
            let mut same = obj.clone();
            same["apiVersion"] = json!(api_version);
            same
        }
    }
}

/// Fields copied as they are, in order, when present.
fn copy(to: &mut Map<String, Value>, from: &Value, fields: &[&str]) {
    for field in fields {
        if let Some(v) = from.get(*field).filter(|v| !v.is_null()) {
            to.insert(field.to_string(), v.clone());
        }
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[][..], Vec::as_slice)
}

/// Metadata without the round-trip annotations (and without annotations once none is left).
fn metadata(obj: &Value) -> Value {
    let mut meta = obj["metadata"].clone();
    if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        for key in ROUND_TRIP {
            annotations.remove(key);
        }
        if annotations.is_empty()
            && let Some(m) = meta.as_object_mut()
        {
            m.remove("annotations");
        }
    }
    meta
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric["type"] == "Resource"
        && metric["resource"]["name"] == "cpu"
        && !metric["resource"]["target"]["averageUtilization"].is_null()
}

/// A Go `resource.Quantity` that is not a pointer: `"0"` when absent.
fn quantity(v: &Value) -> Value {
    match v {
        Value::Null => json!("0"),
        v => v.clone(),
    }
}

fn to_v1(obj: &Value) -> Value {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let mut meta = metadata(obj);

    let mut v1_spec = Map::new();
    copy(
        &mut v1_spec,
        spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    let cpu = list(&spec["metrics"])
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu");
    if let Some(percent) = cpu.map(|m| &m["resource"]["target"]["averageUtilization"])
        && !percent.is_null()
    {
        v1_spec.insert("targetCPUUtilizationPercentage".into(), percent.clone());
    }

    let mut v1_status = Map::new();
    copy(
        &mut v1_status,
        status,
        &["observedGeneration", "lastScaleTime"],
    );
    v1_status.insert(
        "currentReplicas".into(),
        status["currentReplicas"].as_i64().unwrap_or(0).into(),
    );
    v1_status.insert(
        "desiredReplicas".into(),
        status["desiredReplicas"].as_i64().unwrap_or(0).into(),
    );
    for metric in list(&status["currentMetrics"]) {
        let now = &metric["resource"]["current"]["averageUtilization"];
        if metric["type"] == "Resource" && metric["resource"]["name"] == "cpu" && !now.is_null() {
            v1_status.insert("currentCPUUtilizationPercentage".into(), now.clone());
        }
    }

    let others: Vec<Value> = list(&spec["metrics"])
        .iter()
        .filter(|m| !is_cpu_utilization(m))
        .map(metric_spec_to_v1)
        .collect();
    let mut annotations = Vec::new();
    if !others.is_empty() {
        annotations.push((METRICS, Value::Array(others)));
    }
    let current: Vec<Value> = list(&status["currentMetrics"])
        .iter()
        .map(metric_status_to_v1)
        .collect();
    if !current.is_empty() {
        annotations.push((CURRENT_METRICS, Value::Array(current)));
    }
    if spec["behavior"].is_object() {
        annotations.push((BEHAVIOR, behavior_to_annotation(&spec["behavior"])));
    }
    if !list(&status["conditions"]).is_empty() {
        annotations.push((CONDITIONS, status["conditions"].clone()));
    }
    if !annotations.is_empty() {
        if !meta["annotations"].is_object() {
            meta["annotations"] = json!({});
        }
        for (key, value) in annotations {
            meta["annotations"][key] = json!(value.to_string());
        }
    }

    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(V1));
    out.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    out.insert("metadata".into(), meta);
    out.insert("spec".into(), Value::Object(v1_spec));
    out.insert("status".into(), Value::Object(v1_status));
    Value::Object(out)
}

fn to_v2(obj: &Value) -> Value {
    let spec = &obj["spec"];
    let status = &obj["status"];
    let annotations = &obj["metadata"]["annotations"];
    let parsed = |key: &str| -> Option<Value> {
        serde_json::from_str(annotations[key].as_str()?)
            .ok()
            .filter(|v: &Value| !v.is_null())
    };

    let mut v2_spec = Map::new();
    copy(
        &mut v2_spec,
        spec,
        &["scaleTargetRef", "minReplicas", "maxReplicas"],
    );
    let mut metrics: Vec<Value> = parsed(METRICS)
        .as_ref()
        .map(|m| list(m).iter().map(metric_spec_to_v2).collect())
        .unwrap_or_default();
    let percent = &spec["targetCPUUtilizationPercentage"];
    if !percent.is_null() {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": percent}}}));
    }
    if !metrics.is_empty() {
        v2_spec.insert("metrics".into(), Value::Array(metrics));
    }
    if let Some(behavior) = parsed(BEHAVIOR).map(|b| behavior_from_annotation(&b))
        && behavior.as_object().is_some_and(|b| !b.is_empty())
    {
        v2_spec.insert("behavior".into(), behavior);
    }

    let mut v2_status = Map::new();
    copy(
        &mut v2_status,
        status,
        &["observedGeneration", "lastScaleTime"],
    );
    if let Some(n) = status["currentReplicas"].as_i64().filter(|n| *n != 0) {
        v2_status.insert("currentReplicas".into(), n.into());
    }
    v2_status.insert(
        "desiredReplicas".into(),
        status["desiredReplicas"].as_i64().unwrap_or(0).into(),
    );
    let now = &status["currentCPUUtilizationPercentage"];
    let mut current = match now.is_null() {
        true => Vec::new(),
        false => vec![json!({"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": now}}})],
    };
    // The annotation has more than the CPU figure: it wins.
    if let Some(statuses) = parsed(CURRENT_METRICS) {
        current = list(&statuses).iter().map(metric_status_to_v2).collect();
    }
    if !current.is_empty() {
        v2_status.insert("currentMetrics".into(), Value::Array(current));
    }
    if let Some(conditions) = parsed(CONDITIONS).filter(|c| !list(c).is_empty()) {
        v2_status.insert("conditions".into(), conditions);
    }

    let mut out = Map::new();
    out.insert("apiVersion".into(), json!(V2));
    out.insert("kind".into(), json!("HorizontalPodAutoscaler"));
    out.insert("metadata".into(), metadata(obj));
    out.insert("spec".into(), Value::Object(v2_spec));
    out.insert("status".into(), Value::Object(v2_status));
    Value::Object(out)
}

/// A v2 `MetricSpec` in v1's (v2beta1's) shape.
fn metric_spec_to_v1(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    let mut source = Map::new();
    let (key, v2) = match kind {
        "Object" => {
            let o = &m["object"];
            source.insert("target".into(), o["describedObject"].clone());
            source.insert("metricName".into(), o["metric"]["name"].clone());
            source.insert("targetValue".into(), quantity(&o["target"]["value"]));
            copy(&mut source, &o["metric"], &["selector"]);
            if !o["target"]["averageValue"].is_null() {
                source.insert("averageValue".into(), o["target"]["averageValue"].clone());
            }
            ("object", o)
        }
        "Pods" => {
            let p = &m["pods"];
            source.insert("metricName".into(), p["metric"]["name"].clone());
            source.insert(
                "targetAverageValue".into(),
                quantity(&p["target"]["averageValue"]),
            );
            copy(&mut source, &p["metric"], &["selector"]);
            ("pods", p)
        }
        "Resource" | "ContainerResource" => {
            let key = match kind {
                "Resource" => "resource",
                _ => "containerResource",
            };
            let r = &m[key];
            source.insert("name".into(), r["name"].clone());
            let target = &r["target"];
            if !target["averageUtilization"].is_null() {
                let u = target["averageUtilization"].clone();
                source.insert("targetAverageUtilization".into(), u);
            }
            if !target["averageValue"].is_null() {
                let v = target["averageValue"].clone();
                source.insert("targetAverageValue".into(), v);
            }
            copy(&mut source, r, &["container"]);
            (key, r)
        }
        "External" => {
            let e = &m["external"];
            source.insert("metricName".into(), e["metric"]["name"].clone());
            if !e["metric"]["selector"].is_null() {
                source.insert("metricSelector".into(), e["metric"]["selector"].clone());
            }
            for (from, to) in [
                ("value", "targetValue"),
                ("averageValue", "targetAverageValue"),
            ] {
                if !e["target"][from].is_null() {
                    source.insert(to.into(), e["target"][from].clone());
                }
            }
            ("external", e)
        }
        _ => return m.clone(),
    };
    if !v2.is_null() {
        out.insert(key.into(), Value::Object(source));
    }
    Value::Object(out)
}

/// A v1 (v2beta1-shaped) `MetricSpec` in v2's shape.
fn metric_spec_to_v2(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let metric = |name: &Value, selector: &Value| {
        let mut id = Map::new();
        id.insert("name".into(), name.clone());
        if !selector.is_null() {
            id.insert("selector".into(), selector.clone());
        }
        Value::Object(id)
    };
    match kind {
        "Object" => {
            let o = &m["object"];
            let target = match o["averageValue"].is_null() {
                true => json!({"type": "Value", "value": quantity(&o["targetValue"])}),
                false => json!({"type": "AverageValue", "value": quantity(&o["targetValue"]),
                    "averageValue": o["averageValue"]}),
            };
            json!({"type": kind, "object": {"describedObject": o["target"],
                "target": target, "metric": metric(&o["metricName"], &o["selector"])}})
        }
        "Pods" => {
            let p = &m["pods"];
            json!({"type": kind, "pods": {"metric": metric(&p["metricName"], &p["selector"]),
                "target": {"type": "AverageValue",
                    "averageValue": quantity(&p["targetAverageValue"])}}})
        }
        "Resource" | "ContainerResource" => {
            let key = match kind {
                "Resource" => "resource",
                _ => "containerResource",
            };
            let r = &m[key];
            let mut target = Map::new();
            match r["targetAverageUtilization"].is_null() {
                false => {
                    target.insert("type".into(), json!("Utilization"));
                    let u = r["targetAverageUtilization"].clone();
                    target.insert("averageUtilization".into(), u);
                }
                true => {
                    target.insert("type".into(), json!("AverageValue"));
                }
            }
            if !r["targetAverageValue"].is_null() {
                target.insert("averageValue".into(), r["targetAverageValue"].clone());
            }
            let mut source = Map::new();
            source.insert("name".into(), r["name"].clone());
            source.insert("target".into(), Value::Object(target));
            copy(&mut source, r, &["container"]);
            json!({"type": kind, key: source})
        }
        "External" => {
            let e = &m["external"];
            let mut target = Map::new();
            let kind_of_target = match e["targetValue"].is_null() {
                false => "Value",
                true => "AverageValue",
            };
            target.insert("type".into(), json!(kind_of_target));
            if !e["targetValue"].is_null() {
                target.insert("value".into(), e["targetValue"].clone());
            }
            if !e["targetAverageValue"].is_null() {
                target.insert("averageValue".into(), e["targetAverageValue"].clone());
            }
            json!({"type": kind, "external": {
                "metric": metric(&e["metricName"], &e["metricSelector"]),
                "target": target}})
        }
        _ => m.clone(),
    }
}

/// A v2 `MetricStatus` in v1's shape.
fn metric_status_to_v1(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let mut source = Map::new();
    let key = match kind {
        "Object" => {
            let o = &m["object"];
            source.insert("target".into(), o["describedObject"].clone());
            source.insert("metricName".into(), o["metric"]["name"].clone());
            source.insert("currentValue".into(), quantity(&o["current"]["value"]));
            copy(&mut source, &o["metric"], &["selector"]);
            if !o["current"]["averageValue"].is_null() {
                source.insert("averageValue".into(), o["current"]["averageValue"].clone());
            }
            "object"
        }
        "Pods" => {
            let p = &m["pods"];
            source.insert("metricName".into(), p["metric"]["name"].clone());
            let average = quantity(&p["current"]["averageValue"]);
            source.insert("currentAverageValue".into(), average);
            copy(&mut source, &p["metric"], &["selector"]);
            "pods"
        }
        "Resource" | "ContainerResource" => {
            let key = match kind {
                "Resource" => "resource",
                _ => "containerResource",
            };
            let r = &m[key];
            source.insert("name".into(), r["name"].clone());
            let now = &r["current"];
            if !now["averageUtilization"].is_null() {
                let u = now["averageUtilization"].clone();
                source.insert("currentAverageUtilization".into(), u);
            }
            let average = quantity(&now["averageValue"]);
            source.insert("currentAverageValue".into(), average);
            copy(&mut source, r, &["container"]);
            key
        }
        "External" => {
            let e = &m["external"];
            source.insert("metricName".into(), e["metric"]["name"].clone());
            if !e["metric"]["selector"].is_null() {
                source.insert("metricSelector".into(), e["metric"]["selector"].clone());
            }
            source.insert("currentValue".into(), quantity(&e["current"]["value"]));
            if !e["current"]["averageValue"].is_null() {
                let average = e["current"]["averageValue"].clone();
                source.insert("currentAverageValue".into(), average);
            }
            "external"
        }
        _ => return m.clone(),
    };
    json!({"type": kind, key: source})
}

/// A v1 `MetricStatus` in v2's shape.
fn metric_status_to_v2(m: &Value) -> Value {
    let kind = m["type"].as_str().unwrap_or_default();
    let metric = |name: &Value, selector: &Value| match selector.is_null() {
        true => json!({"name": name}),
        false => json!({"name": name, "selector": selector}),
    };
    match kind {
        "Object" => {
            let o = &m["object"];
            let mut current = Map::new();
            current.insert("value".into(), quantity(&o["currentValue"]));
            copy(&mut current, o, &["averageValue"]);
            json!({"type": kind, "object": {"metric": metric(&o["metricName"], &o["selector"]),
                "current": current, "describedObject": o["target"]}})
        }
        "Pods" => {
            let p = &m["pods"];
            json!({"type": kind, "pods": {"metric": metric(&p["metricName"], &p["selector"]),
                "current": {"averageValue": quantity(&p["currentAverageValue"])}}})
        }
        "Resource" | "ContainerResource" => {
            let key = match kind {
                "Resource" => "resource",
                _ => "containerResource",
            };
            let r = &m[key];
            let mut current = Map::new();
            if !r["currentAverageUtilization"].is_null() {
                let u = r["currentAverageUtilization"].clone();
                current.insert("averageUtilization".into(), u);
            }
            current.insert("averageValue".into(), quantity(&r["currentAverageValue"]));
            let mut source = Map::new();
            source.insert("name".into(), r["name"].clone());
            source.insert("current".into(), Value::Object(current));
            copy(&mut source, r, &["container"]);
            json!({"type": kind, key: source})
        }
        "External" => {
            let e = &m["external"];
            let mut current = Map::new();
            current.insert("value".into(), quantity(&e["currentValue"]));
            if !e["currentAverageValue"].is_null() {
                current.insert("averageValue".into(), e["currentAverageValue"].clone());
            }
            json!({"type": kind, "external": {
                "metric": metric(&e["metricName"], &e["metricSelector"]), "current": current}})
        }
        _ => m.clone(),
    }
}

/// Go's field names of the internal behaviour type (it has no JSON tags), nil as null.
const RULES: [(&str, &str); 3] = [
    ("stabilizationWindowSeconds", "StabilizationWindowSeconds"),
    ("selectPolicy", "SelectPolicy"),
    ("policies", "Policies"),
];
const POLICY: [(&str, &str); 3] = [
    ("type", "Type"),
    ("value", "Value"),
    ("periodSeconds", "PeriodSeconds"),
];
const DIRECTIONS: [(&str, &str); 2] = [("scaleUp", "ScaleUp"), ("scaleDown", "ScaleDown")];

fn renamed(v: &Value, names: &[(&str, &str)], go: bool) -> Value {
    let mut out = Map::new();
    for (json_name, go_name) in names {
        let (from, to) = match go {
            true => (*json_name, *go_name),
            false => (*go_name, *json_name),
        };
        let value = match go {
            true => v.get(from).cloned().unwrap_or(Value::Null),
            // Go's decoder matches field names case-insensitively.
            false => v
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(from)))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null),
        };
        if go || !value.is_null() {
            out.insert(to.to_string(), value);
        }
    }
    Value::Object(out)
}

fn rules(v: &Value, go: bool) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    let mut out = renamed(v, &RULES, go);
    let key = match go {
        true => "Policies",
        false => "policies",
    };
    if let Some(policies) = out.get_mut(key).and_then(Value::as_array_mut) {
        for p in policies.iter_mut() {
            *p = renamed(p, &POLICY, go);
        }
    }
    out
}

fn behavior_to_annotation(behavior: &Value) -> Value {
    let mut out = Map::new();
    for (json_name, go_name) in DIRECTIONS {
        out.insert(go_name.into(), rules(&behavior[json_name], true));
    }
    Value::Object(out)
}

fn behavior_from_annotation(annotation: &Value) -> Value {
    let renamed = renamed(annotation, &DIRECTIONS, false);
    let mut out = Map::new();
    for (json_name, _) in DIRECTIONS {
        if let Some(r) = renamed.get(json_name) {
            out.insert(json_name.into(), rules(r, false));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests;
