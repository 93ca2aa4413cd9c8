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
