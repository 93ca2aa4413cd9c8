//! `metadata.managedFields`: one entry per manager, operation and subresource, read from
//! and written to the object.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use super::fields::Fields;

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: Fields,
}

impl Entry {
    fn into_json(self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.into_json(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    pub fn same_slot(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }
}

/// The entries of an object's `metadata.managedFields`.
pub(super) fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().into(),
            operation: e["operation"].as_str().unwrap_or_default().into(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
            time: e["time"].as_str().unwrap_or_default().into(),
            subresource: e["subresource"].as_str().unwrap_or_default().into(),
            fields: Fields::from_json(&e["fieldsV1"]),
        })
        .collect()
}

/// Writes `entries` as the object's `metadata.managedFields` (none: the field goes).
pub(super) fn store(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::into_json)
        .collect();
    if let Some(meta) = obj["metadata"].as_object_mut() {
        match list.is_empty() {
            true => drop(meta.remove("managedFields")),
            false => drop(meta.insert("managedFields".into(), Value::Array(list))),
        }
    }
}

/// The entry of `manager`'s `operation` (on `subresource`), added empty if missing, stamped
/// with this write's time and version.
pub(super) fn slot<'a>(
    list: &'a mut Vec<Entry>,
    def: &ResourceDef,
    manager: &str,
    operation: &str,
    subresource: &str,
    now: &str,
) -> &'a mut Entry {
    let index = match list
        .iter()
        .position(|e| e.same_slot(manager, operation, subresource))
    {
        Some(i) => i,
        None => {
            list.push(Entry {
                manager: manager.to_string(),
                operation: operation.to_string(),
                api_version: String::new(),
                time: String::new(),
                subresource: subresource.to_string(),
                fields: Fields::default(),
            });
            list.len() - 1
        }
    };
    let entry = &mut list[index];
    entry.time = now.to_string();
    entry.api_version = def.api_version();
    entry
}
