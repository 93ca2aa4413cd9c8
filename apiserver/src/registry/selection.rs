//! The label and field selectors of a list or watch.

use api::scheme::ResourceDef;
use api::selector::{FieldSelector, LabelSelector};
use serde_json::Value;

use crate::error::ApiError;
use crate::registry::object;
use crate::registry::query::Params;

/// The label and field selectors of a list or watch.
pub(crate) struct Selection {
    labels: LabelSelector,
    fields: FieldSelector,
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
        Ok(Selection { labels, fields })
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
}
