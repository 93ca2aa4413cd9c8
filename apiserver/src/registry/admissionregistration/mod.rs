//! admissionregistration.k8s.io: webhook configurations (`webhooks.rs`) and
//! ValidatingAdmissionPolicies with their bindings (`policies.rs`); the rules and match
//! conditions they share are checked here, in upstream's words.

mod policies;
mod webhooks;

use serde_json::Value;

pub use policies::{PolicyBindings, ValidatingPolicies};
pub use webhooks::WebhookConfigurations;

use crate::registry::validation::{Bad, FieldErrors, index, meta};

/// Upstream's limit on match conditions.
const MAX_MATCH_CONDITIONS: usize = 64;

/// `rules[]` (webhooks, with operations) or `resourceRules[]` (policies).
fn rules(list: &Value, field: &str, required: bool, errors: &mut FieldErrors) {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() && required {
        return;
    }
    for (i, rule) in items.iter().enumerate() {
        let at = index(field, i);
        let strings = |key: &str| -> Vec<&str> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        let operations = strings("operations");
        if operations.is_empty() {
            errors.required(&format!("{at}.operations"), "");
        } else if operations.len() > 1 && operations.contains(&"*") {
            errors.invalid(
                &format!("{at}.operations"),
                go_strings(&operations),
                "if '*' is present, must not specify other operations",
            );
        }
        for (j, op) in operations.iter().enumerate() {
            let supported = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
            if !supported.contains(op) {
                errors.not_supported(
                    &index(&format!("{at}.operations"), j),
                    Bad::Str(op),
                    &supported,
                );
            }
        }
        for key in ["apiGroups", "apiVersions", "resources"] {
            let values = strings(key);
            if values.is_empty() {
                errors.required(&format!("{at}.{key}"), "");
            } else if values.len() > 1 && values.contains(&"*") {
                errors.invalid(
                    &format!("{at}.{key}"),
                    go_strings(&values),
                    &format!(
                        "if '*' is present, must not specify other {}",
                        match key {
                            "apiGroups" => "API groups",
                            "apiVersions" => "API versions",
                            _ => "resources",
                        }
                    ),
                );
            }
        }
        webhooks::enumerated(
            rule,
            "scope",
            &["*", "Cluster", "Namespaced"],
            &format!("{at}.scope"),
            errors,
        );
    }
}

/// `namespaceSelector` and `objectSelector` of a webhook or of match resources. Their
/// values are label values unless the stored object already held invalid ones (`values`
/// false), as upstream lets such objects be updated.
fn selectors(m: &Value, field: &str, values: bool, errors: &mut FieldErrors) {
    for key in ["namespaceSelector", "objectSelector"] {
        if m[key].is_object() {
            meta::label_selector(&m[key], &format!("{field}.{key}"), values, errors);
        }
    }
}

/// Whether selectors' values are checked on this write: always on a create, on an update only
/// when every selector of the stored object has valid values.
fn check_selector_values(old: Option<&Value>) -> bool {
    fn valid(v: &Value) -> bool {
        match v {
            Value::Object(map) => map.iter().all(|(k, v)| match k.as_str() {
                "namespaceSelector" | "objectSelector" => v["matchExpressions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|r| r["values"].as_array().into_iter().flatten())
                    .all(|value| {
                        api::names::label_value(value.as_str().unwrap_or_default()).is_empty()
                    }),
                _ => valid(v),
            }),
            Value::Array(items) => items.iter().all(valid),
            _ => true,
        }
    }
    old.is_none_or(valid)
}

/// `[]string{"a", "b"}`, as Go prints a list of strings.
fn go_strings(values: &[&str]) -> Bad<'static> {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    Bad::Go(format!("[]string{{{}}}", quoted.join(", ")))
}

/// `matchConditions[]`: named, unique, at most 64, each expression compiling.
fn match_conditions(list: &Value, field: &str, errors: &mut FieldErrors) {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.len() > MAX_MATCH_CONDITIONS {
        errors.too_many(field, items.len(), MAX_MATCH_CONDITIONS);
    }
    let mut names = std::collections::HashSet::new();
    for (i, c) in items.iter().enumerate() {
        let at = index(field, i);
        match c["name"].as_str().unwrap_or_default() {
            "" => errors.required(&format!("{at}.name"), ""),
            name => {
                for problem in api::names::qualified_name(name) {
                    errors.invalid(&format!("{at}.name"), Bad::Str(name), &problem);
                }
                if !names.insert(name) {
                    errors.duplicate(&format!("{at}.name"), Bad::Str(name));
                }
            }
        }
        expression(&c["expression"], &format!("{at}.expression"), errors);
    }
}

/// A CEL expression that must be given and compile.
fn expression(source: &Value, field: &str, errors: &mut FieldErrors) {
    match source.as_str().unwrap_or_default() {
        "" => errors.required(field, ""),
        source => {
            if let Err(e) = crate::admission::compile_check(source) {
                errors.invalid(field, Bad::Str(source), &e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::registry::validation::validated;

    fn webhook(namespace_selector: Value) -> Value {
        json!({"metadata": {"name": "hooks"}, "webhooks": [{
            "name": "deny.example.com", "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": "https://127.0.0.1:9443/"},
            "namespaceSelector": namespace_selector}]})
    }

    #[test]
    fn selectors_of_webhooks_and_bindings_as_upstream() {
        let hooks = WebhookConfigurations { mutating: false };
        let gvr = (
            "admissionregistration.k8s.io",
            "v1",
            "validatingwebhookconfigurations",
        );
        let bad = json!({"matchLabels": {"-x": "ok"}, "matchExpressions": [
            {"key": "a b", "operator": "In", "values": ["-v"]},
            {"key": "k", "operator": "Equals", "values": ["v"]},
            {"key": "k", "operator": "In"},
            {"key": "k", "operator": "Exists", "values": ["v"]}]});
        let at = "webhooks[0].namespaceSelector";
        let label = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        let value = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        assert_eq!(
            validated(&hooks, gvr, &webhook(bad.clone()), None),
            format!(
                "{at}.matchLabels: Invalid value: \"-x\": {label}\n\
                 {at}.matchExpressions[0].key: Invalid value: \"a b\": {label}\n\
                 {at}.matchExpressions[0].values[0]: Invalid value: \"-v\": {value}\n\
                 {at}.matchExpressions[1].operator: Invalid value: \"Equals\": not a valid selector operator\n\
                 {at}.matchExpressions[2].values: Required value: must be specified when `operator` is 'In' or 'NotIn'\n\
                 {at}.matchExpressions[3].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'\n"
            )
        );
        // Invalid values already stored may stay on an update.
        let stored = webhook(
            json!({"matchExpressions": [{"key": "k", "operator": "In", "values": ["-v"]}]}),
        );
        assert_eq!(validated(&hooks, gvr, &stored, Some(&stored)), "");
        let fine = json!({"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}]});
        assert_eq!(validated(&hooks, gvr, &webhook(fine), None), "");

        let binding = json!({"metadata": {"name": "b"}, "spec": {
            "policyName": "p", "validationActions": ["Deny"],
            "matchResources": {"objectSelector": {"matchExpressions": [
                {"key": "app", "operator": "in", "values": ["web"]}]}}}});
        let gvr = (
            "admissionregistration.k8s.io",
            "v1",
            "validatingadmissionpolicybindings",
        );
        assert_eq!(
            validated(&PolicyBindings, gvr, &binding, None),
            "spec.matchResources.objectSelector.matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator\n"
        );
    }
}
