//! `/openapi/v2`: the v3 documents' content as one Swagger 2.0 document.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// `/openapi/v2`: every group version's paths and schemas as one Swagger 2.0 document.
pub fn swagger(documents: &BTreeMap<String, String>) -> String {
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for doc in documents.values() {
        // References move from components/schemas to definitions.
        let doc = doc.replace("#/components/schemas/", "#/definitions/");
        let Ok(doc) = serde_json::from_str::<Value>(&doc) else {
            continue;
        };
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in schemas {
                merge_definition(&mut definitions, name, schema);
            }
        }
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            paths.insert(path.clone(), swagger_path_item(item));
        }
    }
    let (major, minor) = crate::KUBERNETES_VERSION;
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v{major}.{minor}.0")},
        "paths": paths,
        "definitions": definitions,
    })
    .to_string()
}

/// Adds a group version's definition. A definition several group versions share (PodSpec)
/// carries the patch annotations each of them put on it, so none is lost to the order of
/// the documents.
fn merge_definition(definitions: &mut Map<String, Value>, name: &str, schema: &Value) {
    let Some(existing) = definitions.get_mut(name) else {
        definitions.insert(name.to_string(), schema.clone());
        return;
    };
    let (Some(into), Some(from)) = (
        existing
            .get_mut("properties")
            .and_then(Value::as_object_mut),
        schema["properties"].as_object(),
    ) else {
        return;
    };
    for (field, property) in from {
        for key in [
            "x-kubernetes-patch-strategy",
            "x-kubernetes-patch-merge-key",
        ] {
            if let (Some(value), Some(target)) = (property.get(key), into.get_mut(field)) {
                target[key] = value.clone();
            }
        }
    }
}

/// A v3 path item in v2's form: parameters typed directly, bodies as `in: body` parameters,
/// responses with a `schema`.
fn swagger_path_item(item: &Value) -> Value {
    let parameter = |p: &Value| {
        let mut p = p.clone();
        if let Some(schema) = p.as_object_mut().and_then(|m| m.remove("schema"))
            && let Some(kind) = schema.get("type")
        {
            p["type"] = kind.clone();
        }
        p
    };
    let mut out = Map::new();
    for (key, value) in item.as_object().into_iter().flatten() {
        if key == "parameters" {
            let params: Vec<Value> = value
                .as_array()
                .into_iter()
                .flatten()
                .map(parameter)
                .collect();
            out.insert(key.clone(), json!(params));
            continue;
        }
        let mut op = value.clone();
        let mut params: Vec<Value> = value["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(parameter)
            .collect();
        if let Some(body) = value.get("requestBody") {
            let content = body["content"].as_object();
            let consumes: Vec<&String> = content.into_iter().flat_map(|c| c.keys()).collect();
            let schema = content
                .and_then(|c| c.values().next())
                .map(|m| m["schema"].clone())
                .unwrap_or_else(|| json!({"type": "object"}));
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
            op["consumes"] = json!(consumes);
        }
        if let Some(map) = op.as_object_mut() {
            map.remove("requestBody");
        }
        op["parameters"] = json!(params);
        op["produces"] = json!(["application/json", "application/yaml"]);
        let schema = value
            .pointer("/responses/200/content/application~1json/schema")
            .cloned();
        op["responses"] = json!({"200": {"description": "OK", "schema": schema.unwrap_or(json!({"type": "object"}))}});
        out.insert(key.clone(), op);
    }
    Value::Object(out)
}
