//! The label and field selectors of a list or watch.

use api::scheme::ResourceDef;
use api::selector::{FieldSelector, LabelSelector};
use serde_json::Value;

use crate::error::ApiError;
use crate::registry::object;
use crate::registry::pruned_json::Paths;
use crate::registry::query::Params;

/// The label and field selectors of a list or watch.
pub(crate) struct Selection {
    labels: LabelSelector,
    fields: FieldSelector,
    /// What the selectors read of an object.
    read: Paths,
}

impl Selection {
    pub(crate) fn parse(def: &ResourceDef, params: &Params) -> Result<Selection, ApiError> {
        let labels = LabelSelector::parse(params.label_selector.as_deref().unwrap_or_default())
            .map_err(ApiError::BadRequest)?;
        let fields =
            FieldSelector::parse(params.field_selector.as_deref().unwrap_or_default(), |f| {
                def.supports_field(f)
            })
            .map_err(ApiError::BadRequest)?;
        let mut read = Paths::default();
        if !labels.is_empty() {
            read.keep(&["metadata", "labels"]);
        }
        for field in fields.fields() {
            read.keep(&field.split('.').collect::<Vec<_>>());
        }
        Ok(Selection {
            labels,
            fields,
            read,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub(crate) fn matches(&self, obj: &Value) -> bool {
        let labels = object::metadata(obj)
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.labels.matches(labels) && self.fields.matches(obj)
    }

    /// Whether the object `json` encodes is selected, read only as far as the selectors
    /// need (a list's objects are mostly skipped, not parsed).
    pub(crate) fn matches_json(&self, json: &[u8]) -> Result<bool, ApiError> {
        if self.is_empty() {
            return Ok(true);
        }
        let read = self
            .read
            .parse(json)
            .map_err(|e| ApiError::Internal(format!("stored object is not JSON: {e}")))?;
        Ok(self.matches(&read))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Matching an object's bytes, read only along the selectors' paths, agrees with
    /// matching the whole parsed object.
    #[test]
    fn matching_the_bytes_agrees_with_matching_the_object() {
        let scheme = api::Scheme::builtin();
        let pods = scheme.lookup("", "v1", "pods").unwrap();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1",
            "namespace": "p", "labels": {"app": "web", "tier": "2"},
            "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running"}});
        let bytes = serde_json::to_vec(&pod).unwrap();
        let cases = [
            ("", ""),
            ("app=web", ""),
            ("app!=web", ""),
            ("tier>1,app in (web,db)", ""),
            ("!missing", "status.phase=Running"),
            ("", "spec.nodeName=n2"),
            ("app", "metadata.name=web-1,status.phase!=Pending"),
            ("app=db", "metadata.namespace=p"),
        ];
        for (labels, fields) in cases {
            let params = Params {
                label_selector: Some(labels.into()),
                field_selector: Some(fields.into()),
                ..Default::default()
            };
            let selection = Selection::parse(pods, &params).unwrap();
            assert_eq!(
                selection.matches_json(&bytes).unwrap(),
                selection.matches(&pod),
                "{labels:?} {fields:?}"
            );
        }
        let all = Selection::parse(pods, &Params::default()).unwrap();
        assert!(all.matches_json(b"not json").unwrap());
        let some = Params {
            label_selector: Some("app".into()),
            ..Default::default()
        };
        assert!(
            Selection::parse(pods, &some)
                .unwrap()
                .matches_json(b"{")
                .is_err()
        );
    }
}
