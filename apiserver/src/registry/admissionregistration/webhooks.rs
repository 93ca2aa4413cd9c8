//! Mutating and validating webhook configurations: upstream's v1 defaults and validation
//! (`pkg/apis/admissionregistration/validation`), in its words.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use super::{check_selector_values, match_conditions, rules, selectors};
use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, bad, index};

pub struct WebhookConfigurations {
    pub mutating: bool,
}

impl Strategy for WebhookConfigurations {
    fn prepare(&self, obj: &mut Value) {
        for hook in obj["webhooks"].as_array_mut().into_iter().flatten() {
            default(hook, "failurePolicy", json!("Fail"));
            default(hook, "matchPolicy", json!("Equivalent"));
            default(hook, "namespaceSelector", json!({}));
            default(hook, "objectSelector", json!({}));
            default(hook, "timeoutSeconds", json!(10));
            if self.mutating {
                default(hook, "reinvocationPolicy", json!("Never"));
            }
            for rule in hook["rules"].as_array_mut().into_iter().flatten() {
                default(rule, "scope", json!("*"));
            }
            if let Some(service) = hook["clientConfig"].get_mut("service")
                && service.is_object()
            {
                default(service, "port", json!(443));
            }
        }
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let values = check_selector_values(old);
        let mut names = std::collections::HashSet::new();
        for (i, hook) in obj["webhooks"].as_array().into_iter().flatten().enumerate() {
            let at = index("webhooks", i);
            let field = |f: &str| format!("{at}.{f}");
            match hook["name"].as_str().unwrap_or_default() {
                "" => errors.required(&field("name"), ""),
                name => {
                    if name.split('.').filter(|s| !s.is_empty()).count() < 3 {
                        errors.invalid(
                            &field("name"),
                            Bad::Str(name),
                            "should be a domain with at least three segments separated by dots",
                        );
                    }
                    if !names.insert(name) {
                        errors.duplicate(&field("name"), Bad::Str(name));
                    }
                }
            }
            review_versions(hook, &field("admissionReviewVersions"), errors);
            match hook["sideEffects"].as_str() {
                None => errors.required(
                    &field("sideEffects"),
                    "must specify one of None, NoneOnDryRun",
                ),
                Some("None" | "NoneOnDryRun") => {}
                Some(other) => errors.not_supported(
                    &field("sideEffects"),
                    Bad::Str(other),
                    &["None", "NoneOnDryRun"],
                ),
            }
            if let Some(t) = hook["timeoutSeconds"].as_i64()
                && !(1..=30).contains(&t)
            {
                errors.invalid(
                    &field("timeoutSeconds"),
                    Bad::Int(t),
                    "the timeout value must be between 1 and 30 seconds",
                );
            }
            enumerated(
                hook,
                "failurePolicy",
                &["Fail", "Ignore"],
                &field("failurePolicy"),
                errors,
            );
            enumerated(
                hook,
                "matchPolicy",
                &["Equivalent", "Exact"],
                &field("matchPolicy"),
                errors,
            );
            if self.mutating {
                enumerated(
                    hook,
                    "reinvocationPolicy",
                    &["IfNeeded", "Never"],
                    &field("reinvocationPolicy"),
                    errors,
                );
            }
            client_config(&hook["clientConfig"], &field("clientConfig"), errors);
            rules(&hook["rules"], &field("rules"), true, errors);
            selectors(hook, &at, values, errors);
            match_conditions(&hook["matchConditions"], &field("matchConditions"), errors);
        }
    }
}

/// `field` of `obj`, when set, must be one of `supported`.
pub(super) fn enumerated(
    obj: &Value,
    key: &str,
    supported: &[&str],
    field: &str,
    errors: &mut FieldErrors,
) {
    if let Some(v) = obj.get(key).filter(|v| !v.is_null())
        && !v.as_str().is_some_and(|s| supported.contains(&s))
    {
        errors.not_supported(field, bad(v), supported);
    }
}

fn review_versions(hook: &Value, field: &str, errors: &mut FieldErrors) {
    let versions: Vec<&str> = hook["admissionReviewVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if versions.is_empty() {
        errors.required(field, "must specify one of v1, v1beta1");
    } else if !versions.iter().any(|v| ["v1", "v1beta1"].contains(v)) {
        let quoted: Vec<String> = versions.iter().map(|v| format!("{v:?}")).collect();
        errors.invalid(
            field,
            Bad::Go(format!("[]string{{{}}}", quoted.join(", "))),
            "must include at least one of v1, v1beta1",
        );
    }
}

fn client_config(c: &Value, field: &str, errors: &mut FieldErrors) {
    match (
        c.get("url").and_then(Value::as_str),
        c.get("service").filter(|s| s.is_object()),
    ) {
        (Some(_), Some(_)) | (None, None) => {
            errors.required(field, "exactly one of url or service is required");
        }
        (Some(url), None) => {
            if !url.starts_with("https://") {
                errors.invalid(
                    &format!("{field}.url"),
                    Bad::Str(url),
                    "'https' is the only allowed URL scheme",
                );
            } else if url.len() <= "https://".len() {
                errors.invalid(
                    &format!("{field}.url"),
                    Bad::Str(url),
                    "host must be specified",
                );
            }
        }
        (None, Some(service)) => {
            for key in ["namespace", "name"] {
                if service[key].as_str().unwrap_or_default().is_empty() {
                    errors.required(
                        &format!("{field}.service.{key}"),
                        &format!("service {key} is required"),
                    );
                }
            }
            if let Some(port) = service["port"].as_i64()
                && !(1..=65535).contains(&port)
            {
                errors.invalid(
                    &format!("{field}.service.port"),
                    Bad::Int(port),
                    "port is not valid: must be between 1 and 65535, inclusive",
                );
            }
            if let Some(path) = service["path"].as_str()
                && !path.starts_with('/')
            {
                errors.invalid(
                    &format!("{field}.service.path"),
                    Bad::Str(path),
                    "must start with a '/'",
                );
            }
        }
    }
}
