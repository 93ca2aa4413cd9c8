//! Controller revisions: the snapshots stateful and daemon sets keep of their templates. Upstream
//! requires their data and a non-negative revision, and never changes the data.

use api::scheme::ResourceDef;
use serde_json::Value;

use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct ControllerRevisions;

impl Strategy for ControllerRevisions {
    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        if obj.get("data").is_none_or(Value::is_null) {
            errors.required("data", "data is mandatory");
        }
        if let Some(n) = obj["revision"].as_i64().filter(|n| *n < 0) {
            errors.invalid(
                "revision",
                Bad::Int(n),
                "must be greater than or equal to 0",
            );
        }
        if let Some(old) = old
            && old["data"] != obj["data"]
        {
            errors.invalid(
                "data",
                Bad::Go("runtime.RawExtension{...}".into()),
                "field is immutable",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;
    use serde_json::json;

    #[test]
    fn revisions_keep_their_data() {
        let check = |obj: &Value, old: Option<&Value>| {
            validated(
                &ControllerRevisions,
                ("apps", "v1", "controllerrevisions"),
                obj,
                old,
            )
        };
        let first = json!({"metadata": {"name": "web-1"}, "data": {"spec": {}}, "revision": 1});
        assert_eq!(check(&first, None), "");
        assert_eq!(
            check(&json!({"metadata": {"name": "r"}, "revision": -1}), None),
            "data: Required value: data is mandatory\nrevision: Invalid value: -1: must be greater than or equal to 0\n"
        );
        let mut changed = first.clone();
        changed["data"] = json!({"spec": {"x": 1}});
        assert!(
            check(&changed, Some(&first))
                .contains("data: Invalid value: runtime.RawExtension{...}: field is immutable")
        );
    }
}
