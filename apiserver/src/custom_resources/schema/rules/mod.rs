//! `x-kubernetes-validations`: the CEL rules of a structural schema, compiled once per served
//! version into a tree that mirrors the schema where rules are (`compile`), checked on every
//! write with upstream's messages and transition rules (`evaluate.rs`), and refused at the
//! definition's write when they do not compile or are ill-formed (`definition.rs`). The
//! expressions run in the admission policies' CEL environment (`admission::cel`).

pub mod definition;
pub mod evaluate;

use serde_json::Value;

use crate::admission::cel::{self, Expression};

/// The `reason`s a rule may report its failure with, as upstream lists them.
pub const REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

/// How a failed rule is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Invalid,
    Forbidden,
    Required,
    Duplicate,
}

impl Reason {
    fn parse(reason: &Value) -> Reason {
        match reason.as_str() {
            Some("FieldValueForbidden") => Reason::Forbidden,
            Some("FieldValueRequired") => Reason::Required,
            Some("FieldValueDuplicate") => Reason::Duplicate,
            _ => Reason::Invalid,
        }
    }
}

/// Whether, and how, a rule sees the value before the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OldSelf {
    /// The rule does not read `oldSelf`.
    Unused,
    /// A transition rule: checked only on updates where the value existed before.
    Required,
    /// `optionalOldSelf`: checked on every write, `oldSelf` an optional.
    Optional,
}

#[derive(Debug)]
pub struct Rule {
    pub expression: Expression,
    /// `message`, trimmed ("" when unset).
    pub message: String,
    pub message_expression: Option<Expression>,
    pub reason: Reason,
    /// `fieldPath` below the rule's value, as a path (`spec.size`; "" when unset).
    pub field_path: String,
    pub old_self: OldSelf,
}

impl Rule {
    /// The rule as upstream names it in errors: its message, else its expression.
    pub fn shown(&self) -> &str {
        match self.message.as_str() {
            "" => self.expression.source.trim(),
            m => m,
        }
    }

    /// The detail of a failure without a message expression.
    pub fn message_or_default(&self) -> String {
        match self.message.as_str() {
            "" => format!("failed rule: {}", self.shown()),
            m => m.to_string(),
        }
    }
}

/// One schema node on the way to rules.
#[derive(Debug, Default)]
pub struct Node {
    /// The schema's `type` (what a failure quotes as the bad value: `"object"`).
    pub ty: String,
    pub rules: Vec<Rule>,
    pub properties: Vec<(String, Node)>,
    pub additional: Option<Box<Node>>,
    pub items: Option<Box<Node>>,
    /// `x-kubernetes-list-map-keys` of a `map` list: how an item is found again in the old
    /// list (other lists' items have no old value).
    pub map_keys: Vec<String>,
}

/// The compiled rules of one version's schema.
#[derive(Debug)]
pub struct Rules {
    pub root: Node,
}

/// The rules of a version's root schema, or `None` when it has none. Rules that do not
/// compile (refused at the definition's write, so only ever stored before) are left out.
pub fn compile(schema: &Value) -> Option<Rules> {
    node(schema, true).map(|root| Rules { root })
}

fn node(schema: &Value, root: bool) -> Option<Node> {
    let rules: Vec<Rule> = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| rule(schema, r, root))
        .collect();
    let properties: Vec<(String, Node)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, prop)| node(prop, false).map(|n| (name.clone(), n)))
        .collect();
    let child = |s: &Value| node(s, false).map(Box::new);
    let additional = super::additional(schema).and_then(child);
    let items = schema.get("items").and_then(child);
    if rules.is_empty() && properties.is_empty() && additional.is_none() && items.is_none() {
        return None;
    }
    let map_keys = match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => schema
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    };
    Some(Node {
        ty: schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        rules,
        properties,
        additional,
        items,
        map_keys,
    })
}

fn rule(schema: &Value, r: &Value, root: bool) -> Option<Rule> {
    let text = |field: &str| r.get(field).and_then(Value::as_str).unwrap_or_default();
    let mut expression = cel::compile(text("rule").trim()).ok()?;
    // The schema's bounds narrow the estimate, so that only rules that may cost too much
    // are measured again over each value.
    let checked = expression.check(&definition::variables(schema, r, root));
    expression.set_cost(checked.cost);
    let message_expression = match text("messageExpression").trim() {
        "" => None,
        source => Some(cel::compile(source).ok()?),
    };
    let old_self = match (
        expression.reads("oldSelf"),
        r.get("optionalOldSelf") == Some(&Value::Bool(true)),
    ) {
        (false, _) => OldSelf::Unused,
        (true, false) => OldSelf::Required,
        (true, true) => OldSelf::Optional,
    };
    let field_path = match text("fieldPath").trim() {
        "" => String::new(),
        path => definition::field_path(schema, path).ok()?,
    };
    Some(Rule {
        expression,
        message: text("message").trim().to_string(),
        message_expression,
        reason: Reason::parse(r.get("reason").unwrap_or(&Value::Null)),
        field_path,
        old_self,
    })
}
