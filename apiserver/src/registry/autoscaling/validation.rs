//! Upstream's rules on an `autoscaling/v2` HorizontalPodAutoscaler spec (what a v1 object
//! converted to v2 is also checked against, so a v1 client reads v2's field paths as
//! upstream's): replica bounds, the scaled reference, each metric's source and target, and the
//! scaling behaviour's windows and policies.

use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors, bad, index};

/// Upstream's bounds on a scaling policy's period and a stabilization window, in seconds.
const MAX_PERIOD_SECONDS: i64 = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

const METRIC_SOURCES: [&str; 5] = [
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];
/// The source fields in upstream's order of checking, with the type each belongs to.
const SOURCE_FIELDS: [(&str, &str); 5] = [
    ("object", "Object"),
    ("external", "External"),
    ("pods", "Pods"),
    ("resource", "Resource"),
    ("containerResource", "ContainerResource"),
];

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn present(v: &Value) -> bool {
    !v.is_null()
}

/// The spec of `obj` (v2); `min_replicas_floor` is 1, or 0 where scaling to zero is allowed.
pub fn spec(obj: &Value, min_replicas_floor: i64, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    let min = spec["minReplicas"].as_i64();
    if let Some(m) = min.filter(|m| *m < min_replicas_floor) {
        errors.invalid(
            "spec.minReplicas",
            Bad::Int(m),
            &format!("must be greater than or equal to {min_replicas_floor}"),
        );
    }
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if max < 1 {
        errors.invalid("spec.maxReplicas", Bad::Int(max), "must be greater than 0");
    }
    if min.is_some_and(|m| max < m) {
        errors.invalid(
            "spec.maxReplicas",
            Bad::Int(max),
            "must be greater than or equal to `minReplicas`",
        );
    }
    reference(&spec["scaleTargetRef"], "spec.scaleTargetRef", errors);
    metrics(&spec["metrics"], min, errors);
    behavior(&spec["behavior"], errors);
}

/// A status write: the replica counts may not be negative.
pub fn status(obj: &Value, errors: &mut FieldErrors) {
    for field in ["currentReplicas", "desiredReplicas"] {
        if let Some(n) = obj["status"][field].as_i64().filter(|n| *n < 0) {
            errors.invalid(
                &format!("status.{field}"),
                Bad::Int(n),
                "must be greater than or equal to 0",
            );
        }
    }
}

/// Upstream's `ValidateCrossVersionObjectReference`.
fn reference(r: &Value, path: &str, errors: &mut FieldErrors) {
    for field in ["kind", "name"] {
        let value = text(&r[field]);
        let at = format!("{path}.{field}");
        if value.is_empty() {
            errors.required(&at, "");
        }
        for message in api::names::path_segment(value) {
            errors.invalid(&at, Bad::Str(value), &message);
        }
    }
}

fn metrics(metrics: &Value, min: Option<i64>, errors: &mut FieldErrors) {
    let list = metrics.as_array().map_or(&[][..], Vec::as_slice);
    for (i, metric) in list.iter().enumerate() {
        metric_spec(metric, &index("spec.metrics", i), errors);
    }
    let scales_to_zero_by = |m: &&Value| matches!(text(&m["type"]), "Object" | "External");
    if min == Some(0) && !list.iter().any(|m| scales_to_zero_by(&m)) {
        errors.forbidden(
            "spec.metrics",
            "must specify at least one Object or External metric to support scaling to zero replicas",
        );
    }
}

fn metric_spec(m: &Value, path: &str, errors: &mut FieldErrors) {
    let kind = text(&m["type"]);
    if kind.is_empty() {
        errors.required(&format!("{path}.type"), "must specify a metric source type");
    }
    // Upstream names an unknown type twice (its aggregate message shows it once).
    if !METRIC_SOURCES.contains(&kind) {
        errors.not_supported(&format!("{path}.type"), Bad::Str(kind), &METRIC_SOURCES);
    }
    let given: Vec<&str> = SOURCE_FIELDS
        .iter()
        .map(|(field, _)| *field)
        .filter(|field| present(&m[*field]))
        .collect();
    if let Some(first) = given.first() {
        let at = format!("{path}.{first}");
        let source = &m[*first];
        match *first {
            "object" => object_source(source, &at, errors),
            "external" => external_source(source, &at, errors),
            "pods" => pods_source(source, &at, errors),
            "resource" => resource_source(source, &at, errors),
            _ => container_resource_source(source, &at, errors),
        }
    }
    let expected = SOURCE_FIELDS
        .iter()
        .find(|(_, t)| *t == kind)
        .map(|(f, _)| *f);
    if let Some(field) = expected.filter(|f| !present(&m[*f])) {
        errors.required(
            &format!("{path}.{field}"),
            "must populate information for the given metric source",
        );
    }
    if given.len() != 1 {
        let mut others: Vec<&str> = given.into_iter().filter(|f| Some(*f) != expected).collect();
        others.sort_unstable();
        for field in others {
            errors.forbidden(
                &format!("{path}.{field}"),
                "must populate the given metric source only",
            );
        }
    }
}

fn object_source(src: &Value, path: &str, errors: &mut FieldErrors) {
    reference(
        &src["describedObject"],
        &format!("{path}.describedObject"),
        errors,
    );
    metric_identifier(&src["metric"], &format!("{path}.metric"), errors);
    let target = &src["target"];
    metric_target(target, &format!("{path}.target"), errors);
    if !present(&target["value"]) && !present(&target["averageValue"]) {
        errors.required(
            &format!("{path}.target.averageValue"),
            "must set either a target value or averageValue",
        );
    }
}

fn external_source(src: &Value, path: &str, errors: &mut FieldErrors) {
    metric_identifier(&src["metric"], &format!("{path}.metric"), errors);
    let target = &src["target"];
    metric_target(target, &format!("{path}.target"), errors);
    match (present(&target["value"]), present(&target["averageValue"])) {
        (false, false) => errors.required(
            &format!("{path}.target.averageValue"),
            "must set either a target value for metric or a per-pod target",
        ),
        (true, true) => errors.forbidden(
            &format!("{path}.target.value"),
            "may not set both a target value for metric and a per-pod target",
        ),
        _ => {}
    }
}

fn pods_source(src: &Value, path: &str, errors: &mut FieldErrors) {
    metric_identifier(&src["metric"], &format!("{path}.metric"), errors);
    let target = &src["target"];
    metric_target(target, &format!("{path}.target"), errors);
    if !present(&target["averageValue"]) {
        errors.required(
            &format!("{path}.target.averageValue"),
            "must specify a positive target averageValue",
        );
    }
}

fn resource_source(src: &Value, path: &str, errors: &mut FieldErrors) {
    if text(&src["name"]).is_empty() {
        errors.required(&format!("{path}.name"), "must specify a resource name");
    }
    resource_target(&src["target"], path, errors);
}

fn container_resource_source(src: &Value, path: &str, errors: &mut FieldErrors) {
    if text(&src["name"]).is_empty() {
        errors.required(&format!("{path}.name"), "must specify a resource name");
    }
    let container = text(&src["container"]);
    let at = format!("{path}.container");
    if container.is_empty() {
        errors.required(&at, "must specify a container");
    } else {
        for message in api::names::dns1123_label(container) {
            errors.invalid(&at, Bad::Str(container), &message);
        }
    }
    resource_target(&src["target"], path, errors);
}

/// A (container) resource's target: a utilization or an average value, not both.
fn resource_target(target: &Value, path: &str, errors: &mut FieldErrors) {
    metric_target(target, &format!("{path}.target"), errors);
    match (
        present(&target["averageUtilization"]),
        present(&target["averageValue"]),
    ) {
        (false, false) => errors.required(
            &format!("{path}.target.averageUtilization"),
            "must set either a target raw value or a target utilization",
        ),
        (true, true) => errors.forbidden(
            &format!("{path}.target.averageValue"),
            "may not set both a target raw value and a target utilization",
        ),
        _ => {}
    }
}

fn metric_target(target: &Value, path: &str, errors: &mut FieldErrors) {
    let kind = text(&target["type"]);
    if kind.is_empty() {
        errors.required(&format!("{path}.type"), "must specify a metric target type");
    }
    if !matches!(kind, "Utilization" | "Value" | "AverageValue") {
        errors.invalid(
            &format!("{path}.type"),
            Bad::Str(kind),
            "must be either Utilization, Value, or AverageValue",
        );
    }
    for field in ["value", "averageValue"] {
        let quantity = match &target[field] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        if api::quantity::value(&quantity).is_some_and(|v| v <= 0.0) {
            let shown = api::quantity::go_value(&quantity).unwrap_or_else(|| quantity.clone());
            errors.invalid(
                &format!("{path}.{field}"),
                Bad::Go(shown),
                "must be positive",
            );
        }
    }
    if let Some(u) = target["averageUtilization"].as_i64().filter(|u| *u < 1) {
        errors.invalid(
            &format!("{path}.averageUtilization"),
            Bad::Int(u),
            "must be greater than 0",
        );
    }
}

fn metric_identifier(id: &Value, path: &str, errors: &mut FieldErrors) {
    let name = text(&id["name"]);
    let at = format!("{path}.name");
    if name.is_empty() {
        errors.required(&at, "must specify a metric name");
    }
    for message in api::names::path_segment(name) {
        errors.invalid(&at, Bad::Str(name), &message);
    }
}

fn behavior(behavior: &Value, errors: &mut FieldErrors) {
    for direction in ["scaleUp", "scaleDown"] {
        let rules = &behavior[direction];
        if rules.is_object() {
            scaling_rules(rules, &format!("spec.behavior.{direction}"), errors);
        }
    }
}

fn scaling_rules(rules: &Value, path: &str, errors: &mut FieldErrors) {
    let window = rules["stabilizationWindowSeconds"].as_i64();
    let at = format!("{path}.stabilizationWindowSeconds");
    if let Some(w) = window.filter(|w| *w < 0) {
        errors.invalid(&at, Bad::Int(w), "must be greater than or equal to zero");
    }
    if let Some(w) = window.filter(|w| *w > MAX_STABILIZATION_WINDOW_SECONDS) {
        errors.invalid(
            &at,
            Bad::Int(w),
            &format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
        );
    }
    let select = &rules["selectPolicy"];
    if present(select) && !matches!(text(select), "Disabled" | "Max" | "Min") {
        errors.not_supported(
            &format!("{path}.selectPolicy"),
            bad(select),
            &["Disabled", "Max", "Min"],
        );
    }
    let policies = rules["policies"].as_array().map_or(&[][..], Vec::as_slice);
    if policies.is_empty() {
        errors.required(
            &format!("{path}.policies"),
            "must specify at least one Policy",
        );
    }
    for (i, policy) in policies.iter().enumerate() {
        let at = index(&format!("{path}.policies"), i);
        if !matches!(text(&policy["type"]), "Pods" | "Percent") {
            errors.not_supported(
                &format!("{at}.type"),
                Bad::Str(text(&policy["type"])),
                &["Percent", "Pods"],
            );
        }
        let value = policy["value"].as_i64().unwrap_or(0);
        if value <= 0 {
            errors.invalid(
                &format!("{at}.value"),
                Bad::Int(value),
                "must be greater than zero",
            );
        }
        let period = policy["periodSeconds"].as_i64().unwrap_or(0);
        if period <= 0 {
            errors.invalid(
                &format!("{at}.periodSeconds"),
                Bad::Int(period),
                "must be greater than zero",
            );
        }
        if period > MAX_PERIOD_SECONDS {
            errors.invalid(
                &format!("{at}.periodSeconds"),
                Bad::Int(period),
                &format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            );
        }
    }
}
