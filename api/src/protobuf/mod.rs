//! Kubernetes protobuf bodies (`application/vnd.kubernetes.protobuf`) decoded into the JSON form
//! every other part of the server works with.
//!
//! A body is the magic `k8s\0` followed by a `runtime.Unknown` envelope naming the object's
//! `apiVersion` and `kind` and carrying the encoded object. The object is decoded generically,
//! driven by the message table in `schema`; the handful of messages whose JSON form is not a
//! plain object (quantities, int-or-strings, timestamps, raw JSON) are mapped here, once.

mod schema;
mod wire;

use base64::Engine;
use serde_json::{Map, Number, Value};

use schema::{Message, Scalar, Type};
use wire::{Payload, Reader};

/// The prefix of every Kubernetes protobuf body.
pub const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub message: String,
    /// The body names a kind this server has no protobuf definition for.
    pub unknown_kind: bool,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
            unknown_kind: false,
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes an enveloped object into its JSON form, with `apiVersion` and `kind` first.
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| DecodeError::new("the body does not start with the protobuf magic"))?;
    let unknown = Unknown::decode(envelope)?;
    if !matches!(unknown.content_encoding.as_str(), "" | "identity") {
        return Err(DecodeError::new(format!(
            "unsupported content encoding {:?}",
            unknown.content_encoding
        )));
    }
    let mut object = Map::new();
    object.insert(
        "apiVersion".into(),
        Value::String(unknown.api_version.clone()),
    );
    object.insert("kind".into(), Value::String(unknown.kind.clone()));
    let message_name = message_name(&unknown.api_version, &unknown.kind);
    let message = schema::messages()
        .get(message_name.as_str())
        .ok_or_else(|| DecodeError {
            message: format!(
                "no protobuf definition for {}, Kind={}",
                unknown.api_version, unknown.kind
            ),
            unknown_kind: true,
        })?;
    match decode_message(message_name_static(&message_name), message, unknown.raw)? {
        Value::Object(fields) => object.extend(fields),
        _ => return Err(DecodeError::new("the object is not a message")),
    }
    Ok(Value::Object(object))
}

/// The table's name for a kind: the group's first label (`core` for the legacy group), the
/// version, the kind: `rbac.authorization.k8s.io/v1` `Role` is `rbac.v1.Role`.
fn message_name(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let package = match group.split('.').next() {
        None | Some("") => "core",
        Some(label) => label,
    };
    format!("{package}.{version}.{kind}")
}

/// The table's own copy of a message name (messages are keyed by `&'static str`).
fn message_name_static(name: &str) -> &'static str {
    schema::messages()
        .get_key_value(name)
        .map(|(k, _)| *k)
        .unwrap_or("")
}

/// The `runtime.Unknown` envelope.
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

impl<'a> Unknown<'a> {
    fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let mut out = Unknown {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        let mut reader = Reader::new(buf);
        while let Some((number, payload)) = reader.next_field()? {
            match (number, payload) {
                (1, Payload::Bytes(type_meta)) => {
                    let mut tm = Reader::new(type_meta);
                    while let Some((n, p)) = tm.next_field()? {
                        match (n, p) {
                            (1, Payload::Bytes(b)) => out.api_version = utf8(b)?,
                            (2, Payload::Bytes(b)) => out.kind = utf8(b)?,
                            _ => {}
                        }
                    }
                }
                (2, Payload::Bytes(raw)) => out.raw = raw,
                (3, Payload::Bytes(b)) => out.content_encoding = utf8(b)?,
                _ => {}
            }
        }
        if out.kind.is_empty() || out.api_version.is_empty() {
            return Err(DecodeError::new(
                "the protobuf envelope names no apiVersion and kind",
            ));
        }
        Ok(out)
    }
}

/// One message's JSON form. Fields absent from the body are absent from the JSON, as Go's
/// `omitempty`; fields the table does not know are skipped, as upstream's decoder does.
fn decode_message(name: &str, message: &Message, buf: &[u8]) -> Result<Value, DecodeError> {
    if matches!(name, "runtime.RawExtension" | "meta.v1.FieldsV1") {
        return raw_json(buf);
    }
    let mut slots: Vec<Option<Value>> = vec![None; message.fields.len()];
    let mut reader = Reader::new(buf);
    while let Some((number, payload)) = reader.next_field()? {
        let Some((index, field)) = message.field(number) else {
            continue;
        };
        let slot = &mut slots[index];
        match &field.ty {
            Type::Repeated(elem) => {
                let items = match slot.get_or_insert_with(|| Value::Array(Vec::new())) {
                    Value::Array(items) => items,
                    _ => return Err(DecodeError::new("internal: repeated slot")),
                };
                push_repeated(elem, payload, items)?;
            }
            Type::Map(key, value) => {
                let entries = match slot.get_or_insert_with(|| Value::Object(Map::new())) {
                    Value::Object(entries) => entries,
                    _ => return Err(DecodeError::new("internal: map slot")),
                };
                let (k, v) = map_entry(*key, value, payload)?;
                entries.insert(k, v);
            }
            ty => {
                let v = value(ty, payload)?;
                *slot = (field.keep_zero || !is_zero(&v)).then_some(v);
            }
        }
    }
    if message.is_list {
        return Ok(slots
            .into_iter()
            .next()
            .flatten()
            .unwrap_or(Value::Array(Vec::new())));
    }
    let fields = || message.fields.iter().zip(slots.iter());
    Ok(match name {
        "resource.Quantity" => field_or(fields(), "string", Value::String(String::new())),
        "intstr.IntOrString" => {
            let is_string = fields().any(|(f, v)| {
                f.json_name == "type" && v.as_ref().and_then(Value::as_i64) == Some(1)
            });
            if is_string {
                field_or(fields(), "strVal", Value::String(String::new()))
            } else {
                field_or(fields(), "intVal", Value::from(0))
            }
        }
        // Upstream writes a zero time as an empty message; its JSON form is null (absent).
        "meta.v1.Time" | "meta.v1.MicroTime" if slots.iter().all(Option::is_none) => Value::Null,
        "meta.v1.Time" | "meta.v1.MicroTime" => {
            let seconds = field_or(fields(), "seconds", Value::from(0))
                .as_i64()
                .unwrap_or(0);
            let nanos = field_or(fields(), "nanos", Value::from(0))
                .as_i64()
                .unwrap_or(0);
            timestamp(seconds, nanos, name == "meta.v1.MicroTime")?
        }
        _ => {
            let mut object = Map::new();
            for (field, value) in message.fields.iter().zip(slots) {
                match (field.json_name, value) {
                    (_, None | Some(Value::Null)) => {}
                    // An embedded message inlined in its parent (`json:",inline"`).
                    ("-", Some(Value::Object(inner))) => object.extend(inner),
                    (name, Some(v)) => {
                        object.insert(name.to_string(), v);
                    }
                }
            }
            Value::Object(object)
        }
    })
}

fn field_or<'a>(
    mut fields: impl Iterator<Item = (&'a schema::Field, &'a Option<Value>)>,
    name: &str,
    default: Value,
) -> Value {
    fields
        .find(|(f, _)| f.json_name == name)
        .and_then(|(_, v)| v.clone())
        .unwrap_or(default)
}

fn push_repeated(
    elem: &Type,
    payload: Payload<'_>,
    items: &mut Vec<Value>,
) -> Result<(), DecodeError> {
    match (elem, payload) {
        // Packed numbers: one length-delimited run of values.
        (Type::Scalar(s), Payload::Bytes(run)) if !matches!(s, Scalar::String | Scalar::Bytes) => {
            let mut reader = Reader::new(run);
            while !reader.is_empty() {
                let p = match s {
                    Scalar::F64 => Payload::Fixed64(reader.fixed64()?),
                    Scalar::F32 => Payload::Fixed32(reader.fixed32()?),
                    _ => Payload::Varint(reader.varint()?),
                };
                items.push(value(elem, p)?);
            }
        }
        (elem, payload) => items.push(value(elem, payload)?),
    }
    Ok(())
}

fn map_entry(
    key: Scalar,
    value_ty: &Type,
    payload: Payload<'_>,
) -> Result<(String, Value), DecodeError> {
    let Payload::Bytes(entry) = payload else {
        return Err(DecodeError::new("a map entry is not length-delimited"));
    };
    let mut k = String::new();
    let mut v = None;
    let mut reader = Reader::new(entry);
    while let Some((number, payload)) = reader.next_field()? {
        match number {
            1 => {
                k = match value(&Type::Scalar(key), payload)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                }
            }
            2 => v = Some(value(value_ty, payload)?),
            _ => {}
        }
    }
    let v = match v {
        Some(v) => v,
        // An absent value is the type's zero value.
        None => match value_ty {
            Type::Message(name) => decode_message(name, message(name)?, &[])?,
            Type::Scalar(Scalar::String | Scalar::Bytes) => Value::String(String::new()),
            Type::Scalar(Scalar::Bool) => Value::Bool(false),
            _ => Value::from(0),
        },
    };
    Ok((k, v))
}

fn message(name: &str) -> Result<&'static Message, DecodeError> {
    schema::messages()
        .get(name)
        .ok_or_else(|| DecodeError::new(format!("internal: message {name} is not in the table")))
}

fn value(ty: &Type, payload: Payload<'_>) -> Result<Value, DecodeError> {
    let mismatch = || DecodeError::new("a field's wire type does not match its definition");
    Ok(match (ty, payload) {
        (Type::Message(name), Payload::Bytes(buf)) => decode_message(name, message(name)?, buf)?,
        (Type::Scalar(Scalar::String), Payload::Bytes(b)) => Value::String(utf8(b)?),
        (Type::Scalar(Scalar::Bytes), Payload::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Type::Scalar(Scalar::Bool), Payload::Varint(v)) => Value::Bool(v != 0),
        // Negative int32s travel sign-extended to 64 bits.
        (Type::Scalar(Scalar::I32), Payload::Varint(v)) => Value::from(v as i64 as i32),
        (Type::Scalar(Scalar::I64), Payload::Varint(v)) => Value::from(v as i64),
        (Type::Scalar(Scalar::U32), Payload::Varint(v)) => Value::from(v as u32),
        (Type::Scalar(Scalar::U64), Payload::Varint(v)) => Value::from(v),
        (Type::Scalar(Scalar::F64), Payload::Fixed64(v)) => float(f64::from_bits(v))?,
        (Type::Scalar(Scalar::F32), Payload::Fixed32(v)) => float(f64::from(f32::from_bits(v)))?,
        _ => return Err(mismatch()),
    })
}

/// A scalar's zero value, which upstream's JSON form omits.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn float(f: f64) -> Result<Value, DecodeError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| DecodeError::new("a number is not finite"))
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::new("a string is not UTF-8"))
}

/// RFC 3339 in UTC: whole seconds for `Time`, microseconds for `MicroTime`, as upstream.
fn timestamp(seconds: i64, nanos: i64, micro: bool) -> Result<Value, DecodeError> {
    let nanos = i32::try_from(nanos).map_err(|_| DecodeError::new("bad timestamp"))?;
    let ts = jiff::Timestamp::new(seconds, if micro { nanos } else { 0 })
        .map_err(|_| DecodeError::new("timestamp out of range"))?;
    let text = if micro {
        ts.strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
    } else {
        ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    Ok(Value::String(text))
}

/// The JSON held in the raw bytes (field 1) of a `RawExtension` or `FieldsV1`.
fn raw_json(buf: &[u8]) -> Result<Value, DecodeError> {
    let mut raw: &[u8] = &[];
    let mut reader = Reader::new(buf);
    while let Some((number, payload)) = reader.next_field()? {
        if let (1, Payload::Bytes(b)) = (number, payload) {
            raw = b;
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw)
        .map_err(|e| DecodeError::new(format!("an embedded raw object is not JSON: {e}")))
}

#[cfg(test)]
mod tests;
