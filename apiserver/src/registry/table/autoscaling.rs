//! An autoscaler's TARGETS cell: each metric of its spec with the value last measured for it
//! (the status entry at the same index), as upstream's printer writes them: `cpu: 20%/80%`,
//! `<unknown>` until measured, at most two metrics then `+ N more...`.

use serde_json::Value;

const MAX: usize = 2;
const UNKNOWN: &str = "<unknown>";

pub fn targets(obj: &Value) -> String {
    let specs = obj["spec"]["metrics"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if specs.is_empty() {
        return "<none>".into();
    }
    let statuses = obj["status"]["currentMetrics"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let mut all: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| metric(spec, statuses.get(i).unwrap_or(&Value::Null)))
        .collect();
    let count = all.len();
    if count > MAX {
        all.truncate(MAX);
        return format!("{} + {} more...", all.join(", "), count - MAX);
    }
    all.join(", ")
}

/// A quantity as written (upstream prints its canonical form), `0` when absent.
fn quantity(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "0".into(),
    }
}

/// The current value of a measured source, `<unknown>` when not measured.
fn current(status: &Value, source: &str, field: &str) -> String {
    match status[source].as_object() {
        Some(_) => quantity(&status[source]["current"][field]),
        None => UNKNOWN.into(),
    }
}

fn metric(spec: &Value, status: &Value) -> String {
    match spec["type"].as_str().unwrap_or_default() {
        kind @ ("External" | "Object") => {
            let source = if kind == "External" {
                "external"
            } else {
                "object"
            };
            let target = &spec[source]["target"];
            match target.get("averageValue") {
                Some(average) => {
                    let now = match &status[source]["current"]["averageValue"] {
                        Value::Null => UNKNOWN.to_string(),
                        v => quantity(v),
                    };
                    format!("{now}/{} (avg)", quantity(average))
                }
                None => format!(
                    "{}/{}",
                    current(status, source, "value"),
                    quantity(&target["value"])
                ),
            }
        }
        "Pods" => format!(
            "{}/{}",
            current(status, "pods", "averageValue"),
            quantity(&spec["pods"]["target"]["averageValue"])
        ),
        "Resource" => resource(spec, status, "resource"),
        "ContainerResource" => resource(spec, status, "containerResource"),
        _ => "<unknown type>".into(),
    }
}

fn resource(spec: &Value, status: &Value, source: &str) -> String {
    let name = spec[source]["name"].as_str().unwrap_or_default();
    let target = &spec[source]["target"];
    if let Some(average) = target.get("averageValue") {
        let now = current(status, source, "averageValue");
        return format!("{name}: {now}/{}", quantity(average));
    }
    let now = match status[source]["current"]["averageUtilization"].as_i64() {
        Some(p) if status[source].is_object() => format!("{p}%"),
        _ => UNKNOWN.into(),
    };
    let goal = match target["averageUtilization"].as_i64() {
        Some(p) => format!("{p}%"),
        None => "<auto>".into(),
    };
    format!("{name}: {now}/{goal}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_print_as_upstream() {
        let cpu = json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}});
        let memory = json!({"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}});
        let pods = json!({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}});
        assert_eq!(targets(&json!({"spec": {}})), "<none>");
        assert_eq!(
            targets(&json!({"spec": {"metrics": [cpu]}})),
            "cpu: <unknown>/80%"
        );
        let measured = json!({"spec": {"metrics": [cpu, memory]},
            "status": {"currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 20}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "50Mi"}}}]}});
        assert_eq!(targets(&measured), "cpu: 20%/80%, memory: 50Mi/100Mi");
        let three = json!({"spec": {"metrics": [cpu, memory, pods]}});
        assert_eq!(
            targets(&three),
            "cpu: <unknown>/80%, memory: <unknown>/100Mi + 1 more..."
        );
        let external = json!({"spec": {"metrics": [{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "30"}}}]}});
        assert_eq!(targets(&external), "<unknown>/30 (avg)");
    }
}
