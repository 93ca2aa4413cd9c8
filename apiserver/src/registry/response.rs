//! How answers go out: objects, lists and watch events as JSON, YAML, Tables or metadata
//! only, as negotiated; the success Status of a deletion. Every handler answers through here.

use api::scheme::ResourceDef;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::http::negotiation::{self, Format};
use crate::registry::{conversion, object, table};
use crate::watch::encoded;

/// How objects go out: as JSON or YAML, or as Table rows (`kubectl get`).
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub format: Format,
    include: table::Include,
}

impl Output {
    pub fn new(format: Format, include: table::Include) -> Output {
        Output { format, include }
    }

    pub(crate) fn respond(self, code: StatusCode, def: &ResourceDef, obj: Value) -> Response {
        match self.format {
            Format::Json => json_response(code, &obj),
            Format::Metadata => json_response(code, &partial_metadata(&obj)),
            Format::Yaml => yaml_response(code, &obj),
            Format::Table => {
                table_response(&table::table(def, &[obj], json!({}), self.include, true))
            }
        }
    }

    /// `obj` as a write just stored it: `stored` at `revision`. A JSON answer reuses the
    /// stored bytes when they hold the object in the version it was written in, rather than
    /// serializing it once more.
    pub(crate) fn written(
        self,
        code: StatusCode,
        def: &ResourceDef,
        mut obj: Value,
        stored: &Bytes,
        revision: u64,
    ) -> Response {
        if let Format::Json = self.format
            && let Some(version) = obj.get("apiVersion").and_then(Value::as_str)
            && conversion::is_in(stored, version)
            && let Some(body) = encoded::with_resource_version(stored, revision)
        {
            return json_bytes_response(code, body);
        }
        object::set_resource_version(&mut obj, revision);
        self.respond(code, def, obj)
    }

    pub(crate) fn object(self, def: &ResourceDef, obj: Value) -> Response {
        self.respond(StatusCode::OK, def, obj)
    }

    pub(crate) fn list(self, def: &ResourceDef, metadata: Value, items: Vec<Value>) -> Response {
        match self.format {
            Format::Metadata => {
                let items: Vec<Value> = items.iter().map(partial_metadata).collect();
                let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items});
                json_response(StatusCode::OK, &list)
            }
            Format::Table => {
                table_response(&table::table(def, &items, metadata, self.include, true))
            }
            _ => self.respond(StatusCode::OK, def, list_body(def, metadata, items)),
        }
    }

    /// A watch event's object: itself, or a one-row Table (column definitions only in the
    /// first, as upstream). Watch streams are JSON.
    pub(crate) fn event(self, def: &ResourceDef, obj: Value, first: &mut bool) -> Value {
        match self.format {
            Format::Table => {}
            Format::Metadata => return partial_metadata(&obj),
            Format::Json | Format::Yaml => return obj,
        }
        let table = table::table(def, &[obj], json!({}), self.include, *first);
        *first = false;
        table
    }
}

/// An object reduced to its metadata, for metadata-only clients (garbage collector,
/// metadata informers).
fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn yaml_response(code: StatusCode, value: &Value) -> Response {
    match negotiation::to_yaml(value) {
        Ok(text) => (code, [(header::CONTENT_TYPE, "application/yaml")], text).into_response(),
        Err(e) => e.into_response(),
    }
}

fn table_response(table: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, table::CONTENT_TYPE)],
        table.to_string(),
    )
        .into_response()
}

pub fn json_response(code: StatusCode, value: &Value) -> Response {
    // Written straight into bytes: `to_string` would pass every piece through a formatter.
    // A Value always serializes (its keys are strings).
    let body = serde_json::to_vec(value).unwrap_or_default();
    json_bytes_response(code, Bytes::from(body))
}

fn json_bytes_response(code: StatusCode, body: Bytes) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The success Status of a deletion that removed the object at once.
pub(crate) fn deleted(def: &ResourceDef, name: &str, uid: &str) -> Value {
    let details = api::status::StatusDetails {
        name: name.to_string(),
        group: def.group.to_string(),
        kind: def.plural.to_string(),
        uid: uid.to_string(),
        ..Default::default()
    };
    // Plain strings and numbers: serializing cannot fail.
    serde_json::to_value(api::status::Status::success(details)).unwrap_or_default()
}

/// A `<Kind>List` of `items`.
pub fn list_body(def: &ResourceDef, metadata: Value, items: Vec<Value>) -> Value {
    json!({
        "kind": format!("{}List", def.kind),
        "apiVersion": def.api_version(),
        "metadata": metadata,
        "items": items,
    })
}
