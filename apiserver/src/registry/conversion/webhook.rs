//! A conversion webhook (`spec.conversion.webhook` of a CustomResourceDefinition): the
//! objects of one batch sent in a `ConversionReview` (v1, or v1beta1 when that is the first
//! version the definition names), and what comes back checked as upstream checks it — the
//! review's kind and uid, success, the number of objects, each one's version and kind, the
//! same name, namespace and uid; of its metadata only labels and annotations are taken, the
//! rest is the original's. Every failure is upstream's message, reported as a 500.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::webhook_client::client::Client;
use crate::webhook_client::resolve::Resolver;
use crate::webhook_client::{self, Target};

/// How long a conversion may take (upstream's webhook client default).
const TIMEOUT: Duration = Duration::from_secs(30);

const GROUP: &str = "apiextensions.k8s.io";

/// One definition's conversion webhook, ready to call.
pub struct Webhook {
    pub target: Result<Target, String>,
    pub client: Result<Arc<Client>, String>,
    /// The ConversionReview version sent: the first of `conversionReviewVersions` known.
    pub review_version: Option<&'static str>,
}

impl Webhook {
    /// The webhook of a definition's `spec.conversion.webhook`.
    pub fn of(webhook: &Value) -> Webhook {
        let config = &webhook["clientConfig"];
        let client = webhook_client::ca_bundle(config["caBundle"].as_str().unwrap_or_default())
            .and_then(|pem| Client::new(&pem))
            .map(Arc::new);
        let review_version = webhook["conversionReviewVersions"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|v| match v.as_str() {
                Some("v1") => Some("v1"),
                Some("v1beta1") => Some("v1beta1"),
                _ => None,
            });
        Webhook {
            target: webhook_client::target(config),
            client,
            review_version,
        }
    }

    /// `objects` converted to `desired` (none of them in it already); `gvk` names what is
    /// converted in messages.
    pub async fn convert(
        &self,
        resolver: &Resolver,
        gvk: &str,
        objects: Vec<Value>,
        desired: &str,
        list: bool,
    ) -> Result<Vec<Value>, String> {
        let failed = |e: String| format!("conversion webhook for {gvk} failed: {e}");
        let version = self
            .review_version
            .ok_or_else(|| "no supported conversion review versions".to_string())?;
        let client = self.client.as_ref().map_err(|e| failed(e.clone()))?;
        let target = self.target.as_ref().map_err(|e| failed(e.clone()))?;
        let uid = uuid::Uuid::new_v4().to_string();
        let body = request(version, &uid, desired, &objects);
        let body = Bytes::from(body.to_string());
        let answer = webhook_client::post(resolver, client, target, TIMEOUT, body)
            .await
            .map_err(failed)?;
        let converted = response(version, &answer, &uid).map_err(failed)?;
        if converted.len() != objects.len() {
            return Err(format!(
                "conversion webhook for {gvk} returned {} objects, expected {}",
                converted.len(),
                objects.len()
            ));
        }
        objects
            .iter()
            .zip(converted)
            .enumerate()
            .map(|(i, (original, converted))| accept(original, converted, desired, gvk, i, list))
            .collect()
    }
}

/// The review sent for `objects`.
pub fn request(version: &str, uid: &str, desired: &str, objects: &[Value]) -> Value {
    json!({
        "kind": "ConversionReview",
        "apiVersion": format!("{GROUP}/{version}"),
        "request": {"uid": uid, "desiredAPIVersion": desired, "objects": objects},
    })
}

/// The converted objects of a webhook's answer, or what is wrong with it.
pub fn response(version: &str, body: &[u8], uid: &str) -> Result<Vec<Value>, String> {
    let review: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if version == "v1" {
        // v1 answers are checked for their kind and uid (v1beta1 ones never were).
        let expected = format!("{GROUP}/v1, Kind=ConversionReview");
        let got = gvk_of(&review);
        if got != expected {
            return Err(format!(
                "expected webhook response of {expected}, got {got}"
            ));
        }
    }
    let Some(response) = review.get("response").filter(|r| r.is_object()) else {
        return Err("no response provided".into());
    };
    let got_uid = response["uid"].as_str().unwrap_or_default();
    if version == "v1" && got_uid != uid {
        return Err(format!("expected response.uid={uid:?}, got {got_uid:?}"));
    }
    let status = response["result"]["status"].as_str().unwrap_or_default();
    if status != "Success" {
        return Err(match response["result"]["message"].as_str() {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => format!("response.result.status was '{status}', not 'Success'"),
        });
    }
    Ok(response["convertedObjects"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// An object's group, version and kind as Go prints them.
fn gvk_of(obj: &Value) -> String {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    format!(
        "{group}/{version}, Kind={}",
        obj["kind"].as_str().unwrap_or_default()
    )
}

/// `converted` checked against its `original` (the `index`th of the batch) and given the
/// original's metadata but for its own labels and annotations.
pub fn accept(
    original: &Value,
    mut converted: Value,
    desired: &str,
    gvk: &str,
    index: usize,
    list: bool,
) -> Result<Value, String> {
    let (invalid, at) = match list {
        true => ("invalid converted object", format!(" at index {index}")),
        false => ("invalid object", String::new()),
    };
    let got = converted["apiVersion"].as_str().unwrap_or_default();
    if got != desired {
        return Err(format!(
            "conversion webhook for {gvk} returned {invalid} at index {index}: invalid groupVersion (expected {desired}, received {got})"
        ));
    }
    let (want_kind, got_kind) = (
        original["kind"].as_str().unwrap_or_default(),
        converted["kind"].as_str().unwrap_or_default(),
    );
    if want_kind != got_kind {
        return Err(format!(
            "conversion webhook for {gvk} returned {invalid} at index {index}: invalid kind (expected {want_kind}, received {got_kind})"
        ));
    }
    same_identity(original, &converted)
        .map_err(|e| format!("conversion webhook for {gvk} returned {invalid}{at}: {e}"))?;
    restore_metadata(original, &mut converted).map_err(|e| {
        let what = match list {
            true => format!("invalid metadata in object at index {index}"),
            false => "invalid metadata".to_string(),
        };
        format!("conversion webhook for {gvk} returned {what}: {e}")
    })?;
    Ok(converted)
}

/// The converted object is the same object: kind, name, namespace and uid.
fn same_identity(original: &Value, converted: &Value) -> Result<(), String> {
    let kind = |o: &Value| o["kind"].as_str().unwrap_or_default().to_string();
    if kind(original) != kind(converted) {
        return Err(format!(
            "must have the same kind: {} != {}",
            kind(original),
            kind(converted)
        ));
    }
    for (field, name) in [("name", "name"), ("namespace", "namespace"), ("uid", "UID")] {
        let (a, b) = (
            crate::registry::object::meta_str(original, field),
            crate::registry::object::meta_str(converted, field),
        );
        if a != b {
            return Err(format!("must have the same {name}: {a} != {b}"));
        }
    }
    Ok(())
}

/// The original's metadata with the converted object's labels and annotations (checked).
fn restore_metadata(original: &Value, converted: &mut Value) -> Result<(), String> {
    let response = match converted.get("metadata") {
        None => return Err("missing metadata in converted object".into()),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "invalid metadata of type {} in converted object",
                go_type(other)
            ));
        }
    };
    let mut meta: Map<String, Value> = original["metadata"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for field in ["labels", "annotations"] {
        let given = match response.get(field) {
            None | Some(Value::Null) => {
                meta.remove(field);
                continue;
            }
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(format!(
                    "invalid metadata.{field} of type {} in converted object",
                    go_type(other)
                ));
            }
        };
        for (k, v) in given {
            if !v.is_string() {
                return Err(format!(
                    "metadata.{field}[{k}] must be a string, but is {} in converted object",
                    go_type(v)
                ));
            }
        }
        if meta.get(field) != Some(&Value::Object(given.clone())) {
            check(field, given)?;
        }
        meta.insert(field.to_string(), Value::Object(given.clone()));
    }
    converted["metadata"] = Value::Object(meta);
    Ok(())
}

/// Changed labels or annotations must be valid ones.
fn check(field: &str, given: &Map<String, Value>) -> Result<(), String> {
    let mut errors = Vec::new();
    for (k, v) in given {
        let key = match field {
            "annotations" => k.to_lowercase(),
            _ => k.clone(),
        };
        for m in api::names::qualified_name(&key) {
            errors.push(format!("metadata.{field}: Invalid value: {k:?}: {m}"));
        }
        if field == "labels" {
            let v = v.as_str().unwrap_or_default();
            for m in api::names::label_value(v) {
                errors.push(format!("metadata.labels: Invalid value: {v:?}: {m}"));
            }
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

/// The Go type a JSON value decodes to, for messages.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}
