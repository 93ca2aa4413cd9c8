//! Template instances and broker template instances: upstream's rules, and the requester of a
//! new template instance taken from the caller when the body names none.

use api::scheme::ResourceDef;
use async_trait::async_trait;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::add_errors;
use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors};

pub struct TemplateInstances;

impl Strategy for TemplateInstances {
    fn prepare_create(&self, obj: &mut Value) {
        // Only the controller reports on an instance.
        obj["status"] = json!({});
    }

    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let spec = &obj["spec"];
        if let Some(old) = old {
            if old["spec"] != *spec {
                errors.forbidden("spec", "field is immutable");
            }
            return;
        }
        let template = &spec["template"];
        let name = template["metadata"]["name"].as_str().unwrap_or_default();
        if !name.is_empty() {
            for msg in api::names::dns1123_subdomain(name) {
                errors.invalid("spec.template.metadata.name", Bad::Str(name), &msg);
            }
        }
        add_errors(
            errors,
            templates::validate_parameters(template),
            "spec.template.",
        );
        if let Some(secret) = spec.get("secret").filter(|s| !s.is_null()) {
            match secret["name"].as_str().unwrap_or_default() {
                "" => errors.required("spec.secret.name", ""),
                name => {
                    for msg in api::names::dns1123_subdomain(name) {
                        errors.invalid("spec.secret.name", Bad::Str(name), &msg);
                    }
                }
            }
        }
        match spec.get("requester").filter(|r| !r.is_null()) {
            None => errors.required("spec.requester", ""),
            Some(r) if r["username"].as_str().unwrap_or_default().is_empty() => {
                errors.required("spec.requester.username", "")
            }
            Some(_) => {}
        }
    }
}

/// The template instances' handler: the generic store, with the requester of a new instance
/// filled from the caller, and refused when it names someone else.
pub struct WithRequester<R>(pub R);

#[async_trait]
impl<R: Rest> Rest for WithRequester<R> {
    async fn get(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.get(call).await
    }
    async fn list(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.list(call).await
    }
    async fn watch(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        self.0.watch(call).await
    }
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let mut obj = call.object(&body)?;
        let user = call.user()?;
        let requester = &mut obj["spec"]["requester"];
        if requester.is_null() {
            *requester = json!({
                "username": user.name, "uid": user.uid, "groups": user.groups, "extra": user.extra,
            });
        } else if let Some(name) = requester["username"].as_str()
            && !name.is_empty()
            && name != user.name
        {
            let mut errors = FieldErrors::default();
            errors.forbidden(
                "spec.requester.username",
                "you do not have permission to set username",
            );
            errors.into_result(call.def, &obj)?;
        }
        let body = serde_json::to_vec(&obj).map_err(|e| ApiError::Internal(e.to_string()))?;
        let json_call = Call {
            content_type: Some("application/json"),
            upgrade: None,
            ..*call
        };
        self.0.create(&json_call, Bytes::from(body)).await
    }
    async fn update(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.update(call, body).await
    }
    async fn patch(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.patch(call, body).await
    }
    async fn delete(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete(call, body).await
    }
    async fn delete_collection(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        self.0.delete_collection(call, body).await
    }
}

pub struct BrokerTemplateInstances;

impl Strategy for BrokerTemplateInstances {
    fn validate(
        &self,
        _def: &ResourceDef,
        obj: &Value,
        _old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let spec = &obj["spec"];
        reference(
            &spec["templateInstance"],
            "spec.templateInstance",
            "TemplateInstance",
            errors,
        );
        reference(&spec["secret"], "spec.secret", "Secret", errors);
        for id in spec["bindingIDs"].as_array().into_iter().flatten() {
            let id = id.as_str().unwrap_or_default();
            if !is_uuid(id) {
                errors.invalid("spec.bindingIDs", Bad::Str(id), "is not a valid UUID");
            }
        }
    }
}

fn reference(r: &Value, path: &str, kind: &str, errors: &mut FieldErrors) {
    let text = |k: &str| r[k].as_str().unwrap_or_default();
    match text("kind") {
        "" => errors.required(&format!("{path}.kind"), ""),
        k if k != kind => errors.invalid(
            &format!("{path}.kind"),
            Bad::Str(k),
            &format!("must be {kind}"),
        ),
        _ => {}
    }
    match text("name") {
        "" => errors.required(&format!("{path}.name"), ""),
        name => {
            for msg in api::names::dns1123_subdomain(name) {
                errors.invalid(&format!("{path}.name"), Bad::Str(name), &msg);
            }
        }
    }
    match text("namespace") {
        "" => errors.required(&format!("{path}.namespace"), ""),
        ns => {
            for msg in api::names::dns1123_label(ns) {
                errors.invalid(&format!("{path}.namespace"), Bad::Str(ns), &msg);
            }
        }
    }
}

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    #[test]
    fn template_instances() {
        let gvr = ("template.openshift.io", "v1", "templateinstances");
        let ti = json!({"metadata": {"name": "t"}, "spec": {
            "template": {"parameters": [{"name": "a-b"}]},
            "secret": {},
        }});
        assert_eq!(
            validated(&TemplateInstances, gvr, &ti, None),
            "spec.template.parameters[0].name: Invalid value: \"a-b\": does not match ^[a-zA-Z0-9_]+$\n\
             spec.secret.name: Required value\n\
             spec.requester: Required value\n"
        );
        let mut changed = ti.clone();
        changed["spec"]["secret"]["name"] = json!("s");
        assert_eq!(
            validated(&TemplateInstances, gvr, &changed, Some(&ti)),
            "spec: Forbidden: field is immutable\n"
        );
    }

    #[test]
    fn broker_template_instances() {
        let gvr = ("template.openshift.io", "v1", "brokertemplateinstances");
        let bti = json!({"metadata": {"name": "b"}, "spec": {
            "templateInstance": {"kind": "Secret", "name": "t", "namespace": "ns"},
            "secret": {"kind": "Secret", "name": "s"},
            "bindingIDs": ["0f9d1c8e-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "nope"],
        }});
        assert_eq!(
            validated(&BrokerTemplateInstances, gvr, &bti, None),
            "spec.templateInstance.kind: Invalid value: \"Secret\": must be TemplateInstance\n\
             spec.secret.namespace: Required value\n\
             spec.bindingIDs: Invalid value: \"nope\": is not a valid UUID\n"
        );
    }
}
