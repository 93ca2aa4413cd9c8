//! ValidatingAdmissionPolicies and their bindings: upstream's v1 defaults and validation, every
//! expression compiled at write time (a policy that does not compile is refused), and the
//! policy's status (`observedGeneration`, `typeChecking`) as upstream's type-checking
//! controller leaves it.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use serde_json::{Value, json};

use super::webhooks::enumerated;
use super::{check_selector_values, expression, go_strings, match_conditions, rules, selectors};
use crate::ApiServer;
use crate::admission::policy_type_check as type_check;
use crate::admission::{Policy, PolicyBinding};
use crate::error::ApiError;
use crate::http::serve::User;
use crate::registry::core::defaults::default;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, index};

/// Defaults of `matchConstraints` and of a binding's `matchResources`.
fn default_match(m: &mut Value) {
    if !m.is_object() {
        return;
    }
    default(m, "matchPolicy", json!("Equivalent"));
    default(m, "namespaceSelector", json!({}));
    default(m, "objectSelector", json!({}));
    for key in ["resourceRules", "excludeResourceRules"] {
        for rule in m[key].as_array_mut().into_iter().flatten() {
            default(rule, "scope", json!("*"));
        }
    }
}

fn match_resources(
    m: &Value,
    field: &str,
    required: bool,
    old: Option<&Value>,
    errors: &mut FieldErrors,
) {
    if !m.is_object() {
        if required {
            errors.required(field, "");
        }
        return;
    }
    let resource_rules = &m["resourceRules"];
    if required && resource_rules.as_array().is_none_or(Vec::is_empty) {
        errors.required(&format!("{field}.resourceRules"), "");
    }
    rules(
        resource_rules,
        &format!("{field}.resourceRules"),
        false,
        errors,
    );
    rules(
        &m["excludeResourceRules"],
        &format!("{field}.excludeResourceRules"),
        false,
        errors,
    );
    enumerated(
        m,
        "matchPolicy",
        &["Equivalent", "Exact"],
        &format!("{field}.matchPolicy"),
        errors,
    );
    selectors(m, field, check_selector_values(old), errors);
}

pub struct ValidatingPolicies;

#[async_trait]
impl Strategy for ValidatingPolicies {
    fn prepare(&self, obj: &mut Value) {
        let spec = &mut obj["spec"];
        if !spec.is_object() {
            return;
        }
        default(spec, "failurePolicy", json!("Fail"));
        default_match(&mut spec["matchConstraints"]);
        // The status the type check leaves; its warnings are added where the server is at
        // hand (`assign`).
        let generation = obj["metadata"]["generation"].clone();
        obj["status"] = json!({"observedGeneration": generation, "typeChecking": {}});
    }

    /// The expressions checked against the kinds the policy matches: what does not fit them
    /// is a warning in `status.typeChecking` (the policy is still stored).
    async fn assign(
        &self,
        server: &ApiServer,
        _: &ResourceDef,
        _: Option<&User>,
        obj: &mut Value,
        _: Option<&Value>,
    ) -> Result<(), ApiError> {
        if obj["status"].is_object() {
            obj["status"]["typeChecking"] = type_check::status(server, obj);
        }
        Ok(())
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let spec = &obj["spec"];
        match_resources(
            &spec["matchConstraints"],
            "spec.matchConstraints",
            true,
            old,
            errors,
        );
        enumerated(
            spec,
            "failurePolicy",
            &["Fail", "Ignore"],
            "spec.failurePolicy",
            errors,
        );
        let count = |key: &str| spec[key].as_array().map_or(0, Vec::len);
        if count("validations") == 0 && count("auditAnnotations") == 0 {
            errors.required(
                "spec.validations",
                "validations or auditAnnotations must contain at least one item",
            );
        }
        for (i, v) in spec["validations"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = index("spec.validations", i);
            if v["expression"].as_str().unwrap_or_default().is_empty() {
                errors.required(&format!("{at}.expression"), "expression is not specified");
            }
            let reasons = [
                "Unauthorized",
                "Forbidden",
                "Invalid",
                "RequestEntityTooLarge",
            ];
            enumerated(v, "reason", &reasons, &format!("{at}.reason"), errors);
        }
        if let Some(kind) = spec.get("paramKind").filter(|k| k.is_object()) {
            for key in ["apiVersion", "kind"] {
                if kind[key].as_str().unwrap_or_default().is_empty() {
                    errors.required(&format!("spec.paramKind.{key}"), "");
                }
            }
        }
        match_conditions(&spec["matchConditions"], "spec.matchConditions", errors);
        for (i, v) in spec["variables"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = index("spec.variables", i);
            if v["name"].as_str().unwrap_or_default().is_empty() {
                errors.required(&format!("{at}.name"), "name is not specified");
            }
            expression(&v["expression"], &format!("{at}.expression"), errors);
        }
        // What does not compile, each where it is (match conditions and variables above).
        for p in Policy::from_json(obj).problems {
            let checked = p.field.starts_with("spec.matchConditions")
                || p.field.starts_with("spec.variables")
                || p.field.starts_with("spec.matchConstraints");
            if !checked {
                errors.invalid(&p.field, Bad::Str(&p.source), &p.detail);
            }
        }
    }
}

pub struct PolicyBindings;

impl Strategy for PolicyBindings {
    fn prepare(&self, obj: &mut Value) {
        if obj["spec"].is_object() {
            default_match(&mut obj["spec"]["matchResources"]);
        }
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let spec = &obj["spec"];
        if spec["policyName"].as_str().unwrap_or_default().is_empty() {
            errors.required("spec.policyName", "");
        }
        let actions: Vec<&str> = spec["validationActions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if actions.is_empty() {
            errors.required(
                "spec.validationActions",
                "at least one validation action is required",
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, action) in actions.iter().enumerate() {
            let at = index("spec.validationActions", i);
            let supported = ["Deny", "Warn", "Audit"];
            if !supported.contains(action) {
                errors.not_supported(&at, Bad::Str(action), &supported);
            }
            if !seen.insert(*action) {
                errors.duplicate(&at, Bad::Str(action));
            }
        }
        if seen.contains("Deny") && seen.contains("Warn") {
            errors.invalid(
                "spec.validationActions",
                go_strings(&actions),
                "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)",
            );
        }
        if let Some(r) = spec.get("paramRef").filter(|r| r.is_object()) {
            match (r.get("name").is_some(), r.get("selector").is_some()) {
                (true, true) => errors.forbidden(
                    "spec.paramRef.name",
                    "name and selector are mutually exclusive",
                ),
                (false, false) => {
                    errors.required("spec.paramRef", "one of name or selector must be specified")
                }
                _ => {}
            }
            match r["parameterNotFoundAction"].as_str() {
                None => errors.required("spec.paramRef.parameterNotFoundAction", ""),
                Some("Deny" | "Allow") => {}
                Some(other) => errors.not_supported(
                    "spec.paramRef.parameterNotFoundAction",
                    Bad::Str(other),
                    &["Deny", "Allow"],
                ),
            }
        }
        match_resources(
            &spec["matchResources"],
            "spec.matchResources",
            false,
            old,
            errors,
        );
        // Selectors are checked above; their parse errors would say it twice.
        for p in PolicyBinding::from_json(obj).problems {
            if !p.field.starts_with("spec.matchResources") {
                errors.invalid(&p.field, Bad::Str(&p.source), &p.detail);
            }
        }
    }
}
