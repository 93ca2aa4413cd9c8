//! Upstream's rules of certificate signing requests, in its words: the request parsed and its
//! signature checked, usages known and once each, the signer's name, the minimum duration,
//! the conditions (Approved and Denied exclusive, Approved/Denied/Failed `True` only, never
//! removed, Approved/Denied only through `approval`) and the certificate (PEM `CERTIFICATE`
//! blocks only, set through `status` only, never changed once set). What an object already
//! stored breaks is tolerated on its updates, as upstream tolerates it.

use base64::Engine;
use serde_json::Value;

use crate::registry::validation::{Bad, FieldErrors, bad, index};

pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

/// Every usage the API knows.
pub const USAGES: &[&str] = &[
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// Which write is judged: what it may change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Write {
    #[default]
    Object,
    Status,
    Approval,
}

/// The bytes of a `[]byte` field (base64 in JSON; the decoder already refused bad base64).
pub fn bytes(value: &Value) -> Vec<u8> {
    value
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or_default()
}

fn request(obj: &Value) -> Vec<u8> {
    bytes(&obj["spec"]["request"])
}

fn certificate(obj: &Value) -> Vec<u8> {
    bytes(&obj["status"]["certificate"])
}

fn conditions(obj: &Value) -> &[Value] {
    obj["status"]["conditions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn of_type<'a>(obj: &'a Value, kind: &str) -> Vec<&'a Value> {
    conditions(obj)
        .iter()
        .filter(|c| c["type"] == kind)
        .collect()
}

fn usages(obj: &Value) -> Vec<&str> {
    obj["spec"]["usages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, x)| items[..i].contains(x))
}

/// Upstream's `ValidateSignerName`.
pub fn check_signer_name(field: &str, name: &str, errors: &mut FieldErrors) {
    if name.is_empty() {
        errors.required(field, "");
        return;
    }
    let segments: Vec<&str> = name.split('/').collect();
    if segments.len() != 2 {
        errors.invalid(
            field,
            Bad::Str(name),
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        );
        return;
    }
    let (domain, path) = (segments[0], segments[1]);
    if domain.len() > 253 {
        errors.too_long(field, 253);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        let problems = api::names::dns1123_label(label);
        if !problems.is_empty() {
            for p in problems {
                errors.invalid(
                    field,
                    Bad::Str(domain),
                    &format!("validating label {label:?}: {p}"),
                );
            }
            break;
        }
    }
    if labels.len() < 2 {
        errors.invalid(
            field,
            Bad::Str(domain),
            "should be a domain with at least two segments separated by dots",
        );
    }
    for label in path.split('.') {
        let problems = api::names::dns1123_subdomain(label);
        if !problems.is_empty() {
            for p in problems {
                errors.invalid(
                    field,
                    Bad::Str(path),
                    &format!("validating label {label:?}: {p}"),
                );
            }
            break;
        }
    }
    let max = 253 + (253 + 63 + 1) + 1;
    if name.len() > max {
        errors.too_long(field, max);
    }
}

/// Everything upstream checks on `obj` (a create when `old` is `None`).
pub fn validate(obj: &Value, old: Option<&Value>, write: Write, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    let request = request(obj);
    if let Err(e) = auth::csr::parse(&request) {
        errors.invalid("spec.request", Bad::Go(auth::csr::go_bytes(&request)), &e);
    }
    let used = usages(obj);
    if used.is_empty() {
        errors.required("spec.usages", "");
    }
    let old_usages = old.map(usages).unwrap_or_default();
    if !old_usages.iter().any(|u| !USAGES.contains(u)) {
        for (i, usage) in used.iter().enumerate() {
            if !USAGES.contains(usage) {
                errors.not_supported(&index("spec.usages", i), Bad::Str(usage), USAGES);
            }
        }
    }
    if !has_duplicates(&old_usages) {
        for (i, usage) in used.iter().enumerate() {
            if used[..i].contains(usage) {
                errors.duplicate(&index("spec.usages", i), Bad::Str(usage));
            }
        }
    }
    let signer = spec["signerName"].as_str().unwrap_or_default();
    let legacy_stored = old.is_some_and(|o| o["spec"]["signerName"] == LEGACY_UNKNOWN);
    if signer == LEGACY_UNKNOWN && !legacy_stored {
        errors.invalid(
            "spec.signerName",
            Bad::Str(signer),
            "the legacy signerName is not allowed via this API version",
        );
    } else {
        check_signer_name("spec.signerName", signer, errors);
    }
    if let Some(seconds) = spec["expirationSeconds"].as_i64()
        && seconds < 600
    {
        errors.invalid(
            "spec.expirationSeconds",
            Bad::Int(seconds),
            "may not specify a duration less than 600 seconds (10 minutes)",
        );
    }
    check_conditions(obj, old, errors);
    let cert = certificate(obj);
    let unchanged = old.is_some_and(|o| certificate(o) == cert);
    let stored_broken =
        old.is_some_and(|o| auth::csr::check_certificates(&certificate(o)).is_err());
    if !unchanged
        && !stored_broken
        && let Err(e) = auth::csr::check_certificates(&cert)
    {
        errors.invalid("status.certificate", Bad::Str("<certificate data>"), &e);
    }
    if let Some(old) = old {
        check_update(obj, old, write, errors);
    }
}

fn check_conditions(obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let tolerated = |test: fn(&Value) -> bool| old.is_some_and(test);
    let both_stored =
        tolerated(|o| !of_type(o, "Approved").is_empty() && !of_type(o, "Denied").is_empty());
    let types_of = |o: &Value| -> Vec<String> {
        conditions(o)
            .iter()
            .map(|c| c["type"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let duplicates_stored = old.is_some_and(|o| has_duplicates(&types_of(o)));
    let empty_stored = old.is_some_and(|o| types_of(o).iter().any(String::is_empty));
    let (mut approved, mut denied) = (false, false);
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in conditions(obj).iter().enumerate() {
        let at = index("status.conditions", i);
        let kind = c["type"].as_str().unwrap_or_default();
        if !empty_stored && kind.is_empty() {
            errors.required(&format!("{at}.type"), "");
        }
        let status = c["status"].as_str().unwrap_or_default();
        let allowed: &[&str] = match kind {
            "Approved" | "Denied" | "Failed" => &["True"],
            _ => &["False", "True", "Unknown"],
        };
        if status.is_empty() {
            errors.required(&format!("{at}.status"), "");
        } else if !allowed.contains(&status) {
            errors.not_supported(&format!("{at}.status"), bad(&c["status"]), allowed);
        }
        if !both_stored {
            let exclusive = match kind {
                "Approved" => {
                    approved = true;
                    denied
                }
                "Denied" => {
                    denied = true;
                    approved
                }
                _ => false,
            };
            if exclusive {
                errors.invalid(
                    &format!("{at}.type"),
                    Bad::Str(kind),
                    "Approved and Denied conditions are mutually exclusive",
                );
            }
        }
        if !duplicates_stored && seen.contains(&kind) {
            errors.duplicate(&format!("{at}.type"), Bad::Str(kind));
        }
        seen.push(kind);
    }
}

fn check_update(obj: &Value, old: &Value, write: Write, errors: &mut FieldErrors) {
    for kind in ["Approved", "Denied", "Failed"] {
        if of_type(obj, kind).len() < of_type(old, kind).len() {
            errors.forbidden(
                "status.conditions",
                &format!("updates may not remove a condition of type {kind:?}"),
            );
        }
    }
    if write != Write::Approval {
        for kind in ["Approved", "Denied"] {
            let (new, before) = (of_type(obj, kind), of_type(old, kind));
            if new.len() > before.len() {
                errors.forbidden(
                    "status.conditions",
                    &format!("updates may not add a condition of type {kind:?}"),
                );
            } else if new.len() == before.len() && new != before {
                errors.forbidden(
                    "status.conditions",
                    &format!("updates may not modify a condition of type {kind:?}"),
                );
            }
        }
    }
    let (new, before) = (certificate(obj), certificate(old));
    if new != before {
        if write != Write::Status {
            errors.forbidden(
                "status.certificate",
                "updates may not set certificate content",
            );
        } else if !before.is_empty() {
            errors.forbidden(
                "status.certificate",
                "updates may not modify existing certificate content",
            );
        }
    }
}
