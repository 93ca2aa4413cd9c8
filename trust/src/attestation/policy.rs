//! The Binary Authorization policy (the `spec` of `Policy cluster`): images exempt by name
//! pattern (`admissionWhitelistPatterns`), a default admission rule and rules per namespace,
//! each with its evaluation mode, the attestors it requires, its enforcement mode and what
//! happens when a verdict cannot be reached (`failurePolicy`, fail open by default).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::policy::{Problem, Problems};

pub const EVALUATION_MODES: &[&str] = &["ALWAYS_ALLOW", "ALWAYS_DENY", "REQUIRE_ATTESTATION"];
pub const ENFORCEMENT_MODES: &[&str] = &["ENFORCED_BLOCK_AND_AUDIT_LOG", "DRYRUN_AUDIT_LOG_ONLY"];
pub const FAILURE_POLICIES: &[&str] = &["Ignore", "Fail"];
const RULE_FIELDS: &[&str] = &[
    "evaluationMode",
    "requireAttestationsBy",
    "enforcementMode",
    "failurePolicy",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    AlwaysAllow,
    AlwaysDeny,
    /// Attestations by each of these attestors are required.
    RequireAttestation(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub evaluation: Evaluation,
    /// `DRYRUN_AUDIT_LOG_ONLY`: violations are recorded, never refused.
    pub dry_run: bool,
    /// `failurePolicy: Fail`: refuse when no verdict can be reached.
    pub fail_closed: bool,
}

impl Rule {
    /// The enforcement mode's name, for audit annotations and metrics.
    pub fn mode(&self) -> &'static str {
        ENFORCEMENT_MODES[usize::from(self.dry_run)]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionPolicy {
    pub exempt: Vec<String>,
    pub default: Rule,
    pub namespaces: BTreeMap<String, Rule>,
}

impl AdmissionPolicy {
    /// Reads `spec`; all problems at once.
    pub fn parse(spec: &Value) -> Result<AdmissionPolicy, Vec<Problem>> {
        let mut p = Problems::default();
        let Some(o) = p.object(spec, "spec") else {
            return Err(p.0);
        };
        p.only(
            o,
            "spec",
            &[
                "admissionWhitelistPatterns",
                "defaultAdmissionRule",
                "kubernetesNamespaceAdmissionRules",
            ],
        );
        let mut exempt = Vec::new();
        if let Some(v) = o.get("admissionWhitelistPatterns") {
            match v.as_array() {
                None => p.invalid(
                    "spec.admissionWhitelistPatterns",
                    &v.to_string(),
                    "must be a list",
                ),
                Some(list) => {
                    for (i, item) in list.iter().enumerate() {
                        let path = format!("spec.admissionWhitelistPatterns[{i}]");
                        let Some(item) = p.object(item, &path) else {
                            continue;
                        };
                        p.only(item, &path, &["namePattern"]);
                        if let Some(pattern) = p.string(item, &path, "namePattern") {
                            match validate_pattern(pattern) {
                                Ok(()) => exempt.push(pattern.to_string()),
                                Err(e) => p.invalid(&format!("{path}.namePattern"), pattern, &e),
                            }
                        }
                    }
                }
            }
        }
        let default = match o.get("defaultAdmissionRule") {
            None | Some(Value::Null) => {
                p.required("spec.defaultAdmissionRule", "");
                None
            }
            Some(v) => rule(v, "spec.defaultAdmissionRule", &mut p),
        };
        let mut namespaces = BTreeMap::new();
        if let Some(v) = o.get("kubernetesNamespaceAdmissionRules") {
            match v.as_object() {
                None => p.invalid(
                    "spec.kubernetesNamespaceAdmissionRules",
                    &v.to_string(),
                    "must be an object of rules by namespace",
                ),
                Some(rules) => {
                    for (ns, v) in rules {
                        let path = format!("spec.kubernetesNamespaceAdmissionRules[{ns}]");
                        if let Err(e) = validate_dns_label(ns) {
                            p.invalid(&path, ns, &e);
                        }
                        if let Some(r) = rule(v, &path, &mut p) {
                            namespaces.insert(ns.clone(), r);
                        }
                    }
                }
            }
        }
        match default {
            Some(default) if p.0.is_empty() => Ok(AdmissionPolicy {
                exempt,
                default,
                namespaces,
            }),
            _ => Err(p.0),
        }
    }

    /// The rule of `namespace` and its name (`kubernetesNamespaceAdmissionRules[<ns>]` or
    /// `defaultAdmissionRule`).
    pub fn rule_for(&self, namespace: &str) -> (String, &Rule) {
        match self.namespaces.get(namespace) {
            Some(r) => (format!("kubernetesNamespaceAdmissionRules[{namespace}]"), r),
            None => ("defaultAdmissionRule".into(), &self.default),
        }
    }

    /// The pattern exempting `image` (as written, or normalized), if one does.
    pub fn exempting(&self, image: &str, normalized: Option<&str>) -> Option<&str> {
        self.exempt
            .iter()
            .find(|p| {
                pattern_matches(p, image) || normalized.is_some_and(|n| pattern_matches(p, n))
            })
            .map(String::as_str)
    }
}

fn rule(v: &Value, path: &str, p: &mut Problems) -> Option<Rule> {
    let o = p.object(v, path)?;
    p.only(o, path, RULE_FIELDS);
    let mut choice =
        |field: &str, supported: &'static [&'static str], default: Option<&'static str>| {
            let value = match (o.get(field), default) {
                (None | Some(Value::Null), Some(d)) => return Some(d.to_string()),
                _ => p.string(o, path, field)?,
            };
            if !supported.contains(&value) {
                p.not_supported(&format!("{path}.{field}"), value, supported);
                return None;
            }
            Some(value.to_string())
        };
    let evaluation = choice("evaluationMode", EVALUATION_MODES, None);
    let enforcement = choice("enforcementMode", ENFORCEMENT_MODES, None);
    let failure = choice("failurePolicy", FAILURE_POLICIES, Some("Ignore"));
    let mut attestors = Vec::new();
    let by = format!("{path}.requireAttestationsBy");
    match o.get("requireAttestationsBy") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, a) in list.iter().enumerate() {
                match a.as_str() {
                    Some(name) if validate_dns_subdomain(name).is_ok() => {
                        attestors.push(name.to_string())
                    }
                    Some(name) => p.invalid(
                        &format!("{by}[{i}]"),
                        name,
                        &validate_dns_subdomain(name).err().unwrap_or_default(),
                    ),
                    None => p.invalid(
                        &format!("{by}[{i}]"),
                        &a.to_string(),
                        "must be the name of an Attestor",
                    ),
                }
            }
        }
        Some(v) => p.invalid(&by, &v.to_string(), "must be a list of Attestor names"),
    }
    let evaluation = match evaluation?.as_str() {
        "REQUIRE_ATTESTATION" => {
            if attestors.is_empty() && !o.contains_key("requireAttestationsBy") {
                p.required(
                    &by,
                    "an attestor is required when evaluationMode is REQUIRE_ATTESTATION",
                );
                return None;
            }
            if attestors.is_empty() {
                p.invalid(
                    &by,
                    "[]",
                    "an attestor is required when evaluationMode is REQUIRE_ATTESTATION",
                );
                return None;
            }
            Evaluation::RequireAttestation(attestors)
        }
        mode => {
            if !attestors.is_empty() {
                p.forbidden(&by, &format!("must be empty when evaluationMode is {mode}"));
                return None;
            }
            if mode == "ALWAYS_ALLOW" {
                Evaluation::AlwaysAllow
            } else {
                Evaluation::AlwaysDeny
            }
        }
    };
    Some(Rule {
        evaluation,
        dry_run: enforcement? == "DRYRUN_AUDIT_LOG_ONLY",
        fail_closed: failure? == "Fail",
    })
}

/// An exempt image pattern: `registry/path/to/image`, with a trailing `*` (no `/` matched)
/// or `**` (anything matched) allowed only after `registry/`.
pub fn validate_pattern(pattern: &str) -> Result<(), String> {
    let stem = pattern.trim_end_matches('*');
    if pattern.len() - stem.len() > 2 {
        return Err("at most two trailing '*' are allowed".into());
    }
    if stem.contains('*') {
        return Err("'*' is allowed only at the end of the pattern".into());
    }
    if stem.is_empty() {
        return Err("must name a registry: registry/path/to/image".into());
    }
    if stem.len() != pattern.len() && !stem.contains('/') {
        return Err("a wildcard is allowed only after the registry/ part".into());
    }
    if pattern.chars().any(char::is_whitespace) {
        return Err("must not contain spaces".into());
    }
    Ok(())
}

/// Whether `image` matches `pattern`: `**` matches any rest, `*` any rest without `/`, and a
/// pattern without wildcard its image by any tag or digest.
pub fn pattern_matches(pattern: &str, image: &str) -> bool {
    if let Some(stem) = pattern.strip_suffix("**") {
        return image.starts_with(stem);
    }
    if let Some(stem) = pattern.strip_suffix('*') {
        return image
            .strip_prefix(stem)
            .is_some_and(|rest| !rest.contains('/'));
    }
    image
        .strip_prefix(pattern)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('@'))
}

fn validate_dns_label(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    ok.then_some(()).ok_or_else(|| {
        "a namespace name must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character".into()
    })
}

fn validate_dns_subdomain(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253 && name.split('.').all(|l| validate_dns_label(l).is_ok());
    ok.then_some(()).ok_or_else(|| {
        "must be the name of an Attestor: lower case alphanumeric characters, '-' or '.'".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| match p {
                Problem::Required { path, .. }
                | Problem::Invalid { path, .. }
                | Problem::NotSupported { path, .. }
                | Problem::Forbidden { path, .. } => path.clone(),
            })
            .collect()
    }

    #[test]
    fn rules_by_namespace_and_the_default() {
        let policy = AdmissionPolicy::parse(&json!({
            "admissionWhitelistPatterns": [{"namePattern": "quay.io/platform/**"}],
            "defaultAdmissionRule": {"evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
            "kubernetesNamespaceAdmissionRules": {"shop": {
                "evaluationMode": "REQUIRE_ATTESTATION", "requireAttestationsBy": ["built-by-ci"],
                "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY", "failurePolicy": "Fail"}}}))
        .unwrap();
        let (name, rule) = policy.rule_for("shop");
        assert_eq!(name, "kubernetesNamespaceAdmissionRules[shop]");
        assert_eq!(
            rule.evaluation,
            Evaluation::RequireAttestation(vec!["built-by-ci".into()])
        );
        assert!(rule.dry_run && rule.fail_closed);
        assert_eq!(rule.mode(), "DRYRUN_AUDIT_LOG_ONLY");
        let (name, rule) = policy.rule_for("other");
        assert_eq!(name, "defaultAdmissionRule");
        assert_eq!(rule.evaluation, Evaluation::AlwaysAllow);
        assert!(!rule.fail_closed, "fail open by default");
        assert_eq!(
            policy.exempting("quay.io/platform/tools/x:1", None),
            Some("quay.io/platform/**")
        );
        assert_eq!(policy.exempting("quay.io/other/x:1", None), None);
    }

    #[test]
    fn patterns_follow_binary_authorizations_globs() {
        assert!(pattern_matches("gcr.io/nginx*", "gcr.io/nginx@sha256:00"));
        assert!(pattern_matches(
            "gcr.io/nginx*",
            "gcr.io/nginx-unprivileged:1"
        ));
        assert!(!pattern_matches("gcr.io/nginx*", "gcr.io/nginx/image"));
        assert!(pattern_matches("gcr.io/nginx**", "gcr.io/nginx/image:1"));
        assert!(pattern_matches("gcr.io/team/app", "gcr.io/team/app:v1"));
        assert!(pattern_matches("gcr.io/team/app", "gcr.io/team/app"));
        assert!(!pattern_matches("gcr.io/team/app", "gcr.io/team/app2"));
        assert!(validate_pattern("gcr.io/*").is_ok());
        assert!(
            validate_pattern("gcr.io*")
                .unwrap_err()
                .contains("after the registry/")
        );
        assert!(
            validate_pattern("gcr.io/*/app")
                .unwrap_err()
                .contains("only at the end")
        );
        assert!(validate_pattern("gcr.io/***").is_err());
        assert!(validate_pattern("**").is_err());
    }

    #[test]
    fn problems_are_reported_with_their_paths() {
        let problems = AdmissionPolicy::parse(&json!({
            "admissionWhitelistPatterns": [{"namePattern": "*"}, {"pattern": "x"}],
            "defaultAdmissionRule": {"evaluationMode": "REQUIRE_ATTESTATION", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
            "kubernetesNamespaceAdmissionRules": {
                "Shop": {"evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY", "requireAttestationsBy": ["a"]},
                "web": {"evaluationMode": "MAYBE", "enforcementMode": "LOUD", "failurePolicy": "Sometimes"}}}))
        .unwrap_err();
        assert_eq!(
            paths(&problems),
            [
                "spec.admissionWhitelistPatterns[0].namePattern",
                "spec.admissionWhitelistPatterns[1].pattern",
                "spec.admissionWhitelistPatterns[1].namePattern",
                "spec.defaultAdmissionRule.requireAttestationsBy",
                "spec.kubernetesNamespaceAdmissionRules[Shop]",
                "spec.kubernetesNamespaceAdmissionRules[Shop].requireAttestationsBy",
                "spec.kubernetesNamespaceAdmissionRules[web].evaluationMode",
                "spec.kubernetesNamespaceAdmissionRules[web].enforcementMode",
                "spec.kubernetesNamespaceAdmissionRules[web].failurePolicy",
            ]
        );
        assert_eq!(
            paths(&AdmissionPolicy::parse(&json!({})).unwrap_err()),
            ["spec.defaultAdmissionRule"]
        );
    }
}
