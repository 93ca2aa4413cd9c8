//! What a request on an object addresses (the object, its status, its scale, a namespace's
//! finalizers) and how a write of that part becomes the next stored state.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{ApiError, from_storage};
use crate::registry::decode::field_validation::{Decoded, KindSchema};
use crate::registry::object::{self, target};
use crate::registry::strategy::Strategy;

/// Which part of an object a request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Main,
    /// The `status` subresource: only `.status` changes.
    Status,
    /// The `scale` subresource: a Scale view of the replica count.
    Scale(api::scheme::Subresource),
    /// A namespace's `finalize` subresource: only `spec.finalizers` changes.
    Finalize,
    /// A certificate signing request's `approval` subresource: only `status.conditions`
    /// changes.
    Approval,
}

/// The object a write addresses, and who writes it.
pub struct Target<'a> {
    pub def: &'a ResourceDef,
    /// The kind's behaviour.
    pub strategy: &'a dyn Strategy,
    pub user: Option<&'a crate::http::serve::User>,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub part: Part,
    /// `dryRun=All`: everything but the write.
    pub dry_run: bool,
    pub validation: crate::registry::decode::field_validation::Mode,
    /// The field manager of the write.
    pub manager: String,
    /// Server-side apply takes conflicting fields over.
    pub force: bool,
}

impl Target<'_> {
    /// The write as admission sees it.
    pub(super) fn admission<'a>(
        &'a self,
        operation: crate::admission::Operation,
        old: Option<&'a Value>,
    ) -> crate::admission::Attributes<'a> {
        crate::admission::Attributes {
            operation,
            def: self.def,
            subresource: match self.part {
                Part::Main => "",
                Part::Status => "status",
                Part::Scale(_) => "scale",
                Part::Finalize => "finalize",
                Part::Approval => "approval",
            },
            namespace: self.namespace,
            name: self.name,
            user: self.user,
            old,
            dry_run: self.dry_run,
            namespace_object: Default::default(),
        }
    }
}

/// What a write of `obj` over `current` stores. A write to the main resource keeps the
/// system fields and, for kinds with a status subresource, the current status; a write to
/// `status` changes the status only.
pub(super) fn next_state(
    t: &Target<'_>,
    current: &Value,
    mut obj: Value,
) -> Result<Value, ApiError> {
    match t.part {
        Part::Main => {
            object::prepare_update(&mut obj, current)?;
            if t.def.subresource("status").is_some() {
                let requested = obj.get("status").cloned();
                carry_status(&mut obj, current);
                if let Some(requested) = requested {
                    t.strategy.accept_status(&mut obj, &requested);
                }
            }
            Ok(obj)
        }
        Part::Status => {
            let mut next = current.clone();
            carry_status(&mut next, &obj);
            Ok(next)
        }
        Part::Scale(_) => {
            let replicas = super::scale::replicas(t.def, t.name, &obj)?;
            let mut next = current.clone();
            if !next["spec"].is_object() {
                next["spec"] = json!({});
            }
            next["spec"]["replicas"] = json!(replicas);
            // A new replica count is a spec change: the generation moves on, as upstream.
            object::prepare_update(&mut next, current)?;
            Ok(next)
        }
        Part::Finalize => {
            let mut next = current.clone();
            next["spec"]["finalizers"] = obj["spec"]["finalizers"].clone();
            Ok(next)
        }
        Part::Approval => {
            let mut next = current.clone();
            if !next["status"].is_object() {
                next["status"] = json!({});
            }
            match obj["status"].get("conditions") {
                Some(conditions) => next["status"]["conditions"] = conditions.clone(),
                None => drop(
                    next["status"]
                        .as_object_mut()
                        .map(|s| s.remove("conditions")),
                ),
            }
            Ok(next)
        }
    }
}

/// How a request on `t` sees an object: the object itself, or its Scale.
pub(super) fn view(t: &Target<'_>, obj: Value) -> Value {
    match t.part {
        Part::Scale(sub) => super::scale::view(&sub, &obj),
        Part::Main | Part::Status | Part::Finalize | Part::Approval => obj,
    }
}

/// Parses a write's body: an object of the resource's kind, or a Scale.
pub(super) fn parse_write(t: &Target<'_>, body: &[u8]) -> Result<Value, ApiError> {
    match t.part {
        Part::Scale(_) => {
            let obj: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::BadRequest(format!("the object provided is unrecognized: {e}"))
            })?;
            match obj.get("kind").and_then(Value::as_str) {
                None | Some("Scale") => {
                    super::scale::check_types(&obj)?;
                    Ok(obj)
                }
                Some(kind) => Err(ApiError::BadRequest(format!(
                    "the kind in the data ({kind}) does not match the expected kind (Scale)"
                ))),
            }
        }
        Part::Main | Part::Status | Part::Finalize | Part::Approval => {
            let mut obj = object::parse_body(t.def, body)?;
            object::check_identity(t.def, &mut obj, t.namespace, Some(t.name))?;
            Ok(obj)
        }
    }
}

/// Sets `to.status` to `from.status` (removing it when `from` has none).
pub(super) fn carry_status(to: &mut Value, from: &Value) {
    if let Some(map) = to.as_object_mut() {
        match from.get("status") {
            Some(status) => drop(map.insert("status".into(), status.clone())),
            None => drop(map.remove("status")),
        }
    }
}

/// Field validation of a write's object (not of a Scale), with the JSON body it came from.
pub(super) fn validate_fields(
    server: &ApiServer,
    t: &Target<'_>,
    raw: Option<&[u8]>,
    decoded: Decoded<'_>,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    if matches!(t.part, Part::Scale(_)) {
        return Ok(Vec::new());
    }
    // Duplicates are looked for in JSON bodies only (YAML and protobuf come converted).
    let raw = raw.filter(|r| r.first() == Some(&b'{'));
    let served;
    let schema = match server
        .scheme
        .lookup(t.def.group, t.def.version, t.def.plural)
    {
        Some(_) => KindSchema::Builtin(&server.field_schemas, &server.scheme),
        None => {
            served = server.served();
            match served
                .lookup(t.def.group, t.def.version, t.def.plural)
                .and_then(|c| c.schema.as_deref())
            {
                Some(schema) => KindSchema::Custom(schema),
                None => KindSchema::Builtin(&server.field_schemas, &server.scheme),
            }
        }
    };
    crate::registry::decode::field_validation::check(schema, t.def, t.validation, raw, decoded, obj)
}

pub(super) async fn current(
    server: &ApiServer,
    t: &Target<'_>,
) -> Result<storage::KeyValue, ApiError> {
    let (found, _) = server
        .store
        .get(&t.def.key(t.namespace, t.name), None)
        .await
        .map_err(|e| from_storage(e, target(t.def, t.name)))?;
    found.ok_or_else(|| ApiError::NotFound(target(t.def, t.name)))
}

/// Whether a write records field ownership itself (updates) or brings it (applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ownership {
    Update,
    Computed,
}

pub(super) fn has_managed_fields(obj: &Value) -> bool {
    obj["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
}
