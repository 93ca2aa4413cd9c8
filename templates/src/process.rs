//! Processing a Template (`template.openshift.io/v1`, as JSON) in place, in upstream's order:
//! parameter values generated (any failure stops here), then references substituted in the
//! message, the labels and every object, each object's hard-coded namespace removed (one that
//! refers to a parameter is kept and substituted) and the template's labels added to it.

use rand::Rng;
use serde_json::{Map, Value};

use crate::errors::{FieldError, go_parameter};
use crate::generator;
use crate::substitute::{self, Values};

/// Upstream's rule for parameter names.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What upstream checks before processing (`parameters[i].name`).
pub fn validate_parameters(template: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, p) in parameters(template).iter().enumerate() {
        let field = format!("parameters[{i}].name");
        match p["name"].as_str().unwrap_or_default() {
            "" => errors.push(FieldError::Required {
                field,
                detail: String::new(),
            }),
            name if !valid_name(name) => errors.push(FieldError::Invalid {
                field,
                value: format!("{name:?}"),
                detail: "does not match ^[a-zA-Z0-9_]+$".into(),
            }),
            _ => {}
        }
    }
    errors
}

fn parameters(template: &Value) -> &[Value] {
    template["parameters"].as_array().map_or(&[], Vec::as_slice)
}

/// Processes `template`: its parameters get their values and its objects are substituted.
pub fn process(template: &mut Value, rng: &mut impl Rng) -> Result<(), Vec<FieldError>> {
    let values = generate_values(template, rng)?;
    if let Some(message) = template.get_mut("message")
        && let Some(text) = message.as_str()
    {
        *message = Value::String(substitute::in_string(&values, text).0);
    }
    let labels = substituted_labels(template, &values);
    if let Some(labels) = &labels {
        template["labels"] = Value::Object(labels.clone());
    }
    let mut errors = Vec::new();
    if let Some(objects) = template.get_mut("objects").and_then(Value::as_array_mut) {
        for (i, object) in objects.iter_mut().enumerate() {
            if let Err(e) = process_object(object, &values, labels.as_ref()) {
                errors.push(FieldError::Invalid {
                    field: format!("item[{i}].objects"),
                    value: object.to_string(),
                    detail: format!("unable to handle object: {e}"),
                });
            }
        }
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}

/// Generates the value of every parameter without one that says how; refuses required
/// parameters left without a value.
fn generate_values(template: &mut Value, rng: &mut impl Rng) -> Result<Values, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut values = Values::new();
    let Some(params) = template.get_mut("parameters").and_then(Value::as_array_mut) else {
        return Ok(values);
    };
    for (i, p) in params.iter_mut().enumerate() {
        let field = format!("template.parameters[{i}]");
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let mut value = p["value"].as_str().unwrap_or_default().to_string();
        if value.is_empty() {
            match p["generate"].as_str().unwrap_or_default() {
                "" => {}
                "expression" => {
                    match generator::generate(p["from"].as_str().unwrap_or_default(), rng) {
                        Ok(v) => value = v,
                        Err(detail) => {
                            errors.push(FieldError::Invalid {
                                field,
                                value: go_parameter(p),
                                detail,
                            });
                            continue;
                        }
                    }
                }
                other => {
                    errors.push(FieldError::Invalid {
                        field,
                        value: format!("{other:?}"),
                        detail: format!("Unknown generator name '{other}' for parameter {name}"),
                    });
                    continue;
                }
            }
            if value.is_empty() && p["required"].as_bool() == Some(true) {
                errors.push(FieldError::Required {
                    detail: format!("{field}: parameter {name} is required and must be specified"),
                    field,
                });
                continue;
            }
            if !value.is_empty() {
                p["value"] = Value::String(value.clone());
            }
        }
        values.insert(name, value);
    }
    match errors.is_empty() {
        true => Ok(values),
        false => Err(errors),
    }
}

/// The template's labels with their keys and values substituted.
fn substituted_labels(template: &Value, values: &Values) -> Option<Map<String, Value>> {
    let labels = template["labels"].as_object()?;
    Some(
        labels
            .iter()
            .map(|(k, v)| {
                let value = substitute::in_string(values, v.as_str().unwrap_or_default()).0;
                (substitute::in_string(values, k).0, Value::String(value))
            })
            .collect(),
    )
}

fn process_object(
    object: &mut Value,
    values: &Values,
    labels: Option<&Map<String, Value>>,
) -> Result<(), String> {
    if !object.is_object() {
        return Err("json: cannot unmarshal into Go value of type map[string]interface {}".into());
    }
    if object["kind"].as_str().unwrap_or_default().is_empty() {
        return Err(format!("Object 'Kind' is missing in '{object}'"));
    }
    strip_namespace(object);
    substitute::in_value(values, object);
    if let Some(labels) = labels {
        let metadata = object.as_object_mut().map(|o| {
            o.entry("metadata")
                .or_insert_with(|| Value::Object(Map::new()))
        });
        if let Some(Value::Object(metadata)) = metadata {
            let own = metadata
                .entry("labels")
                .or_insert_with(|| Value::Object(Map::new()));
            if !own.is_object() {
                *own = Value::Object(Map::new());
            }
            if let Some(own) = own.as_object_mut() {
                own.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    Ok(())
}

/// Removes a namespace written into the object, unless it refers to a parameter.
fn strip_namespace(object: &mut Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let keep = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(substitute::has_reference);
    if !keep {
        metadata.remove("namespace");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    fn processed(mut t: Value) -> Result<Value, Vec<String>> {
        let mut rng = StdRng::seed_from_u64(1);
        process(&mut t, &mut rng)
            .map(|()| t)
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    fn template() -> Value {
        json!({
            "apiVersion": "template.openshift.io/v1", "kind": "Template",
            "metadata": {"name": "web"},
            "message": "password is ${PASSWORD}",
            "labels": {"template": "${NAME}-t"},
            "parameters": [
                {"name": "NAME", "value": "web"},
                {"name": "PASSWORD", "generate": "expression", "from": "[a-zA-Z0-9]{16}"},
                {"name": "REPLICAS", "value": "2"},
                {"name": "OPTIONAL"},
            ],
            "objects": [{
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "${NAME}", "namespace": "elsewhere", "labels": {"app": "${NAME}"}},
                "spec": {"replicas": "${{REPLICAS}}", "note": "[${OPTIONAL}]"},
            }, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "${NAME}-ns"},
            }],
        })
    }

    #[test]
    fn values_generated_and_substituted() {
        let t = processed(template()).unwrap();
        let password = t["parameters"][1]["value"].as_str().unwrap().to_string();
        assert_eq!(password.len(), 16);
        assert_eq!(t["message"], format!("password is {password}"));
        assert_eq!(t["labels"], json!({"template": "web-t"}));
        let d = &t["objects"][0];
        assert_eq!(d["metadata"]["name"], "web");
        assert!(d["metadata"].get("namespace").is_none(), "{d}");
        assert_eq!(
            d["metadata"]["labels"],
            json!({"app": "web", "template": "web-t"})
        );
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(d["spec"]["note"], "[]");
        assert_eq!(t["objects"][1]["metadata"]["namespace"], "web-ns");
        assert!(t["parameters"][3].get("value").is_none());
    }

    #[test]
    fn required_parameters_and_generator_errors() {
        let mut t = template();
        t["parameters"] = json!([{"name": "DB", "required": true}]);
        assert_eq!(
            processed(t).unwrap_err(),
            [
                "template.parameters[0]: Required value: template.parameters[0]: parameter DB is required and must be specified"
            ]
        );
        let mut t = template();
        t["parameters"] = json!([
            {"name": "A", "generate": "expression", "from": "[abc]{3}"},
            {"name": "B", "generate": "magic"},
        ]);
        assert_eq!(
            processed(t).unwrap_err(),
            [
                r#"template.parameters[0]: Invalid value: v1.Parameter{Name:"A", DisplayName:"", Description:"", Value:"", Generate:"expression", From:"[abc]{3}", Required:false}: malformed expresion syntax: [abc]"#,
                r#"template.parameters[1]: Invalid value: "magic": Unknown generator name 'magic' for parameter B"#,
            ]
        );
    }

    #[test]
    fn objects_without_a_kind_are_refused() {
        let mut t = template();
        t["objects"] = json!([{"metadata": {"name": "x"}}]);
        let errors = processed(t).unwrap_err();
        assert!(
            errors[0].starts_with("item[0].objects: Invalid value: "),
            "{errors:?}"
        );
        assert!(errors[0].contains("unable to handle object: Object 'Kind' is missing"));
    }

    #[test]
    fn parameter_names_are_checked() {
        let t = json!({"parameters": [{"name": ""}, {"name": "a-b"}, {"name": "OK_1"}]});
        let errors: Vec<String> = validate_parameters(&t)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errors,
            [
                "parameters[0].name: Required value",
                r#"parameters[1].name: Invalid value: "a-b": does not match ^[a-zA-Z0-9_]+$"#,
            ]
        );
    }
}
