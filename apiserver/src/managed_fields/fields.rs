//! A set of fields: a tree of path elements in upstream's FieldsV1 spelling, and the set
//! operations ownership is computed with.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// A set of fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// The element itself is a member (`.`; leaves are members by being there).
    pub itself: bool,
    pub children: BTreeMap<String, Fields>,
}

impl Fields {
    pub fn is_empty(&self) -> bool {
        !self.itself && self.children.is_empty()
    }

    /// FieldsV1 JSON.
    pub fn into_json(self) -> Value {
        let mut map = Map::new();
        if self.itself && !self.children.is_empty() {
            map.insert(".".into(), json!({}));
        }
        for (k, v) in self.children {
            map.insert(k, v.into_json());
        }
        Value::Object(map)
    }

    pub fn from_json(value: &Value) -> Fields {
        let mut fields = Fields::default();
        match value.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, v) in map {
                    match k.as_str() {
                        "." => fields.itself = true,
                        _ => drop(fields.children.insert(k.clone(), Fields::from_json(v))),
                    }
                }
            }
            _ => fields.itself = true,
        }
        fields
    }

    pub fn union(&mut self, other: &Fields) {
        self.itself |= other.itself;
        for (k, v) in &other.children {
            self.children.entry(k.clone()).or_default().union(v);
        }
    }

    /// What is in `self` and not in `other`.
    pub fn minus(&self, other: &Fields) -> Fields {
        let mut out = Fields {
            itself: self.itself && !other.itself,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let rest = match other.children.get(k) {
                Some(o) => v.minus(o),
                None => v.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(k.clone(), rest);
            }
        }
        out
    }

    pub fn intersect(&self, other: &Fields) -> Fields {
        let mut out = Fields {
            itself: self.itself && other.itself,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            if let Some(o) = other.children.get(k) {
                let both = v.intersect(o);
                if !both.is_empty() {
                    out.children.insert(k.clone(), both);
                }
            }
        }
        out
    }

    /// Each member as a path (list of elements).
    pub fn leaves(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.itself || self.children.is_empty() {
            out.push(path.clone());
        }
        for (k, v) in &self.children {
            path.push(k.clone());
            v.collect(path, out);
            path.pop();
        }
    }

    /// Adds the field at `path`.
    pub fn add(&mut self, path: &[String]) {
        let mut here = self;
        for element in path {
            here = here.children.entry(element.clone()).or_default();
        }
        here.itself = true;
    }
}
