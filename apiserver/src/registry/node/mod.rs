//! Runtime classes: a handler named as a DNS label, which never changes.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, bad};

pub struct RuntimeClasses;

impl Strategy for RuntimeClasses {
    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let handler = obj["handler"].as_str().unwrap_or_default();
        for message in api::names::dns1123_label(handler) {
            errors.invalid("handler", Bad::Str(handler), &message);
        }
        if let Some(old) = old
            && old["handler"] != obj["handler"]
        {
            errors.invalid("handler", bad(&obj["handler"]), "field is immutable");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;
    use serde_json::json;

    #[test]
    fn handlers_are_labels_and_stay() {
        let check = |obj: &Value, old: Option<&Value>| {
            validated(
                &RuntimeClasses,
                ("node.k8s.io", "v1", "runtimeclasses"),
                obj,
                old,
            )
        };
        let runc = json!({"metadata": {"name": "runc"}, "handler": "runc"});
        assert_eq!(check(&runc, None), "");
        assert!(
            check(
                &json!({"metadata": {"name": "x"}, "handler": "Bad_Name"}),
                None
            )
            .starts_with("handler: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label")
        );
        let crun = json!({"metadata": {"name": "runc"}, "handler": "crun"});
        assert_eq!(
            check(&crun, Some(&runc)),
            "handler: Invalid value: \"crun\": field is immutable\n"
        );
    }
}
