//! admissionregistration.k8s.io: webhook configurations (`webhooks.rs`) and
//! ValidatingAdmissionPolicies with their bindings (`policies.rs`); the rules and match
//! conditions they share are checked here, in upstream's words.

mod policies;
mod webhooks;

use serde_json::Value;

pub use policies::{PolicyBindings, ValidatingPolicies};
pub use webhooks::WebhookConfigurations;

use crate::registry::validation::{Bad, FieldErrors, index};

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
