//! The `admission.k8s.io/v1` AdmissionReview on the wire: the request a webhook receives and
//! the response it answers with, checked as upstream checks it.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::admission::{Attributes, Operation};

/// The review sent for `a` with `object` (null on deletions and connects without options).
pub fn request(a: &Attributes<'_>, uid: &str, object: Option<&Value>) -> Value {
    let def = a.def;
    let kind = json!({"group": def.group, "version": def.version, "kind": def.kind});
    let resource = json!({"group": def.group, "version": def.version, "resource": def.plural});
    let mut request = json!({
        "uid": uid,
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": a.name,
        "operation": a.operation.as_str(),
        "userInfo": user_info(a),
        "object": object.cloned().unwrap_or(Value::Null),
        "oldObject": a.old.cloned().unwrap_or(Value::Null),
        "dryRun": a.dry_run,
        "options": options(a),
    });
    if !a.subresource.is_empty() {
        request["subResource"] = json!(a.subresource);
        request["requestSubResource"] = json!(a.subresource);
    }
    if let Some(ns) = a.namespace {
        request["namespace"] = json!(ns);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// `userInfo` as authentication saw it (empty for the server's own requests).
pub fn user_info(a: &Attributes<'_>) -> Value {
    match a.user {
        Some(u) => {
            let mut info = json!({"username": u.name, "groups": u.groups});
            if !u.uid.is_empty() {
                info["uid"] = json!(u.uid);
            }
            if !u.extra.is_empty() {
                info["extra"] = json!(u.extra);
            }
            info
        }
        None => json!({}),
    }
}

/// The operation's options object, as upstream sends it.
fn options(a: &Attributes<'_>) -> Value {
    let kind = match a.operation {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
        Operation::Delete => "DeleteOptions",
        Operation::Connect => return Value::Null,
    };
    let mut options = json!({"kind": kind, "apiVersion": "meta.k8s.io/v1"});
    if a.dry_run {
        options["dryRun"] = json!(["All"]);
    }
    options
}

/// What a webhook answered.
#[derive(Debug, Default)]
pub struct Response {
    pub allowed: bool,
    /// The `status` of a denial (message, reason, code), as the webhook gave it.
    pub status: Option<Value>,
    /// A JSON patch (mutating webhooks only).
    pub patch: Option<json_patch::Patch>,
    pub warnings: Vec<String>,
    pub audit_annotations: Map<String, Value>,
}

/// Reads a webhook's answer to the review with `uid`; errors in upstream's words.
pub fn response(body: &[u8], uid: &str, mutating: bool) -> Result<Response, String> {
    let review: Value = serde_json::from_slice(body)
        .map_err(|e| format!("received invalid webhook response: {e}"))?;
    let invalid = |why: String| format!("received invalid webhook response: {why}");
    if review["apiVersion"] != "admission.k8s.io/v1" || review["kind"] != "AdmissionReview" {
        return Err(invalid(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {}, Kind={}",
            review["apiVersion"].as_str().unwrap_or_default(),
            review["kind"].as_str().unwrap_or_default()
        )));
    }
    let r = review
        .get("response")
        .filter(|r| r.is_object())
        .ok_or_else(|| invalid("webhook response was absent".into()))?;
    let got = r["uid"].as_str().unwrap_or_default();
    if got != uid {
        return Err(invalid(format!(
            "expected response.uid={uid:?}, got {got:?}"
        )));
    }
    let mut out = Response {
        allowed: r["allowed"].as_bool().unwrap_or(false),
        status: r.get("status").filter(|s| s.is_object()).cloned(),
        warnings: r["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        audit_annotations: r["auditAnnotations"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
        patch: None,
    };
    let patch = r["patch"].as_str().filter(|p| !p.is_empty());
    match (patch, r["patchType"].as_str()) {
        (None, None) => {}
        (Some(_), _) if !mutating => {
            return Err(invalid(
                "validating webhook may not return response.patch".into(),
            ));
        }
        (Some(patch), Some("JSONPatch")) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(patch)
                .map_err(|e| invalid(format!("response.patch: {e}")))?;
            out.patch = Some(
                serde_json::from_slice(&raw)
                    .map_err(|e| invalid(format!("response.patch: {e}")))?,
            );
        }
        (Some(_), None) => {
            return Err(invalid(
                "webhook returned response.patch but not response.patchType".into(),
            ));
        }
        (_, Some(other)) if patch.is_none() && mutating => {
            return Err(invalid(format!(
                "webhook returned response.patchType of {other:?} but not response.patch"
            )));
        }
        (_, Some(other)) => {
            return Err(invalid(format!(
                "webhook returned invalid response.patchType of {other:?}"
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(response: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview", "response": response}))
        .unwrap()
    }

    #[test]
    fn patches_warnings_and_checks() {
        let patch = base64::engine::general_purpose::STANDARD
            .encode(br#"[{"op":"add","path":"/metadata/labels/x","value":"y"}]"#);
        let r = response(
            &answer(json!({"uid": "u", "allowed": true, "patch": patch,
                "patchType": "JSONPatch", "warnings": ["careful"]})),
            "u",
            true,
        )
        .unwrap();
        assert!(r.allowed && r.patch.is_some());
        assert_eq!(r.warnings, ["careful"]);
        let wrong_uid = response(&answer(json!({"uid": "v", "allowed": true})), "u", true);
        assert_eq!(
            wrong_uid.unwrap_err(),
            r#"received invalid webhook response: expected response.uid="u", got "v""#
        );
        assert!(response(b"not json", "u", false).is_err());
        let patched = response(
            &answer(json!({"uid": "u", "allowed": true, "patch": patch, "patchType": "JSONPatch"})),
            "u",
            false,
        );
        assert!(patched.is_err());
    }
}
