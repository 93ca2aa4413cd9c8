//! `metadata`: label and annotation syntax, the annotations' total size, finalizer names and
//! owner references, as upstream's `ValidateObjectMeta`.

use api::names;
use serde_json::Value;

use super::errors::{Bad, FieldErrors, bad, index};

/// Upstream's limit on the total size of an object's annotations (keys and values).
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// Finalizers without a domain prefix that upstream knows.
const STANDARD_FINALIZERS: &[&str] = &["kubernetes", "orphan", "foregroundDeletion"];

pub fn object_meta(obj: &Value, errors: &mut FieldErrors) {
    let meta = &obj["metadata"];
    labels(&meta["labels"], "metadata.labels", errors);
    annotations(&meta["annotations"], "metadata.annotations", errors);
    finalizers(&meta["finalizers"], errors);
    owner_references(&meta["ownerReferences"], errors);
}

/// Label keys and values (of an object, a template or a selector).
pub fn labels(labels: &Value, field: &str, errors: &mut FieldErrors) {
    let Some(map) = labels.as_object() else {
        return;
    };
    for (key, value) in map {
        for message in names::qualified_name(key) {
            errors.invalid(field, Bad::Str(key), &message);
        }
        let value = value.as_str().unwrap_or_default();
        for message in names::label_value(value) {
            errors.invalid(field, Bad::Str(value), &message);
        }
    }
}

/// Upstream's `ValidateLabelSelector`: `matchLabels` as labels, each requirement's operator
/// with the values it takes, its key a label name and (when `values` is true) its values label
/// values.
pub fn label_selector(selector: &Value, path: &str, values: bool, errors: &mut FieldErrors) {
    labels(
        &selector["matchLabels"],
        &format!("{path}.matchLabels"),
        errors,
    );
    for (i, r) in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = index(&format!("{path}.matchExpressions"), i);
        let given: Vec<&str> = r["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v.as_str().unwrap_or_default())
            .collect();
        let operator = r["operator"].as_str().unwrap_or_default();
        match operator {
            "In" | "NotIn" if given.is_empty() => errors.required(
                &format!("{at}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            ),
            "Exists" | "DoesNotExist" if !given.is_empty() => errors.forbidden(
                &format!("{at}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errors.invalid(
                &format!("{at}.operator"),
                Bad::Str(other),
                "not a valid selector operator",
            ),
        }
        let key = r["key"].as_str().unwrap_or_default();
        for message in names::qualified_name(key) {
            errors.invalid(&format!("{at}.key"), Bad::Str(key), &message);
        }
        if values {
            for (j, value) in given.iter().enumerate() {
                for message in names::label_value(value) {
                    let field = index(&format!("{at}.values"), j);
                    errors.invalid(&field, Bad::Str(value), &message);
                }
            }
        }
    }
}

fn annotations(annotations: &Value, field: &str, errors: &mut FieldErrors) {
    let Some(map) = annotations.as_object() else {
        return;
    };
    let mut size = 0;
    for (key, value) in map {
        // Case does not matter in annotation keys.
        for message in names::qualified_name(&key.to_lowercase()) {
            errors.invalid(field, Bad::Str(key), &message);
        }
        size += key.len() + value.as_str().map_or(0, str::len);
    }
    if size > ANNOTATIONS_MAX_BYTES {
        errors.too_long(field, ANNOTATIONS_MAX_BYTES);
    }
}

fn finalizers(finalizers: &Value, errors: &mut FieldErrors) {
    let Some(list) = finalizers.as_array() else {
        return;
    };
    for (i, finalizer) in list.iter().enumerate() {
        let name = finalizer.as_str().unwrap_or_default();
        let field = index("metadata.finalizers", i);
        let problems = names::qualified_name(name);
        for message in &problems {
            errors.invalid(&field, Bad::Str(name), message);
        }
        if problems.is_empty() && !name.contains('/') && !STANDARD_FINALIZERS.contains(&name) {
            errors.invalid(
                &field,
                Bad::Str(name),
                "name is neither a standard finalizer name nor is it fully qualified",
            );
        }
    }
}

fn owner_references(references: &Value, errors: &mut FieldErrors) {
    let Some(list) = references.as_array() else {
        return;
    };
    let mut controllers = Vec::new();
    for reference in list {
        let text = |f: &str| reference[f].as_str().unwrap_or_default();
        let field = "metadata.ownerReferences";
        if text("apiVersion").is_empty() {
            errors.invalid(
                &format!("{field}.apiVersion"),
                Bad::Str(""),
                "version must not be empty",
            );
        }
        if text("kind").is_empty() {
            errors.invalid(
                &format!("{field}.kind"),
                Bad::Str(""),
                "kind must not be empty",
            );
        }
        if text("name").is_empty() {
            errors.invalid(
                &format!("{field}.name"),
                Bad::Str(""),
                "name must not be empty",
            );
        }
        if text("uid").is_empty() {
            errors.invalid(
                &format!("{field}.uid"),
                Bad::Str(""),
                "uid must not be empty",
            );
        }
        if reference["controller"] == true {
            controllers.push(format!("{}/{}", text("kind"), text("name")));
        }
    }
    if controllers.len() > 1 {
        errors.invalid(
            "metadata.ownerReferences",
            bad(references),
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {}",
                controllers.join(" and ")
            ),
        );
    }
}
