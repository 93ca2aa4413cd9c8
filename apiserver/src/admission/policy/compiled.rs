//! ValidatingAdmissionPolicies and their bindings as admission uses them: every expression
//! compiled once, rules and selectors parsed. `problems` lists what does not compile; the
//! kind's validation refuses such policies, so here it only guards what was stored before.

use std::sync::Arc;

use api::selector::LabelSelector;
use serde_json::Value;

use crate::admission::cel::shape::Shape;
use crate::admission::cel::{self, Expression};
use crate::admission::matching::{Rule, selector};

/// `matchConstraints` or a binding's `matchResources`.
pub struct MatchResources {
    pub namespace_selector: LabelSelector,
    pub object_selector: LabelSelector,
    pub rules: Vec<Rule>,
    pub excluded: Vec<Rule>,
    pub equivalent: bool,
}

impl MatchResources {
    fn from_json(m: &Value, base: &str, problems: &mut Vec<Problem>) -> MatchResources {
        let rules = |field: &str| {
            m[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(Rule::from_json)
                .collect()
        };
        let mut parse = |field: &str| {
            selector(&m[field]).unwrap_or_else(|detail| {
                problems.push(Problem {
                    field: format!("{base}.{field}"),
                    source: m[field].to_string(),
                    detail,
                });
                LabelSelector::default()
            })
        };
        MatchResources {
            namespace_selector: parse("namespaceSelector"),
            object_selector: parse("objectSelector"),
            rules: rules("resourceRules"),
            excluded: rules("excludeResourceRules"),
            equivalent: m["matchPolicy"].as_str() != Some("Exact"),
        }
    }
}

pub struct Validation {
    pub expression: Expression,
    pub message: Option<String>,
    pub message_expression: Option<Expression>,
    /// The Status reason of a denial (`Invalid` when unset).
    pub reason: String,
}

pub struct Policy {
    pub name: String,
    /// failurePolicy Fail (the default).
    pub fail_closed: bool,
    pub constraints: MatchResources,
    /// `paramKind`: (apiVersion, kind).
    pub param_kind: Option<(String, String)>,
    pub conditions: Vec<(String, Expression)>,
    pub variables: Vec<(String, Expression)>,
    pub validations: Vec<Validation>,
    /// `auditAnnotations`: (key, valueExpression).
    pub audit_annotations: Vec<(String, Expression)>,
    pub problems: Vec<Problem>,
}

/// What does not compile: the field, its source, and why.
#[derive(Clone, Debug)]
pub struct Problem {
    pub field: String,
    pub source: String,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.detail)
    }
}

/// What upstream names the type of `variables`, whose fields are the variables declared so far.
const VARIABLES: &str = "kubernetes.variables";

/// `variables` for the expressions after `declared`: each variable has the type its expression
/// gives, and naming one that is not declared (yet) is refused, as upstream's compiler does.
pub(super) fn variables_in_scope(declared: &[(String, Shape)]) -> [(&'static str, Shape); 1] {
    [(
        "variables",
        Shape::Declared(VARIABLES, Arc::new(declared.to_vec())),
    )]
}

/// Compiles `source` with `scope` declared besides the admission variables, noting a failure
/// under `field`.
fn expr(
    source: &Value,
    field: &str,
    scope: &[(&str, Shape)],
    problems: &mut Vec<Problem>,
) -> Option<Expression> {
    let source = source.as_str()?;
    cel::compile_admission_with(source, scope)
        .map_err(|detail| {
            problems.push(Problem {
                field: field.to_string(),
                source: source.to_string(),
                detail,
            })
        })
        .ok()
}

fn named(
    list: &Value,
    field: &str,
    key: &str,
    scope: &[(&str, Shape)],
    problems: &mut Vec<Problem>,
) -> Vec<(String, Expression)> {
    let mut out = Vec::new();
    for (i, item) in list.as_array().into_iter().flatten().enumerate() {
        let name = item[key].as_str().unwrap_or_default().to_string();
        let source_field = if key == "key" {
            "valueExpression"
        } else {
            "expression"
        };
        if let Some(e) = expr(
            &item[source_field],
            &format!("{field}[{i}].{source_field}"),
            scope,
            problems,
        ) {
            out.push((name, e));
        }
    }
    out
}

impl Policy {
    pub fn from_json(p: &Value) -> Policy {
        let spec = &p["spec"];
        let mut problems = Vec::new();
        let constraints = MatchResources::from_json(
            &spec["matchConstraints"],
            "spec.matchConstraints",
            &mut problems,
        );
        let (variables, typed) = compile_variables(&spec["variables"], &mut problems);
        let scope = variables_in_scope(&typed);
        let mut validations = Vec::new();
        for (i, v) in spec["validations"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = format!("spec.validations[{i}]");
            let Some(expression) = expr(
                &v["expression"],
                &format!("{field}.expression"),
                &scope,
                &mut problems,
            ) else {
                continue;
            };
            validations.push(Validation {
                expression,
                message: v["message"].as_str().map(str::to_string),
                message_expression: expr(
                    &v["messageExpression"],
                    &format!("{field}.messageExpression"),
                    &scope,
                    &mut problems,
                ),
                reason: v["reason"].as_str().unwrap_or("Invalid").to_string(),
            });
        }
        Policy {
            name: p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            fail_closed: spec["failurePolicy"].as_str() != Some("Ignore"),
            constraints,
            param_kind: spec["paramKind"]["kind"].as_str().map(|k| {
                let version = spec["paramKind"]["apiVersion"].as_str().unwrap_or_default();
                (version.to_string(), k.to_string())
            }),
            conditions: named(
                &spec["matchConditions"],
                "spec.matchConditions",
                "name",
                &[],
                &mut problems,
            ),
            variables,
            audit_annotations: named(
                &spec["auditAnnotations"],
                "spec.auditAnnotations",
                "key",
                &scope,
                &mut problems,
            ),
            validations,
            problems,
        }
    }
}

/// Expressions by name, and what type each gives.
type Named = Vec<(String, Expression)>;
type Typed = Vec<(String, Shape)>;

/// A policy's `variables`, each compiled with those before it in scope, and the type each
/// gives (anything, for one that does not compile, so that it is refused once).
fn compile_variables(list: &Value, problems: &mut Vec<Problem>) -> (Named, Typed) {
    let mut compiled = Vec::new();
    let mut typed: Typed = Vec::new();
    for (i, item) in list.as_array().into_iter().flatten().enumerate() {
        let name = item["name"].as_str().unwrap_or_default().to_string();
        let scope = variables_in_scope(&typed);
        let field = format!("spec.variables[{i}].expression");
        let shape = match expr(&item["expression"], &field, &scope, problems) {
            Some(e) => {
                let mut all = cel::declared::variables();
                all.extend(scope.iter().cloned());
                let shape = e.check(&all).shape;
                compiled.push((name.clone(), e));
                shape
            }
            None => Shape::Dyn,
        };
        typed.push((name, shape));
    }
    (compiled, typed)
}

/// `paramRef` of a binding.
pub struct ParamRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<LabelSelector>,
    /// parameterNotFoundAction Deny (else Allow).
    pub deny_if_missing: bool,
}

pub struct Binding {
    pub name: String,
    pub policy: String,
    pub deny: bool,
    pub warn: bool,
    pub audit: bool,
    pub param_ref: Option<ParamRef>,
    pub resources: Option<MatchResources>,
    pub problems: Vec<Problem>,
}

impl Binding {
    pub fn from_json(b: &Value) -> Binding {
        let spec = &b["spec"];
        let mut problems = Vec::new();
        let actions: Vec<&str> = spec["validationActions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let param_ref = spec
            .get("paramRef")
            .filter(|r| r.is_object())
            .map(|r| ParamRef {
                name: r["name"].as_str().map(str::to_string),
                namespace: r["namespace"].as_str().map(str::to_string),
                selector: r.get("selector").and_then(|s| selector(s).ok()),
                deny_if_missing: r["parameterNotFoundAction"].as_str() != Some("Allow"),
            });
        let resources = spec
            .get("matchResources")
            .filter(|m| m.is_object())
            .map(|m| MatchResources::from_json(m, "spec.matchResources", &mut problems));
        Binding {
            name: b["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            policy: spec["policyName"].as_str().unwrap_or_default().to_string(),
            deny: actions.contains(&"Deny"),
            warn: actions.contains(&"Warn"),
            audit: actions.contains(&"Audit"),
            param_ref,
            resources,
            problems,
        }
    }
}
