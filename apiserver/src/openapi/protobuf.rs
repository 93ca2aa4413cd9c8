//! `/openapi/v2` in protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`):
//! the Swagger document's definitions in the `openapi.v2.Document` message kubectl reads to
//! validate `List` files on the client. Paths are left out (clients read the definitions
//! only). Schemas that keep unknown fields are published without their properties, as for
//! custom resources, so clients accept any field there.

use serde_json::Value;

/// Protobuf wire encoding: fields in number order as they are written.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, text: &str) {
        if !text.is_empty() {
            self.bytes(field, text.as_bytes());
        }
    }

    fn message(&mut self, field: u32, m: Message) {
        self.bytes(field, &m.0);
    }

    fn boolean(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int(&mut self, field: u32, v: Option<i64>) {
        if let Some(v) = v.filter(|v| *v != 0) {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }
}

/// `openapi.v2.Any`: the value as YAML text (JSON is YAML).
fn any(value: &Value) -> Message {
    let mut m = Message::default();
    m.string(2, &value.to_string());
    m
}

/// `x-...` entries as `NamedAny`s under `field`.
fn extensions(m: &mut Message, field: u32, object: &Value) {
    for (name, value) in object.as_object().into_iter().flatten() {
        if name.starts_with("x-") {
            let mut named = Message::default();
            named.string(1, name);
            named.message(2, any(value));
            m.message(field, named);
        }
    }
}

/// `openapi.v2.Schema`.
fn schema(s: &Value) -> Message {
    let mut m = Message::default();
    let text = |k: &str| s[k].as_str().unwrap_or_default();
    m.string(1, text("$ref"));
    m.string(2, text("format"));
    m.string(3, text("title"));
    m.string(4, text("description"));
    if let Some(default) = s.get("default") {
        m.message(5, any(default));
    }
    m.int(11, s["maxLength"].as_i64());
    m.int(12, s["minLength"].as_i64());
    m.string(13, text("pattern"));
    m.int(14, s["maxItems"].as_i64());
    m.int(15, s["minItems"].as_i64());
    m.boolean(16, s["uniqueItems"] == true);
    let open = s["x-kubernetes-preserve-unknown-fields"] == true;
    if !open {
        for required in s["required"].as_array().into_iter().flatten() {
            m.string(19, required.as_str().unwrap_or_default());
        }
    }
    for value in s["enum"].as_array().into_iter().flatten() {
        m.message(20, any(value));
    }
    match &s["additionalProperties"] {
        Value::Object(_) => {
            let mut item = Message::default();
            item.message(1, schema(&s["additionalProperties"]));
            m.message(21, item);
        }
        Value::Bool(b) => {
            let mut item = Message::default();
            item.key(2, 0);
            item.varint(u64::from(*b));
            m.message(21, item);
        }
        _ => {}
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let mut item = Message::default();
        for t in types {
            item.string(1, t);
        }
        m.message(22, item);
    }
    if s["items"].is_object() {
        let mut item = Message::default();
        item.message(1, schema(&s["items"]));
        m.message(23, item);
    }
    for part in s["allOf"].as_array().into_iter().flatten() {
        m.message(24, schema(part));
    }
    if !open && let Some(properties) = s["properties"].as_object() {
        let mut props = Message::default();
        for (name, value) in properties {
            let mut named = Message::default();
            named.string(1, name);
            named.message(2, schema(value));
            props.message(1, named);
        }
        m.message(25, props);
    }
    m.boolean(27, s["readOnly"] == true);
    extensions(&mut m, 31, s);
    m
}

/// The Swagger 2.0 document (JSON) as an `openapi.v2.Document`.
pub fn encode(swagger: &Value) -> Vec<u8> {
    let mut doc = Message::default();
    doc.string(1, swagger["swagger"].as_str().unwrap_or("2.0"));
    let mut info = Message::default();
    info.string(1, swagger["info"]["title"].as_str().unwrap_or_default());
    info.string(2, swagger["info"]["version"].as_str().unwrap_or_default());
    doc.message(2, info);
    doc.message(8, Message::default());
    let mut definitions = Message::default();
    for (name, value) in swagger["definitions"].as_object().into_iter().flatten() {
        let mut named = Message::default();
        named.string(1, name);
        named.message(2, schema(value));
        definitions.message(1, named);
    }
    doc.message(9, definitions);
    doc.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn definitions_in_the_wire_format() {
        let swagger = json!({"swagger": "2.0", "info": {"title": "K", "version": "v1"},
            "definitions": {"A": {"type": "object", "properties": {"x": {"type": "string"}},
                "x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}]}}});
        let bytes = encode(&swagger);
        // swagger = "2.0"
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("x-kubernetes-group-version-kind"));
        assert!(text.contains(r#"[{"group":"","kind":"A","version":"v1"}]"#));
        // An open schema keeps no properties.
        let open = schema(
            &json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"spec": {"type": "object"}}}),
        );
        assert!(!String::from_utf8_lossy(&open.0).contains("spec"));
    }
}
