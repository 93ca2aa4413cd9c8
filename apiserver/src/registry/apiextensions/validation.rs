//! CustomResourceDefinition validation with upstream's messages: the name is
//! `<plural>.<group>`, the group a domain with a dot, the names DNS labels (kinds in mixed
//! case), the scope one of two, versions unique with exactly one storage version, and every
//! version's schema structural (`structural.rs`) with well-formed CEL rules
//! (`custom_resources::schema::rules::definition`).

use serde_json::Value;

use super::structural;
use crate::registry::validation::{Bad, FieldErrors, bad, index};

/// A lowercase RFC 1035 label's rule, as upstream words it.
const DNS1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const KIND_RULE: &str =
    "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?";

fn is_dns1035(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// Every rule of a definition's spec and name.
pub fn definition(crd: &Value, errors: &mut FieldErrors) {
    let spec = &crd["spec"];
    let group = text(spec, "group");
    let plural = text(&spec["names"], "plural");
    let name = text(&crd["metadata"], "name");
    if name != format!("{plural}.{group}") {
        errors.invalid(
            "metadata.name",
            Bad::Str(name),
            "must be spec.names.plural+\".\"+spec.group",
        );
    }
    if group.is_empty() {
        errors.required("spec.group", "");
    } else if !api::names::dns1123_subdomain(group).is_empty() {
        for problem in api::names::dns1123_subdomain(group) {
            errors.invalid("spec.group", Bad::Str(group), &problem);
        }
    } else if !group.contains('.') {
        errors.invalid(
            "spec.group",
            Bad::Str(group),
            "should be a domain with at least one dot",
        );
    }
    match text(spec, "scope") {
        "" => errors.required("spec.scope", ""),
        "Cluster" | "Namespaced" => {}
        other => errors.not_supported("spec.scope", Bad::Str(other), &["Cluster", "Namespaced"]),
    }
    names(&spec["names"], errors);
    versions(spec, errors);
    if spec["preserveUnknownFields"] == Value::Bool(true) {
        errors.invalid(
            "spec.preserveUnknownFields",
            Bad::Go("true".into()),
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        );
    }
    match text(&spec["conversion"], "strategy") {
        "" | "None" => {}
        "Webhook" => errors.forbidden(
            "spec.conversion.strategy",
            "conversion webhooks are not supported by this server",
        ),
        other => errors.not_supported(
            "spec.conversion.strategy",
            Bad::Str(other),
            &["None", "Webhook"],
        ),
    }
}

fn names(names: &Value, errors: &mut FieldErrors) {
    for field in ["plural", "singular"] {
        let value = text(names, field);
        let path = format!("spec.names.{field}");
        if value.is_empty() && field == "plural" {
            errors.required(&path, "");
        } else if !value.is_empty() && !is_dns1035(value) {
            errors.invalid(&path, Bad::Str(value), DNS1035);
        }
    }
    for field in ["kind", "listKind"] {
        let value = text(names, field);
        let path = format!("spec.names.{field}");
        if value.is_empty() && field == "kind" {
            errors.required(&path, "");
        } else if !value.is_empty() && !is_dns1035(&value.to_lowercase()) {
            errors.invalid(&path, Bad::Str(value), KIND_RULE);
        }
    }
    let (kind, list_kind) = (text(names, "kind"), text(names, "listKind"));
    if !kind.is_empty() && kind == list_kind {
        errors.invalid(
            "spec.names.listKind",
            Bad::Str(list_kind),
            "kind and listKind may not be the same",
        );
    }
    let shorts = names["shortNames"].as_array().cloned().unwrap_or_default();
    for (i, s) in shorts.iter().enumerate() {
        let s = s.as_str().unwrap_or_default();
        if !is_dns1035(s) {
            errors.invalid(&index("spec.names.shortNames", i), Bad::Str(s), DNS1035);
        }
    }
    let categories = names["categories"].as_array().cloned().unwrap_or_default();
    for (i, c) in categories.iter().enumerate() {
        let c = c.as_str().unwrap_or_default();
        if !is_dns1035(c) {
            errors.invalid(&index("spec.names.categories", i), Bad::Str(c), DNS1035);
        }
    }
}

fn versions(spec: &Value, errors: &mut FieldErrors) {
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        errors.invalid(
            "spec.versions",
            bad(&spec["versions"]),
            "must have exactly one version marked as storage version",
        );
        return;
    }
    let storage = versions
        .iter()
        .filter(|v| v["storage"] == Value::Bool(true))
        .count();
    if storage != 1 {
        errors.invalid(
            "spec.versions",
            bad(&spec["versions"]),
            "must have exactly one version marked as storage version",
        );
    }
    if !versions.iter().any(|v| v["served"] == Value::Bool(true)) {
        errors.invalid(
            "spec.versions",
            bad(&spec["versions"]),
            "must have at least one served version",
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let path = index("spec.versions", i);
        let name = text(v, "name");
        if name.is_empty() {
            errors.required(&format!("{path}.name"), "");
        } else if !is_dns1035(name) {
            errors.invalid(&format!("{path}.name"), Bad::Str(name), DNS1035);
        } else if seen.contains(&name) {
            errors.duplicate(&format!("{path}.name"), Bad::Str(name));
        }
        seen.push(name);
        match v["schema"].get("openAPIV3Schema") {
            Some(schema) => {
                let at = format!("{path}.schema.openAPIV3Schema");
                structural::check(schema, &at, errors);
                crate::custom_resources::schema::rules::definition::check(schema, &at, errors);
            }
            None => errors.required(
                &format!("{path}.schema.openAPIV3Schema"),
                "schemas are required",
            ),
        }
        for (j, c) in v["additionalPrinterColumns"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let cpath = index(&format!("{path}.additionalPrinterColumns"), j).to_string();
            if text(c, "name").is_empty() {
                errors.required(&format!("{cpath}.name"), "");
            }
            match text(c, "type") {
                "" => errors.required(&format!("{cpath}.type"), ""),
                "integer" | "number" | "string" | "boolean" | "date" => {}
                other => errors.not_supported(
                    &format!("{cpath}.type"),
                    Bad::Str(other),
                    &["boolean", "date", "integer", "number", "string"],
                ),
            }
            if text(c, "jsonPath").is_empty() {
                errors.required(&format!("{cpath}.jsonPath"), "");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd() -> Value {
        json!({"metadata": {"name": "widgets.example.com"}, "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    }

    fn summary(crd: &Value) -> String {
        let mut errors = FieldErrors::default();
        definition(crd, &mut errors);
        match errors.is_empty() {
            true => String::new(),
            false => errors.summary(),
        }
    }

    #[test]
    fn a_good_definition_passes() {
        assert_eq!(summary(&crd()), "");
    }

    #[test]
    fn upstream_messages() {
        let mut c = crd();
        c["metadata"]["name"] = json!("w.example.com");
        c["spec"]["group"] = json!("example");
        assert_eq!(
            summary(&c),
            r#"[metadata.name: Invalid value: "w.example.com": must be spec.names.plural+"."+spec.group, spec.group: Invalid value: "example": should be a domain with at least one dot]"#
        );
        let mut c = crd();
        c["spec"]["versions"][0]["storage"] = json!(false);
        c["spec"]["scope"] = json!("Global");
        let s = summary(&c);
        assert!(s.contains(r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#), "{s}");
        assert!(
            s.contains("must have exactly one version marked as storage version"),
            "{s}"
        );
        let mut c = crd();
        c["spec"]["versions"][0]["schema"] = json!({});
        assert_eq!(
            summary(&c),
            "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"
        );
    }
}
