//! A route's rules, as upstream's route validation (library-go), with its messages: the host a
//! DNS subdomain of DNS labels (labels checked on create, or when a compliant host changes,
//! unless `route.openshift.io/allow-non-dns-compliant-host`), the subdomain, the wildcard
//! policy (immutable), paths, backends (at most 3 alternates, weights 0–256), the target port,
//! and which TLS fields each termination accepts. Certificates are not parsed here: upstream
//! leaves that to the routers' extended validation.

use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors, bad, index};

const ALLOW_NON_DNS_COMPLIANT_HOST: &str = "route.openshift.io/allow-non-dns-compliant-host";
const MAX_HEADER_ACTIONS: usize = 20;
const FORBIDDEN_HEADERS: [&str; 4] = ["strict-transport-security", "proxy", "cookie", "set-cookie"];

pub fn route(obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    if let Some(old) = old
        && text(&old["spec"]["wildcardPolicy"]) != text(&spec["wildcardPolicy"])
    {
        errors.invalid(
            "spec.wildcardPolicy",
            bad(&spec["wildcardPolicy"]),
            "field is immutable",
        );
    }
    let check_labels = match old {
        None => true,
        Some(old) => {
            let old_host = text(&old["spec"]["host"]);
            text(&spec["host"]) != old_host && labels_valid(old_host)
        }
    };
    host(obj, check_labels, errors);
    subdomain(text(&spec["subdomain"]), errors);
    wildcard_policy(spec, errors);
    headers(spec, errors);
    let path = text(&spec["path"]);
    if !path.is_empty() && !path.starts_with('/') {
        errors.invalid("spec.path", Bad::Str(path), "path must begin with /");
    }
    if !path.is_empty() && spec["tls"]["termination"] == "passthrough" {
        errors.invalid(
            "spec.path",
            Bad::Str(path),
            "passthrough termination does not support paths",
        );
    }
    backend(&spec["to"], "spec.to", errors);
    let alternates = spec["alternateBackends"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if alternates.len() > 3 {
        errors.required(
            "spec.alternateBackends",
            "cannot specify more than 3 alternate backends",
        );
    }
    for (i, alternate) in alternates.iter().enumerate() {
        backend(alternate, &index("spec.alternateBackends", i), errors);
    }
    if let Some(port) = spec.get("port").filter(|p| p.is_object()) {
        let target = &port["targetPort"];
        if target.is_null() || *target == 0 || *target == "" {
            errors.required("spec.port.targetPort", "");
        }
    }
    if let Some(tls) = spec.get("tls").filter(|t| t.is_object()) {
        self::tls(tls, errors);
    }
}

fn host(obj: &Value, check_labels: bool, errors: &mut FieldErrors) {
    let host = text(&obj["spec"]["host"]);
    if host.is_empty() {
        return;
    }
    if !api::names::dns1123_subdomain(host).is_empty() {
        errors.invalid(
            "spec.host",
            Bad::Str(host),
            "host must conform to DNS 952 subdomain conventions",
        );
    }
    let lenient = obj["metadata"]["annotations"][ALLOW_NON_DNS_COMPLIANT_HOST] == "true";
    if check_labels && !lenient {
        for label in host.split('.') {
            for problem in api::names::dns1123_label(label) {
                errors.invalid("spec.host", Bad::Str(host), &problem);
            }
        }
    }
}

fn labels_valid(host: &str) -> bool {
    host.is_empty()
        || host
            .split('.')
            .all(|label| api::names::dns1123_label(label).is_empty())
}

fn subdomain(subdomain: &str, errors: &mut FieldErrors) {
    if subdomain.is_empty() {
        return;
    }
    if subdomain.len() > 253 {
        errors.invalid(
            "spec.subdomain",
            Bad::Str(subdomain),
            "must be no more than 253 characters",
        );
    }
    for label in subdomain.split('.') {
        let problems = api::names::dns1123_label(label);
        if !problems.is_empty() {
            errors.invalid("spec.subdomain", Bad::Str(label), &problems.join(", "));
        }
    }
}

fn wildcard_policy(spec: &Value, errors: &mut FieldErrors) {
    let policy = text(&spec["wildcardPolicy"]);
    match policy {
        "" | "None" => {}
        "Subdomain" if text(&spec["host"]).is_empty() => errors.invalid(
            "spec.wildcardPolicy",
            Bad::Str(policy),
            "host name not specified for wildcard policy",
        ),
        "Subdomain" => {}
        other => errors.not_supported(
            "spec.wildcardPolicy",
            Bad::Str(other),
            &["None", "Subdomain"],
        ),
    }
}

fn headers(spec: &Value, errors: &mut FieldErrors) {
    let actions = &spec["httpHeaders"]["actions"];
    let list = |which: &str| actions[which].as_array().map_or(&[][..], Vec::as_slice);
    let (request, response) = (list("request"), list("response"));
    if (!request.is_empty() || !response.is_empty()) && spec["tls"]["termination"] == "passthrough"
    {
        errors.invalid(
            "spec.tls.termination",
            Bad::Str("passthrough"),
            "only edge and re-encrypt routes are supported for providing customized headers.",
        );
    }
    for (which, items) in [("response", response), ("request", request)] {
        let field = format!("spec.httpHeaders.actions.{which}");
        if items.len() > MAX_HEADER_ACTIONS {
            errors.invalid(
                &field,
                Bad::Go(format!("{} items", items.len())),
                &format!("{which} headers list can't exceed {MAX_HEADER_ACTIONS} items"),
            );
            continue;
        }
        for (i, header) in items.iter().enumerate() {
            let name = text(&header["name"]);
            let at = format!("{}.name", index(&field, i));
            if name.is_empty() {
                errors.required(&at, "");
            } else if FORBIDDEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                errors.forbidden(
                    &at,
                    &format!(
                        "the following headers may not be modified using this API: {}",
                        FORBIDDEN_HEADERS.join(", ")
                    ),
                );
            }
        }
    }
}

fn backend(to: &Value, field: &str, errors: &mut FieldErrors) {
    if text(&to["name"]).is_empty() {
        errors.required(&format!("{field}.name"), "");
    }
    if to["kind"] != "Service" {
        errors.invalid(
            &format!("{field}.kind"),
            Bad::Str(text(&to["kind"])),
            "must reference a Service",
        );
    }
    if let Some(weight) = to["weight"].as_i64()
        && !(0..=256).contains(&weight)
    {
        errors.invalid(
            &format!("{field}.weight"),
            Bad::Int(weight),
            "weight must be an integer between 0 and 256",
        );
    }
}

fn tls(tls: &Value, errors: &mut FieldErrors) {
    let termination = text(&tls["termination"]);
    let set = |field: &str| !text(&tls[field]).is_empty();
    match termination {
        "reencrypt" => {}
        "passthrough" => {
            for (field, what) in [
                ("certificate", "redacted certificate data"),
                ("key", "redacted key data"),
                ("caCertificate", "redacted ca certificate data"),
                (
                    "destinationCACertificate",
                    "redacted destination ca certificate data",
                ),
            ] {
                if set(field) {
                    errors.invalid(
                        &format!("spec.tls.{field}"),
                        Bad::Str(what),
                        "passthrough termination does not support certificates",
                    );
                }
            }
        }
        "edge" => {
            if set("destinationCACertificate") {
                errors.invalid(
                    "spec.tls.destinationCACertificate",
                    Bad::Str("redacted destination ca certificate data"),
                    "edge termination does not support destination certificates",
                );
            }
        }
        other => errors.not_supported(
            "spec.tls.termination",
            Bad::Str(other),
            &["edge", "passthrough", "reencrypt"],
        ),
    }
    let policy = text(&tls["insecureEdgeTerminationPolicy"]);
    let (allowed, message): (&[&str], &str) = match termination {
        "passthrough" => (
            &["None", "Redirect"],
            "invalid value for InsecureEdgeTerminationPolicy option, acceptable values are None, Redirect, or empty",
        ),
        "edge" | "reencrypt" => (
            &["None", "Allow", "Redirect"],
            "invalid value for InsecureEdgeTerminationPolicy option, acceptable values are None, Allow, Redirect, or empty",
        ),
        _ => (&[], ""),
    };
    if !policy.is_empty() && !message.is_empty() && !allowed.contains(&policy) {
        errors.invalid(
            "spec.tls.insecureEdgeTerminationPolicy",
            Bad::Str(policy),
            message,
        );
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Routes;
    use crate::registry::validation::validated;

    const ROUTES: (&str, &str, &str) = ("route.openshift.io", "v1", "routes");

    fn check(spec: serde_json::Value) -> String {
        let route = json!({"metadata": {"name": "r", "namespace": "p"}, "spec": spec});
        validated(&Routes, ROUTES, &route, None)
    }

    #[test]
    fn a_plain_route_is_valid() {
        assert_eq!(
            check(
                json!({"host": "www.example.com", "to": {"kind": "Service", "name": "web", "weight": 100},
                "wildcardPolicy": "None"})
            ),
            ""
        );
    }

    #[test]
    fn upstreams_messages() {
        assert_eq!(
            check(
                json!({"host": "a_b.example.com", "path": "x", "to": {"kind": "Pod", "name": "", "weight": 300},
                "port": {"targetPort": 0}, "wildcardPolicy": "Other"})
            ),
            "spec.host: Invalid value: \"a_b.example.com\": host must conform to DNS 952 subdomain conventions\n\
             spec.host: Invalid value: \"a_b.example.com\": a lowercase RFC 1123 label must consist of lower case \
             alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  \
             or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n\
             spec.wildcardPolicy: Unsupported value: \"Other\": supported values: \"None\", \"Subdomain\"\n\
             spec.path: Invalid value: \"x\": path must begin with /\n\
             spec.to.name: Required value\n\
             spec.to.kind: Invalid value: \"Pod\": must reference a Service\n\
             spec.to.weight: Invalid value: 300: weight must be an integer between 0 and 256\n\
             spec.port.targetPort: Required value\n"
        );
    }

    #[test]
    fn tls_fields_by_termination() {
        assert_eq!(
            check(
                json!({"path": "/x", "to": {"kind": "Service", "name": "web"},
                "tls": {"termination": "passthrough", "key": "k", "insecureEdgeTerminationPolicy": "Allow"}})
            ),
            "spec.path: Invalid value: \"/x\": passthrough termination does not support paths\n\
             spec.tls.key: Invalid value: \"redacted key data\": passthrough termination does not support certificates\n\
             spec.tls.insecureEdgeTerminationPolicy: Invalid value: \"Allow\": invalid value for \
             InsecureEdgeTerminationPolicy option, acceptable values are None, Redirect, or empty\n"
        );
        assert_eq!(
            check(
                json!({"to": {"kind": "Service", "name": "web"}, "tls": {"termination": "edge",
                "destinationCACertificate": "x"}})
            ),
            "spec.tls.destinationCACertificate: Invalid value: \"redacted destination ca certificate data\": \
             edge termination does not support destination certificates\n"
        );
        assert_eq!(
            check(
                json!({"to": {"kind": "Service", "name": "web"}, "tls": {"termination": "bogus"}})
            ),
            "spec.tls.termination: Unsupported value: \"bogus\": supported values: \"edge\", \"passthrough\", \"reencrypt\"\n"
        );
    }

    #[test]
    fn at_most_three_alternates_and_subdomain_needs_a_host() {
        let b = json!({"kind": "Service", "name": "b"});
        assert_eq!(
            check(
                json!({"to": {"kind": "Service", "name": "web"}, "alternateBackends": [b, b, b, b],
                "wildcardPolicy": "Subdomain"})
            ),
            "spec.wildcardPolicy: Invalid value: \"Subdomain\": host name not specified for wildcard policy\n\
             spec.alternateBackends: Required value: cannot specify more than 3 alternate backends\n"
        );
    }

    #[test]
    fn the_wildcard_policy_is_immutable_and_long_labels_only_checked_when_new() {
        let long = format!("{}.example.com", "a".repeat(64));
        let old = json!({"metadata": {"name": "r"}, "spec": {"host": long, "to": {"kind": "Service", "name": "w"},
            "wildcardPolicy": "None"}});
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        assert_eq!(validated(&Routes, ROUTES, &new, Some(&old)), "");
        new["spec"]["wildcardPolicy"] = json!("Subdomain");
        assert_eq!(
            validated(&Routes, ROUTES, &new, Some(&old)),
            "spec.wildcardPolicy: Invalid value: \"Subdomain\": field is immutable\n"
        );
    }
}
