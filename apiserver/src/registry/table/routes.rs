//! A route's cells, as openshift-apiserver's route printer computes them: the host as the
//! routers admitted it (or why they did not), the backends with their share of the weight,
//! `<all>` ports, and the termination with its insecure policy.

use serde_json::Value;

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// HOST/PORT: the spec's host until routers report; then the first admitted host (the one
/// equal to the spec's if any), the last rejection's reason when none admitted it, `Pending`
/// when no router decided, with `... N rejected` or `... N more` for the others.
pub fn host(obj: &Value) -> String {
    let spec_host = text(&obj["spec"]["host"]);
    let Some(ingresses) = obj["status"]["ingress"].as_array() else {
        return spec_host.to_string();
    };
    let (mut host, mut matched, mut reason) = (spec_host.to_string(), false, String::new());
    let (mut admitted, mut rejected) = (0, 0);
    for ingress in ingresses {
        let conditions = ingress["conditions"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let Some(condition) = conditions.iter().find(|c| c["type"] == "Admitted") else {
            continue;
        };
        match text(&condition["status"]) {
            "True" => {
                admitted += 1;
                if !matched {
                    matched = text(&ingress["host"]) == spec_host;
                    host = text(&ingress["host"]).to_string();
                }
            }
            "False" => {
                reason = text(&condition["reason"]).to_string();
                rejected += 1;
            }
            _ => {}
        }
    }
    match (admitted, rejected) {
        (0, r) if r > 0 => reason,
        (_, r) if r > 0 => format!("{host} ... {r} rejected"),
        (0, _) => "Pending".into(),
        (a, _) if a > 1 => format!("{host} ... {} more", a - 1),
        _ => host,
    }
}

/// SERVICES: the one backend's name, or each with its percentage of the total weight.
pub fn services(obj: &Value) -> String {
    let spec = &obj["spec"];
    let mut backends = vec![&spec["to"]];
    if let Some(alternates) = spec["alternateBackends"].as_array() {
        backends.extend(alternates);
    }
    let total: i64 = backends.iter().filter_map(|b| b["weight"].as_i64()).sum();
    let single = backends.len() == 1;
    backends
        .iter()
        .map(|b| {
            let name = text(&b["name"]);
            match b["weight"].as_i64() {
                None => name.to_string(),
                Some(_) if single && total != 0 => name.to_string(),
                Some(_) if total == 0 => format!("{name}(0%)"),
                Some(w) => format!("{name}({}%)", w * 100 / total),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// PORT: the target port, or `<all>` without one.
pub fn port(obj: &Value) -> String {
    match &obj["spec"]["port"]["targetPort"] {
        Value::String(name) => name.clone(),
        Value::Number(n) => n.to_string(),
        _ => "<all>".into(),
    }
}

/// TERMINATION: `edge`, `edge/Redirect`, or `default/<policy>` with only a policy.
pub fn termination(obj: &Value) -> String {
    let tls = &obj["spec"]["tls"];
    match (
        text(&tls["termination"]),
        text(&tls["insecureEdgeTerminationPolicy"]),
    ) {
        ("", "") => String::new(),
        (t, "") => t.to_string(),
        ("", p) => format!("default/{p}"),
        (t, p) => format!("{t}/{p}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn admitted(host: &str, status: &str, reason: &str) -> Value {
        json!({"host": host, "conditions": [{"type": "Admitted", "status": status, "reason": reason}]})
    }

    #[test]
    fn the_host_as_the_routers_report_it() {
        let mut route = json!({"spec": {"host": "a.example.com"}});
        assert_eq!(host(&route), "a.example.com");
        route["status"] = json!({"ingress": []});
        assert_eq!(host(&route), "Pending");
        route["status"]["ingress"] =
            json!([admitted("a.example.com", "False", "HostAlreadyClaimed")]);
        assert_eq!(host(&route), "HostAlreadyClaimed");
        route["status"]["ingress"] = json!([
            admitted("a.example.com", "True", ""),
            admitted("b", "True", "")
        ]);
        assert_eq!(host(&route), "a.example.com ... 1 more");
        route["status"]["ingress"] = json!([
            admitted("a.example.com", "True", ""),
            admitted("b", "False", "X")
        ]);
        assert_eq!(host(&route), "a.example.com ... 1 rejected");
    }

    #[test]
    fn services_with_their_share() {
        let route = json!({"spec": {"to": {"name": "a", "weight": 3},
            "alternateBackends": [{"name": "b", "weight": 1}]}});
        assert_eq!(services(&route), "a(75%),b(25%)");
        assert_eq!(
            services(&json!({"spec": {"to": {"name": "a", "weight": 100}}})),
            "a"
        );
        assert_eq!(
            services(&json!({"spec": {"to": {"name": "a", "weight": 0}}})),
            "a(0%)"
        );
        assert_eq!(port(&json!({"spec": {}})), "<all>");
        assert_eq!(
            termination(&json!({"spec": {"tls": {"insecureEdgeTerminationPolicy": "Allow"}}})),
            "default/Allow"
        );
    }
}
