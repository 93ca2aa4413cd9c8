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
    conversion(&spec["conversion"], errors);
    stored_versions(crd, errors);
}

/// `spec.conversion`, as upstream's validation words it (its paths are the internal
/// version's: `webhookClientConfig`).
fn conversion(conversion: &Value, errors: &mut FieldErrors) {
    const CLIENT: &str = "spec.conversion.webhookClientConfig";
    const REVIEWS: &str = "spec.conversion.conversionReviewVersions";
    let webhook = &conversion["webhook"];
    match text(conversion, "strategy") {
        "" | "None" => {
            if webhook.get("clientConfig").is_some_and(|c| !c.is_null()) {
                errors.forbidden(
                    CLIENT,
                    "should not be set when strategy is not set to Webhook",
                );
            }
            if webhook["conversionReviewVersions"]
                .as_array()
                .is_some_and(|v| !v.is_empty())
            {
                errors.forbidden(
                    REVIEWS,
                    "should not be set when strategy is not set to Webhook",
                );
            }
        }
        "Webhook" => {
            let config = &webhook["clientConfig"];
            if !config.is_object() {
                errors.required(CLIENT, "required when strategy is set to Webhook");
            } else {
                match (config.get("url"), config.get("service")) {
                    (Some(url), None) => webhook_url(url.as_str().unwrap_or_default(), errors),
                    (None, Some(service)) => webhook_service(service, errors),
                    _ => errors.required(CLIENT, "exactly one of url or service is required"),
                }
            }
            review_versions(&webhook["conversionReviewVersions"], errors);
        }
        other => errors.not_supported(
            "spec.conversion.strategy",
            Bad::Str(other),
            &["None", "Webhook"],
        ),
    }
}

/// A webhook's URL: https, no user, query or fragment (upstream's `ValidateWebhookURL`).
fn webhook_url(url: &str, errors: &mut FieldErrors) {
    const FIELD: &str = "spec.conversion.webhookClientConfig.url";
    let Some(rest) = url.strip_prefix("https://") else {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        errors.invalid(
            FIELD,
            Bad::Str(url),
            &format!(
                "'https' is the only allowed URL scheme{}",
                match scheme {
                    "" => String::new(),
                    s => format!(", not {s:?}").replace('"', "'"),
                }
            ),
        );
        return;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        errors.invalid(FIELD, Bad::Str(url), "host must be specified");
    }
    if authority.contains('@') {
        errors.invalid(
            FIELD,
            Bad::Str(url),
            "user information is not permitted in the URL",
        );
    }
    if url.contains('#') {
        errors.invalid(
            FIELD,
            Bad::Str(url),
            "fragments are not permitted in the URL",
        );
    }
    if url.contains('?') {
        errors.invalid(
            FIELD,
            Bad::Str(url),
            "query parameters are not permitted in the URL",
        );
    }
}

/// A webhook's service reference (upstream's `ValidateWebhookService`).
fn webhook_service(service: &Value, errors: &mut FieldErrors) {
    const FIELD: &str = "spec.conversion.webhookClientConfig.service";
    if text(service, "name").is_empty() {
        errors.required(&format!("{FIELD}.name"), "service name is required");
    }
    if text(service, "namespace").is_empty() {
        errors.required(
            &format!("{FIELD}.namespace"),
            "service namespace is required",
        );
    }
    if let Some(port) = service["port"].as_i64()
        && !(1..=65535).contains(&port)
    {
        errors.invalid(
            &format!("{FIELD}.port"),
            Bad::Go(port.to_string()),
            "port is not valid: must be between 1 and 65535, inclusive",
        );
    }
    let path = text(service, "path");
    if !path.is_empty() && !path.starts_with('/') {
        errors.invalid(
            &format!("{FIELD}.path"),
            Bad::Str(path),
            "must start with a '/'",
        );
    }
}

/// `conversionReviewVersions`: given, unique, DNS labels, one of them known.
fn review_versions(versions: &Value, errors: &mut FieldErrors) {
    const FIELD: &str = "spec.conversion.conversionReviewVersions";
    let list: Vec<&str> = versions
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    if list.is_empty() {
        errors.required(FIELD, "");
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in list.iter().enumerate() {
        if seen.contains(v) {
            errors.invalid(&index(FIELD, i), Bad::Str(v), "duplicate version");
            continue;
        }
        seen.push(v);
        if !is_dns1035(v) {
            errors.invalid(&index(FIELD, i), Bad::Str(v), DNS1035);
        }
    }
    if !list.iter().any(|v| matches!(*v, "v1" | "v1beta1")) {
        errors.invalid(
            FIELD,
            Bad::Go(format!(
                "[]string{{{}}}",
                list.iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            "must include at least one of v1, v1beta1",
        );
    }
}

/// `status.storedVersions`: every stored version still in `spec.versions`, the storage
/// version among them (upstream's `ValidateCustomResourceDefinitionStoredVersions`).
fn stored_versions(crd: &Value, errors: &mut FieldErrors) {
    const FIELD: &str = "status.storedVersions";
    let Some(stored) = crd["status"]["storedVersions"].as_array() else {
        return;
    };
    let stored: Vec<&str> = stored
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    if stored.is_empty() {
        errors.invalid(
            FIELD,
            Bad::Go("[]string{}".into()),
            "must have at least one stored version",
        );
        return;
    }
    let versions = crd["spec"]["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in &versions {
        let name = text(v, "name");
        if v["storage"] == Value::Bool(true) && !stored.contains(&name) {
            errors.invalid(
                FIELD,
                Bad::Str(name),
                &format!("must have the storage version {name}"),
            );
        }
    }
    for (i, s) in stored.iter().enumerate() {
        if !versions.iter().any(|v| text(v, "name") == *s) {
            errors.invalid(
                &index(FIELD, i),
                Bad::Str(s),
                "must appear in spec.versions",
            );
        }
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
