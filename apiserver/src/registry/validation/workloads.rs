//! Workloads: replica counts, selectors that select their own template, immutable
//! selectors, restart policies their controllers can honour, and jobs' counts.

use api::scheme::ResourceDef;
use serde_json::Value;

use super::errors::{Bad, FieldErrors, bad};
use super::meta::labels;

const AT_LEAST_ZERO: &str = "must be greater than or equal to 0";

fn non_negative(obj: &Value, path: &str, errors: &mut FieldErrors) {
    let value = path.split('.').fold(obj, |v, k| &v[k]);
    if let Some(n) = value.as_i64().filter(|n| *n < 0) {
        errors.invalid(path, Bad::Int(n), AT_LEAST_ZERO);
    }
}

/// Deployments, replica sets, stateful sets, daemon sets and replication controllers.
pub fn replicated(def: &ResourceDef, obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    let spec = &obj["spec"];
    for field in ["replicas", "minReadySeconds", "revisionHistoryLimit"] {
        non_negative(obj, &format!("spec.{field}"), errors);
    }
    let template_labels = &spec["template"]["metadata"]["labels"];
    labels(template_labels, "spec.template.metadata.labels", errors);
    let controller = def.group.is_empty();
    // A replication controller's selector is a plain map; the others' a LabelSelector.
    let selects = match (&spec["selector"], controller) {
        (Value::Object(map), true) => {
            labels(&spec["selector"], "spec.selector", errors);
            Some(map.iter().all(|(k, v)| template_labels[k] == *v))
        }
        (Value::Null, true) => None,
        (Value::Null, false) => {
            errors.required("spec.selector", "");
            None
        }
        (selector, _) => {
            labels(
                &selector["matchLabels"],
                "spec.selector.matchLabels",
                errors,
            );
            if selector_is_empty(selector) {
                errors.invalid(
                    "spec.selector",
                    Bad::Go(go_label_selector(selector)),
                    &format!("empty selector is invalid for {}", def.singular),
                );
                None
            } else {
                Some(api::selector::label_selector_matches(
                    selector,
                    template_labels.as_object(),
                ))
            }
        }
    };
    if selects == Some(false) && spec["template"].is_object() {
        errors.invalid(
            "spec.template.metadata.labels",
            bad(template_labels),
            "`selector` does not match template `labels`",
        );
    }
    if let Some(policy) = spec["template"]["spec"]["restartPolicy"].as_str()
        && policy != "Always"
    {
        errors.not_supported(
            "spec.template.spec.restartPolicy",
            Bad::Str(policy),
            &["Always"],
        );
    }
    // A stateful set's selector is refused with the rest of its frozen spec.
    if let Some(old) = old
        && !controller
        && def.plural != "statefulsets"
        && old["spec"]["selector"] != spec["selector"]
    {
        errors.invalid(
            "spec.selector",
            Bad::Go(go_label_selector(&spec["selector"])),
            "field is immutable",
        );
    }
}

pub fn job(obj: &Value, old: Option<&Value>, errors: &mut FieldErrors) {
    for field in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        non_negative(obj, &format!("spec.{field}"), errors);
    }
    let supported = ["OnFailure", "Never"];
    match obj["spec"]["template"]["spec"]["restartPolicy"].as_str() {
        None | Some("") => errors.required(
            "spec.template.spec.restartPolicy",
            "valid values: \"OnFailure\", \"Never\"",
        ),
        Some(p) if !supported.contains(&p) => {
            errors.not_supported("spec.template.spec.restartPolicy", Bad::Str(p), &supported)
        }
        Some(_) => {}
    }
    if let Some(old) = old
        && old["spec"]["template"] != obj["spec"]["template"]
    {
        errors.invalid(
            "spec.template",
            Bad::Go("core.PodTemplateSpec{...}".into()),
            "field is immutable",
        );
    }
}

fn selector_is_empty(selector: &Value) -> bool {
    let empty = |f: &str| match &selector[f] {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    };
    empty("matchLabels") && empty("matchExpressions")
}

/// A LabelSelector as Go prints it in messages (`v1.LabelSelector{MatchLabels:...}`).
fn go_label_selector(selector: &Value) -> String {
    let labels = match selector["matchLabels"].as_object() {
        Some(map) if !map.is_empty() => bad(&selector["matchLabels"]).to_string(),
        _ => "map[string]string(nil)".to_string(),
    };
    let expressions = match selector["matchExpressions"].as_array() {
        Some(list) if !list.is_empty() => {
            format!("[]v1.LabelSelectorRequirement{{...}} ({})", list.len())
        }
        _ => "[]v1.LabelSelectorRequirement(nil)".to_string(),
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{expressions}}}")
}

/// A non-negative count, or a percentage of at most 100%.
pub fn int_or_percent(value: &Value, field: &str, errors: &mut FieldErrors) {
    match value {
        Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => {
            errors.invalid(field, bad(value), "must be greater than or equal to 0")
        }
        Value::String(s) => match s.strip_suffix('%').map(str::parse::<i64>) {
            Some(Ok(p)) if p < 0 => {
                errors.invalid(field, Bad::Str(s), "must be greater than or equal to 0")
            }
            Some(Ok(p)) if p > 100 => {
                errors.invalid(field, Bad::Str(s), "must not be greater than 100%")
            }
            Some(Ok(_)) => {}
            _ => errors.invalid(
                field,
                Bad::Str(s),
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
            ),
        },
        _ => {}
    }
}
