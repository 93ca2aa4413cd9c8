//! CREATE and UPDATE of the generic store: a write decoded, defaulted and validated by the
//! kind's strategy, admitted, then stored (create if absent, update by compare-and-swap).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::validate::validate;
use super::{
    Ownership, Part, Target, carry_status, current, has_managed_fields, next_state, parse_write,
    validate_fields, view,
};
use crate::ApiServer;
use crate::admission::{self, Operation};
use crate::error::{ApiError, from_storage};
use crate::registry::conversion;
use crate::registry::decode::field_validation::Decoded;
use crate::registry::object::{self, target};
use crate::registry::response::Output;
use crate::registry::strategy;

pub(super) async fn create(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    let (def, namespace) = (t.def, t.namespace);
    let mut obj = object::parse_body(def, body)?;
    let warnings = validate_fields(server, t, Some(body), Decoded::Body, &mut obj)?;
    let name = object::check_identity(def, &mut obj, namespace, None)?;
    if let Some(ns) = namespace
        && server
            .admission
            .enabled(admission::namespace_lifecycle::NAME)
    {
        admission::namespace_lifecycle::check_create(server, ns, def, &name).await?;
    }
    object::prepare_create(def, &mut obj)?;
    if def.subresource("status").is_some() {
        // Status is the controllers' to write, through the subresource.
        carry_status(&mut obj, &Value::Null);
    }
    t.strategy.prepare_create(&mut obj);
    // The object's fields are its creator's as sent (and defaulted), before the server assigns
    // any or admission mutates it: upstream's field manager runs before mutating admission.
    if !has_managed_fields(&obj) {
        crate::managed_fields::record_update(def, None, &mut obj, &t.manager, "", &object::now());
    }
    t.strategy
        .assign(server, def, t.user, &mut obj, None)
        .await?;
    let attributes = admission::Attributes {
        name: &name,
        ..t.admission(Operation::Create, None)
    };
    let mut warnings = warnings;
    warnings.extend(
        admission::mutate(server, &attributes, &mut obj)
            .await?
            .warnings,
    );
    t.strategy.complete_create(&mut obj);
    validate(def, t.strategy, &obj, None)?;
    let writer = strategy::Writer {
        server,
        user: t.user,
    };
    t.strategy.resolve(&writer, &mut obj, None).await?;
    let reserved = t
        .strategy
        .reserve(server, &mut obj, None, t.dry_run)
        .await?;
    warnings.extend(
        admission::validate(server, &attributes, &obj)
            .await?
            .warnings,
    );
    let key = def.key(namespace, &name);
    if t.dry_run {
        let (existing, _) = server
            .store
            .get(&key, None)
            .await
            .map_err(|e| from_storage(e, target(def, &name)))?;
        if existing.is_some() {
            return Err(ApiError::AlreadyExists(target(def, &name)));
        }
        let response = out.respond(StatusCode::CREATED, def, obj);
        return Ok(crate::registry::decode::field_validation::warn(
            response, &warnings,
        ));
    }
    let stored = conversion::encode(server, def, &obj).await?;
    let kv = server
        .store
        .create(&key, stored.clone())
        .await
        .map_err(|e| from_storage(e, target(def, &name)))?;
    strategy::keep(reserved).await;
    let response = out.written(StatusCode::CREATED, def, obj, &stored, kv.mod_revision);
    Ok(crate::registry::decode::field_validation::warn(
        response, &warnings,
    ))
}

pub(super) async fn update(
    server: &ApiServer,
    t: &Target<'_>,
    body: &[u8],
    out: Output,
) -> Result<Response, ApiError> {
    let mut obj = parse_write(t, body)?;
    let warnings = validate_fields(server, t, Some(body), Decoded::Body, &mut obj)?;
    let requested = object::meta_str(&obj, "resourceVersion").to_string();
    // An update without a resourceVersion is unconditional: a write that lands between our
    // read and our compare-and-swap (a controller's status update) is read again and the
    // update retried, as upstream's GuaranteedUpdate does.
    let mut retries = UNCONDITIONAL_RETRIES;
    let response = loop {
        let current = current(server, t).await?;
        if !requested.is_empty() && requested != current.mod_revision.to_string() {
            return Err(ApiError::Conflict(target(t.def, t.name)));
        }
        let before = conversion::decode(server, t.def, &current).await?;
        let next = next_state(t, &before, obj.clone())?;
        match store_update(server, t, (&current, &before), next, Ownership::Update, out).await {
            Err(ApiError::Conflict(_)) if requested.is_empty() && retries > 0 => retries -= 1,
            result => break result?,
        }
    };
    Ok(crate::registry::decode::field_validation::warn(
        response, &warnings,
    ))
}

/// How often an unconditional update is read again after losing a compare-and-swap.
const UNCONDITIONAL_RETRIES: u32 = 8;

/// Stores `next` if the object is still at `current`'s revision; removes it instead when it
/// was being deleted and its last finalizer is gone.
pub(super) async fn store_update(
    server: &ApiServer,
    t: &Target<'_>,
    (current, before): (&storage::KeyValue, &Value),
    mut next: Value,
    ownership: Ownership,
    out: Output,
) -> Result<Response, ApiError> {
    crate::registry::generic::deletion::check_update(t.def, before, &next, t.name)?;
    let mut reserved = None;
    if t.part == Part::Main {
        t.strategy.prepare(&mut next);
        // As on create: the fields as the client sent them, before the server assigns any
        // or admission mutates the object.
        if ownership == Ownership::Update {
            record_fields(t, before, &mut next);
        }
        t.strategy
            .assign(server, t.def, t.user, &mut next, Some(before))
            .await?;
    }
    let attributes = t.admission(Operation::Update, Some(before));
    let mut warnings = admission::mutate(server, &attributes, &mut next)
        .await?
        .warnings;
    if t.part == Part::Main {
        validate(t.def, t.strategy, &next, Some(before))?;
        let writer = strategy::Writer {
            server,
            user: t.user,
        };
        t.strategy.resolve(&writer, &mut next, Some(before)).await?;
        reserved = t
            .strategy
            .reserve(server, &mut next, Some(before), t.dry_run)
            .await?;
    }
    if t.part == Part::Status {
        t.strategy.prepare_status(&mut next, before);
        t.strategy
            .assign_status(server, t.def, &mut next, before)
            .await?;
    }
    if t.part == Part::Approval {
        t.strategy.assign_approval(t.def, &mut next, before)?;
    }
    if ownership == Ownership::Update && t.part != Part::Main {
        // A subresource's fields once its strategy has put back what it may not change.
        record_fields(t, before, &mut next);
    }
    warnings.extend(
        admission::validate(server, &attributes, &next)
            .await?
            .warnings,
    );
    let warn = |response| crate::registry::decode::field_validation::warn(response, &warnings);
    let respond = |next: Value| warn(out.respond(StatusCode::OK, t.def, view(t, next)));
    if t.dry_run {
        object::set_resource_version(&mut next, current.mod_revision);
        return Ok(respond(next));
    }
    if crate::registry::generic::deletion::finished(t.def, &next) {
        server
            .store
            .delete(&current.key, Some(current.mod_revision))
            .await
            .map_err(|e| from_storage(e, target(t.def, t.name)))?;
        t.strategy.released(server, before).await;
        object::set_resource_version(&mut next, current.mod_revision);
        return Ok(respond(next));
    }
    let stored = conversion::encode(server, t.def, &next).await?;
    let kv = server
        .store
        .update(&current.key, stored.clone(), current.mod_revision)
        .await
        .map_err(|e| from_storage(e, target(t.def, t.name)))?;
    strategy::keep(reserved).await;
    if let Part::Scale(_) = t.part {
        object::set_resource_version(&mut next, kv.mod_revision);
        return Ok(respond(next));
    }
    Ok(warn(out.written(
        StatusCode::OK,
        t.def,
        next,
        &stored,
        kv.mod_revision,
    )))
}

/// Records the update's field ownership in `next`, unless the client changed managedFields
/// itself (to reset or migrate them): then it is obeyed.
fn record_fields(t: &Target<'_>, before: &Value, next: &mut Value) {
    if has_managed_fields(next)
        && next["metadata"]["managedFields"] != before["metadata"]["managedFields"]
    {
        return;
    }
    if let (Some(meta), Some(fields)) = (
        next["metadata"].as_object_mut(),
        before["metadata"].get("managedFields"),
    ) {
        meta.insert("managedFields".into(), fields.clone());
    }
    let subresource = match t.part {
        Part::Status => "status",
        Part::Scale(_) => "scale",
        Part::Approval => "approval",
        _ => "",
    };
    crate::managed_fields::record_update(
        t.def,
        Some(before),
        next,
        &t.manager,
        subresource,
        &object::now(),
    );
}
