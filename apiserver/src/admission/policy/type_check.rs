//! The type check of a policy's expressions against the kinds its `matchConstraints` name,
//! as upstream's type-checking controller reports it in `status.typeChecking`: for each
//! expression, the problems found against each kind (`apps/v1, Kind=Deployment: ERROR:
//! <input>:1:8: undefined field 'replica'...`). Only kinds named without wildcards are
//! checked, at most ten; `params` is of `spec.paramKind`'s kind, and `request`,
//! `namespaceObject` and `authorizer` of the types upstream declares. A warning never changes
//! what the policy does.

use serde_json::{Map, Value, json};

use crate::ApiServer;
use crate::admission::cel::{self, declared, shape::Shape};

/// Upstream's bound on the kinds one policy is checked against.
const MAX_TYPES: usize = 10;

/// How deep references are followed in a built-in kind's schema (past it, anything goes).
const MAX_DEPTH: usize = 12;

/// A kind to check against: `group/version, Kind=Kind` and the shape of its objects.
pub struct Type {
    pub gvk: String,
    pub shape: Shape,
}

/// The (group, version, resource) triples `matchConstraints` names without wildcards (nor
/// subresources), as upstream's `typesToCheck` picks them.
pub fn resources(policy: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    let rules = policy["spec"]["matchConstraints"]["resourceRules"].as_array();
    for rule in rules.into_iter().flatten() {
        let strings = |key: &str| -> Vec<String> {
            let mut v: Vec<String> = rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            v.sort();
            v
        };
        let (groups, versions) = (strings("apiGroups"), strings("apiVersions"));
        if groups.iter().chain(&versions).any(|s| s.contains('*')) {
            continue;
        }
        let resources: Vec<String> = strings("resources")
            .into_iter()
            .filter(|r| !r.contains(['*', '/']))
            .collect();
        for g in &groups {
            for v in &versions {
                for r in &resources {
                    found.push((g.clone(), v.clone(), r.clone()));
                }
            }
        }
    }
    found
}

/// `status.typeChecking` of `policy` against the schemas served now: its warnings, if any.
pub fn status(server: &ApiServer, policy: &Value) -> Value {
    let warnings = warnings(policy, &types(server, policy), &params(server, policy));
    match warnings.is_empty() {
        true => json!({}),
        false => json!({"expressionWarnings": warnings}),
    }
}

/// Whether the policy names a kind the built-in scheme does not serve (in `matchConstraints`
/// or `paramKind`): its type check depends on the custom resources served.
pub fn names_custom_kinds(server: &ApiServer, policy: &Value) -> bool {
    let kind = &policy["spec"]["paramKind"];
    let custom_params = match (kind["apiVersion"].as_str(), kind["kind"].as_str()) {
        (Some(api_version), Some(kind)) => {
            let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
            !server
                .scheme
                .group_version(group, version)
                .any(|d| d.kind == kind)
        }
        _ => false,
    };
    custom_params
        || resources(policy)
            .iter()
            .any(|(g, v, r)| server.scheme.lookup(g, v, r).is_none())
}

/// The kinds a policy is checked against, with their shapes: built-in kinds from their
/// field schemas, custom ones from their structural schemas (metadata left open).
pub fn types(server: &ApiServer, policy: &Value) -> Vec<Type> {
    let mut types: Vec<Type> = Vec::new();
    for (group, version, resource) in resources(policy) {
        let Some(def) = server.resource(&group, &version, &resource) else {
            continue;
        };
        let gvk = format!("{}/{}, Kind={}", def.group, def.version, def.kind);
        if types.iter().any(|t| t.gvk == gvk) {
            continue;
        }
        if let Some(shape) = shape(server, &group, &version, &resource) {
            types.push(Type { gvk, shape });
            if types.len() == MAX_TYPES {
                break;
            }
        }
    }
    types.sort_by(|a, b| a.gvk.cmp(&b.gvk));
    types
}

/// The shape of a resource's objects: a built-in one's from its field schema, a custom
/// one's from its structural schema (metadata left open).
fn shape(server: &ApiServer, group: &str, version: &str, plural: &str) -> Option<Shape> {
    match server.scheme.lookup(group, version, plural) {
        Some(def) => {
            let components = server.field_schemas.components(&server.scheme, def);
            let name = crate::openapi::schema_name(def);
            components
                .get(&name)
                .map(|root| Shape::of_schema(&inline(&components, root, 0), false))
        }
        None => custom_shape(server, group, version, plural),
    }
}

/// The shape of `params`: the objects of `spec.paramKind`'s kind, anything when the policy
/// has none or it names no kind served (as upstream's type checker leaves it `dyn`).
pub fn params(server: &ApiServer, policy: &Value) -> Shape {
    let kind = &policy["spec"]["paramKind"];
    let (Some(api_version), Some(kind)) = (kind["apiVersion"].as_str(), kind["kind"].as_str())
    else {
        return Shape::Dyn;
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let served = server.served();
    let plural = served
        .scheme
        .group_version(group, version)
        .find(|d| d.kind == kind)
        .map(|d| d.plural);
    plural
        .and_then(|plural| shape(server, group, version, plural))
        .unwrap_or(Shape::Dyn)
}

fn custom_shape(server: &ApiServer, group: &str, version: &str, plural: &str) -> Option<Shape> {
    let served = server.served();
    let custom = served.lookup(group, version, plural)?;
    let mut schema = custom.schema.as_deref()?.clone();
    if let Some(properties) = schema
        .as_object_mut()
        .map(|s| s.entry("properties").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        properties.insert("apiVersion".into(), json!({"type": "string"}));
        properties.insert("kind".into(), json!({"type": "string"}));
        properties.insert("metadata".into(), json!({}));
    }
    Some(Shape::of_schema(&schema, false))
}

/// The definition a schema refers to.
fn reference(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

/// The schema a composition stands for (`allOf: [{$ref}]`, an optional's `anyOf` with
/// `null`): its first alternative that is not `null`.
fn composed(schema: &Value) -> Option<&Value> {
    ["allOf", "anyOf", "oneOf"].iter().find_map(|k| {
        schema
            .get(*k)?
            .as_array()?
            .iter()
            .find(|s| s["type"] != "null")
    })
}

/// `schema` with its references replaced by what they name, to `MAX_DEPTH` references deep.
fn inline(components: &Map<String, Value>, schema: &Value, depth: usize) -> Value {
    if let Some(name) = reference(schema) {
        return match components.get(name) {
            Some(target) if depth < MAX_DEPTH => inline(components, target, depth + 1),
            _ => json!({}),
        };
    }
    if let Some(inner) = composed(schema) {
        return inline(components, inner, depth);
    }
    // Int-or-string values are either.
    if schema.get("format").and_then(Value::as_str) == Some("int-or-string") {
        return json!({"x-kubernetes-int-or-string": true});
    }
    let mut out = schema.clone();
    // `type: [T, "null"]` (an optional value) is a T.
    if let Some(types) = schema.get("type").and_then(Value::as_array) {
        out["type"] = types
            .iter()
            .find(|t| *t != "null")
            .cloned()
            .unwrap_or(Value::Null);
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        out["properties"] = Value::Object(
            properties
                .iter()
                .map(|(k, v)| (k.clone(), inline(components, v, depth)))
                .collect(),
        );
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get(key).filter(|v| v.is_object()) {
            out[key] = inline(components, inner, depth);
        }
    }
    out
}

/// The policy's expressions, each with the field that holds it.
fn expressions(spec: &Value) -> Vec<(String, &str)> {
    let list = |key: &'static str, fields: &'static [&'static str]| {
        let items = spec[key].as_array().map(Vec::as_slice).unwrap_or_default();
        items.iter().enumerate().flat_map(move |(i, item)| {
            fields.iter().filter_map(move |field| {
                let source = item[*field].as_str().filter(|s| !s.is_empty())?;
                Some((format!("spec.{key}[{i}].{field}"), source))
            })
        })
    };
    // Variables first: the others read their types.
    list("variables", &["expression"])
        .chain(list("matchConditions", &["expression"]))
        .chain(list("validations", &["expression", "messageExpression"]))
        .chain(list("auditAnnotations", &["valueExpression"]))
        .collect()
}

/// `status.typeChecking.expressionWarnings` of `policy` against `types`, `params` of the
/// shape given.
pub fn warnings(policy: &Value, types: &[Type], params: &Shape) -> Vec<Value> {
    let spec = &policy["spec"];
    let compiled: Vec<(String, cel::Expression)> = expressions(spec)
        .into_iter()
        .filter_map(|(field, source)| cel::compile(source).ok().map(|e| (field, e)))
        .collect();
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for t in types {
        let mut scope: Vec<(&str, Shape)> = vec![
            ("object", t.shape.clone()),
            ("oldObject", t.shape.clone()),
            ("params", params.clone()),
        ];
        scope.extend(declared::variables());
        let mut variables: Vec<(String, Shape)> = Vec::new();
        for (field, expression) in &compiled {
            scope.retain(|(n, _)| *n != "variables");
            scope.extend(super::compiled::variables_in_scope(&variables));
            let checked = expression.check(&scope);
            if let Some(i) = field
                .strip_prefix("spec.variables[")
                .and_then(|r| r.split(']').next())
                .and_then(|i| i.parse::<usize>().ok())
                && let Some(name) = spec["variables"][i]["name"].as_str()
            {
                variables.push((name.to_string(), checked.shape.clone()));
            }
            if checked.problems.is_empty() {
                continue;
            }
            let issues: Vec<String> = checked
                .problems
                .iter()
                .map(|p| expression.describe(p))
                .collect();
            let line = format!("{}: {}", t.gvk, issues.join("\n"));
            match found.iter_mut().find(|(f, _)| f == field) {
                Some((_, lines)) => lines.push(line),
                None => found.push((field.clone(), vec![line])),
            }
        }
    }
    // In the order of the fields, each with its kinds' lines.
    compiled
        .iter()
        .filter_map(|(field, _)| found.iter().find(|(f, _)| f == field))
        .map(|(field, lines)| json!({"fieldRef": field, "warning": lines.join("\n")}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Shape {
        Shape::of_schema(
            &json!({"type": "object", "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer"},
                    "paused": {"type": "boolean"}}}}}),
            false,
        )
    }

    #[test]
    fn warnings_name_the_field_and_the_kind() {
        let policy = json!({"spec": {
            "matchConstraints": {"resourceRules": [
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments", "deployments/scale"]},
                {"apiGroups": ["*"], "apiVersions": ["v1"], "resources": ["pods"]}]},
            "variables": [{"name": "replicas", "expression": "object.spec.replicas"}],
            "matchConditions": [{"name": "m", "expression": "object.metadata.labels.app == 'web'"}],
            "validations": [
                {"expression": "object.spec.replicsa > 1"},
                {"expression": "variables.replicas <= 5", "messageExpression": "'too many: ' + variables.replica"},
                {"expression": "variables.replicas > 'x'"}],
            "auditAnnotations": [{"key": "k", "valueExpression": "object.spec.paused.x"}]}});
        assert_eq!(
            resources(&policy),
            [(
                "apps".to_string(),
                "v1".to_string(),
                "deployments".to_string()
            )]
        );
        let types = [Type {
            gvk: "apps/v1, Kind=Deployment".into(),
            shape: deployment(),
        }];
        let w = warnings(&policy, &types, &Shape::Dyn);
        assert_eq!(
            w,
            [
                json!({"fieldRef": "spec.validations[0].expression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicsa'\n | object.spec.replicsa > 1\n | ...........^"}),
                json!({"fieldRef": "spec.validations[1].messageExpression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:25: undefined field 'replica'\n | 'too many: ' + variables.replica\n | ........................^"}),
                json!({"fieldRef": "spec.validations[2].expression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:20: found no matching overload for '_>_' applied to '(int, string)'\n | variables.replicas > 'x'\n | ...................^"}),
                json!({"fieldRef": "spec.auditAnnotations[0].valueExpression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:19: type 'bool' does not support field selection\n | object.spec.paused.x\n | ..................^"}),
            ]
        );
        // Nothing to check against: no warnings.
        assert!(warnings(&policy, &[], &Shape::Dyn).is_empty());
    }

    #[test]
    fn params_request_and_authorizer_are_typed() {
        let policy = json!({"spec": {"validations": [
            {"expression": "object.spec.replicas <= int(params.data.max)"},
            {"expression": "params.spec.max > 1"},
            {"expression": "request.userInfo.username != '' && authorizer.requestResource.check('get').allowed()"},
            {"expression": "object.spec.replicas > 0", "messageExpression": "request.userInfo.usernam"}]}});
        let types = [Type {
            gvk: "apps/v1, Kind=Deployment".into(),
            shape: deployment(),
        }];
        let config_map = Shape::of_schema(
            &json!({"type": "object", "properties": {
                "data": {"type": "object", "additionalProperties": {"type": "string"}}}}),
            false,
        );
        assert_eq!(
            warnings(&policy, &types, &config_map),
            [
                json!({"fieldRef": "spec.validations[1].expression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:7: undefined field 'spec'\n | params.spec.max > 1\n | ......^"}),
                json!({"fieldRef": "spec.validations[3].messageExpression", "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:17: undefined field 'usernam'\n | request.userInfo.usernam\n | ................^"}),
            ]
        );
        // A paramKind that names nothing served leaves `params` anything.
        assert_eq!(warnings(&policy, &types, &Shape::Dyn).len(), 1);
    }

    #[test]
    fn references_are_followed_and_bounded() {
        let components: Map<String, Value> = serde_json::from_value(json!({
            "A": {"type": "object", "properties": {
                "b": {"allOf": [{"$ref": "#/components/schemas/B"}]},
                "port": {"format": "int-or-string", "type": "string"}}},
            "B": {"type": ["object", "null"], "properties": {
                "n": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
                "again": {"$ref": "#/components/schemas/B"}}}}))
        .expect("components");
        let shape = Shape::of_schema(&inline(&components, &components["A"], 0), false);
        let e = cel::compile("object.b.again.again.n + 1 > object.port && object.b.m == 1")
            .expect("compiles");
        let checked = e.check(&[("object", shape)]);
        let problems: Vec<&str> = checked
            .problems
            .iter()
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(problems, ["undefined field 'm'"]);
    }
}
