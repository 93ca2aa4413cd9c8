//! The message table (`kubernetes.txt`): field numbers, JSON names and types of every message
//! the decoder knows, parsed once.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A scalar protobuf type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    String,
    Bool,
    I32,
    I64,
    U32,
    U64,
    F32,
    F64,
    Bytes,
}

/// A field's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Scalar(Scalar),
    Message(&'static str),
    Repeated(Box<Type>),
    Map(Scalar, Box<Type>),
}

#[derive(Debug)]
pub struct Field {
    pub json_name: &'static str,
    pub number: u32,
    pub ty: Type,
    /// The zero value is meaningful and kept (a pointer or required field upstream).
    pub keep_zero: bool,
}

#[derive(Debug)]
pub struct Message {
    /// A message whose JSON form is the list in its `items` field.
    pub is_list: bool,
    /// In JSON order.
    pub fields: Vec<Field>,
}

impl Message {
    pub fn field(&self, number: u32) -> Option<(usize, &Field)> {
        self.fields
            .iter()
            .enumerate()
            .find(|(_, f)| f.number == number)
    }
}

const TABLE: &str = include_str!("kubernetes.txt");

/// Every message of the table by full name (`core.v1.ConfigMap`).
pub fn messages() -> &'static HashMap<&'static str, Message> {
    static MESSAGES: OnceLock<HashMap<&'static str, Message>> = OnceLock::new();
    MESSAGES.get_or_init(|| parse(TABLE))
}

/// Parses the table. Its content is fixed at build time and checked by tests, so a malformed
/// line is skipped rather than failing requests.
fn parse(table: &'static str) -> HashMap<&'static str, Message> {
    let mut messages = HashMap::new();
    for line in table
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut words = line.split(' ');
        let Some(head) = words.next() else { continue };
        let (is_list, name) = match head.strip_prefix('~') {
            Some(name) => (true, name),
            None => (false, head),
        };
        let fields = words.filter_map(parse_field).collect();
        messages.insert(name, Message { is_list, fields });
    }
    messages
}

fn parse_field(word: &'static str) -> Option<Field> {
    let (json_name, rest) = word.split_once('=')?;
    let (number, ty) = rest.split_once(':')?;
    let (ty, keep_zero) = match ty.strip_suffix('?') {
        Some(ty) => (ty, true),
        None => (ty, false),
    };
    Some(Field {
        json_name,
        number: number.parse().ok()?,
        ty: parse_type(ty)?,
        keep_zero,
    })
}

fn parse_type(ty: &'static str) -> Option<Type> {
    if let Some(elem) = ty.strip_prefix('*') {
        return Some(Type::Repeated(Box::new(parse_type(elem)?)));
    }
    if let Some(kv) = ty.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let (key, value) = kv.split_once(',')?;
        return Some(Type::Map(scalar(key)?, Box::new(parse_type(value)?)));
    }
    Some(match scalar(ty) {
        Some(s) => Type::Scalar(s),
        None => Type::Message(ty),
    })
}

fn scalar(ty: &str) -> Option<Scalar> {
    Some(match ty {
        "s" => Scalar::String,
        "b" => Scalar::Bool,
        "i32" => Scalar::I32,
        "i64" => Scalar::I64,
        "u32" => Scalar::U32,
        "u64" => Scalar::U64,
        "f32" => Scalar::F32,
        "f64" => Scalar::F64,
        "y" => Scalar::Bytes,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_parses_and_every_referenced_message_exists() {
        let lines = TABLE
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let all = messages();
        assert_eq!(all.len(), lines.clone().count());
        for line in lines {
            let words = line.split(' ').count() - 1;
            let name = line.split(' ').next().unwrap().trim_start_matches('~');
            assert_eq!(all[name].fields.len(), words, "{line}");
        }
        fn check(ty: &Type, all: &HashMap<&str, Message>) {
            match ty {
                Type::Message(m) => assert!(all.contains_key(m), "{m} is missing"),
                Type::Repeated(t) | Type::Map(_, t) => check(t, all),
                Type::Scalar(_) => {}
            }
        }
        for message in all.values() {
            for field in &message.fields {
                check(&field.ty, all);
            }
        }
    }

    #[test]
    fn config_map_fields() {
        let cm = &messages()["core.v1.ConfigMap"];
        let (_, data) = cm.field(2).unwrap();
        assert_eq!(data.json_name, "data");
        assert_eq!(
            data.ty,
            Type::Map(Scalar::String, Box::new(Type::Scalar(Scalar::String)))
        );
        assert!(messages()["authentication.v1.ExtraValue"].is_list);
        let (_, replicas) = messages()["apps.v1.DeploymentSpec"].field(1).unwrap();
        assert!(replicas.keep_zero);
        let (_, stdin) = messages()["core.v1.Container"].field(16).unwrap();
        assert!(!stdin.keep_zero);
        // Go's `UID` fields are `uid` in JSON (kubectl create token --bound-object-uid).
        let (_, uid) = messages()["authentication.v1.BoundObjectReference"]
            .field(4)
            .unwrap();
        assert_eq!(uid.json_name, "uid");
    }
}
