//! What the checker knows of a value before it is evaluated: its type and how big it may be,
//! read from a structural schema (`maxLength`, `maxItems`, `maxProperties`; unbounded ones
//! estimated from the largest request, as upstream does) or from an actual value (its exact
//! sizes, for the runtime cost).

use std::sync::Arc;

use cel::Value as CelValue;
use serde_json::Value;

/// The largest request body (3 MiB): what bounds a value the schema does not bound.
pub const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Anything (no schema, `x-kubernetes-int-or-string`, preserved unknown fields).
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    /// With its longest length.
    String(u64),
    Bytes(u64),
    /// Items, and the most there may be.
    List(Box<Shape>, u64),
    /// Values (string keys), and the most there may be.
    Map(Box<Shape>, u64),
    /// Known properties; `open` when others may be there too.
    Object(Arc<Vec<(String, Shape)>>, bool),
    /// A type upstream declares by name (`kubernetes.UserInfo`, ...), with closed fields.
    Declared(&'static str, Arc<Vec<(String, Shape)>>),
    /// A library type (`kubernetes.Quantity`, ...).
    Named(&'static str),
}

/// The fewest bytes a value of `shape` takes in JSON (for how many fit in a request).
fn min_size(shape: &Shape) -> u64 {
    match shape {
        Shape::String(_) | Shape::Bytes(_) | Shape::List(..) | Shape::Map(..) => 2,
        Shape::Object(..) | Shape::Declared(..) => 2,
        _ => 1,
    }
}

fn unbounded_items(item: &Shape) -> u64 {
    (MAX_REQUEST_BYTES - 2) / (min_size(item) + 1)
}

impl Shape {
    /// The shape of a structural schema's values. At the root of a custom resource, only
    /// `metadata.name` and `metadata.generateName` are visible (upstream's rule).
    pub fn of_schema(schema: &Value, root: bool) -> Shape {
        let int = |key: &str| schema.get(key).and_then(Value::as_u64);
        if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return Shape::Dyn;
        }
        let preserve =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        let embedded = schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
        match schema.get("type").and_then(Value::as_str) {
            Some("boolean") => Shape::Bool,
            Some("integer") => Shape::Int,
            Some("number") => Shape::Double,
            Some("string") => match schema.get("format").and_then(Value::as_str) {
                Some("byte") => Shape::Bytes(int("maxLength").unwrap_or(MAX_REQUEST_BYTES - 2)),
                Some("duration" | "date" | "date-time") => Shape::Dyn,
                _ => Shape::String(int("maxLength").unwrap_or(MAX_REQUEST_BYTES - 2)),
            },
            Some("array") => {
                let item = schema
                    .get("items")
                    .map_or(Shape::Dyn, |i| Shape::of_schema(i, false));
                let max = int("maxItems").unwrap_or_else(|| unbounded_items(&item));
                Shape::List(Box::new(item), max)
            }
            Some("object") => {
                if let Some(additional) =
                    schema.get("additionalProperties").filter(|a| a.is_object())
                {
                    let value = Shape::of_schema(additional, false);
                    let max = int("maxProperties")
                        .unwrap_or_else(|| (MAX_REQUEST_BYTES - 2) / (min_size(&value) + 4));
                    return Shape::Map(Box::new(value), max);
                }
                let mut fields: Vec<(String, Shape)> = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(name, prop)| (name.clone(), Shape::of_schema(prop, false)))
                    .collect();
                if root || embedded {
                    fields
                        .retain(|(n, _)| !["apiVersion", "kind", "metadata"].contains(&n.as_str()));
                    let s = Shape::String(MAX_REQUEST_BYTES - 2);
                    let metadata = match root {
                        true => Shape::Object(
                            Arc::new(vec![
                                ("name".into(), s.clone()),
                                ("generateName".into(), s.clone()),
                            ]),
                            false,
                        ),
                        false => Shape::Dyn,
                    };
                    fields.push(("apiVersion".into(), s.clone()));
                    fields.push(("kind".into(), s));
                    fields.push(("metadata".into(), metadata));
                }
                Shape::Object(Arc::new(fields), preserve)
            }
            _ if preserve => Shape::Dyn,
            _ => Shape::Dyn,
        }
    }

    /// The shape of an actual value, sizes exact; lists' items merged.
    pub fn of_value(v: &CelValue) -> Shape {
        match v {
            CelValue::Null => Shape::Null,
            CelValue::Bool(_) => Shape::Bool,
            CelValue::Int(_) => Shape::Int,
            CelValue::UInt(_) => Shape::Uint,
            CelValue::Float(_) => Shape::Double,
            CelValue::String(s) => Shape::String(s.len() as u64),
            CelValue::Bytes(b) => Shape::Bytes(b.len() as u64),
            CelValue::List(items) => {
                let item = items
                    .iter()
                    .map(Shape::of_value)
                    .reduce(merge)
                    .unwrap_or(Shape::Null);
                Shape::List(Box::new(item), items.len() as u64)
            }
            CelValue::Map(m) => {
                let fields: Vec<(String, Shape)> = m
                    .map
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            cel::objects::Key::String(s) => s.to_string(),
                            other => format!("{other:?}"),
                        };
                        (key, Shape::of_value(v))
                    })
                    .collect();
                Shape::Object(Arc::new(fields), false)
            }
            _ => Shape::Dyn,
        }
    }

    /// The name cel-go gives the type, for messages.
    pub fn name(&self) -> String {
        match self {
            Shape::Dyn => "dyn".into(),
            Shape::Null => "null_type".into(),
            Shape::Bool => "bool".into(),
            Shape::Int => "int".into(),
            Shape::Uint => "uint".into(),
            Shape::Double => "double".into(),
            Shape::String(_) => "string".into(),
            Shape::Bytes(_) => "bytes".into(),
            Shape::List(item, _) => format!("list({})", item.name()),
            Shape::Map(value, _) => format!("map(string, {})", value.name()),
            Shape::Object(..) => "object".into(),
            Shape::Declared(n, _) => (*n).into(),
            Shape::Named(n) => (*n).into(),
        }
    }
}

/// One shape for two values of a list: the larger bounds of the same type, else anything.
fn merge(a: Shape, b: Shape) -> Shape {
    match (a, b) {
        (Shape::String(x), Shape::String(y)) => Shape::String(x.max(y)),
        (Shape::Bytes(x), Shape::Bytes(y)) => Shape::Bytes(x.max(y)),
        (Shape::List(x, n), Shape::List(y, m)) => Shape::List(Box::new(merge(*x, *y)), n.max(m)),
        (Shape::Object(x, o), Shape::Object(y, p)) => {
            let mut fields = (*x).clone();
            for (name, shape) in y.iter() {
                match fields.iter_mut().find(|(n, _)| n == name) {
                    Some((_, s)) => *s = merge(s.clone(), shape.clone()),
                    None => fields.push((name.clone(), shape.clone())),
                }
            }
            Shape::Object(Arc::new(fields), o || p)
        }
        (a, b) if a == b => a,
        _ => Shape::Dyn,
    }
}
