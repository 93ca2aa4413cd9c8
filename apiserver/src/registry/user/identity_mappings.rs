//! `useridentitymappings`: the link between an Identity and a User, seen as an object of its
//! own but stored in the two it links (`Identity.user`, `User.identities`). Creating one maps
//! an unmapped identity (how identities of a `lookup` provider are let in), updating one moves
//! the identity to another user, deleting one unmaps it. The mapping is named like its
//! identity and carries its uid and resourceVersion.

use api::scheme::ResourceDef;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::registry::object;
use crate::registry::response::Output;

fn def<'a>(server: &'a ApiServer, plural: &str) -> Result<&'a ResourceDef, ApiError> {
    server
        .scheme
        .lookup("user.openshift.io", "v1", plural)
        .ok_or(ApiError::PathNotFound)
}

fn target(resource: &str, name: &str) -> Target {
    Target {
        group: "user.openshift.io".into(),
        resource: resource.into(),
        name: name.into(),
    }
}

async fn get(server: &ApiServer, plural: &str, name: &str) -> Result<Value, ApiError> {
    server
        .get_object(def(server, plural)?, None, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(target(plural, name)))
}

fn mapping(identity: &Value, user: &Value) -> Value {
    let meta = &identity["metadata"];
    json!({
        "kind": "UserIdentityMapping",
        "apiVersion": "user.openshift.io/v1",
        "metadata": {
            "name": meta["name"],
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "identity": {"name": meta["name"], "uid": meta["uid"]},
        "user": {"name": user["metadata"]["name"], "uid": user["metadata"]["uid"]},
    })
}

/// The identity `name` and the user it maps to; NotFound unless it is mapped.
async fn mapped(server: &ApiServer, name: &str) -> Result<(Value, Value), ApiError> {
    let identity = get(server, "identities", name).await?;
    let user_name = identity["user"]["name"].as_str().unwrap_or_default();
    if user_name.is_empty() {
        return Err(ApiError::NotFound(target("useridentitymappings", name)));
    }
    let user = get(server, "users", user_name).await?;
    Ok((identity, user))
}

/// Adds (or removes) `identity` in the user's `identities`.
async fn set_listed(
    server: &ApiServer,
    mut user: Value,
    identity: &str,
    listed: bool,
) -> Result<Value, ApiError> {
    let mut ids: Vec<Value> = user["identities"].as_array().cloned().unwrap_or_default();
    let present = ids.iter().any(|i| i == identity);
    match (listed, present) {
        (true, false) => ids.push(json!(identity)),
        (false, true) => ids.retain(|i| i != identity),
        _ => return Ok(user),
    }
    user["identities"] = json!(ids);
    server.update_object(def(server, "users")?, user).await
}

async fn point(server: &ApiServer, mut identity: Value, user: &Value) -> Result<Value, ApiError> {
    identity["user"] = match user.is_null() {
        true => json!({}),
        false => json!({"name": user["metadata"]["name"], "uid": user["metadata"]["uid"]}),
    };
    server
        .update_object(def(server, "identities")?, identity)
        .await
}

/// The identity and user names a mapping in a request body names.
fn names(body: &Value, name: Option<&str>) -> Result<(String, String), ApiError> {
    let identity = body["identity"]["name"]
        .as_str()
        .or_else(|| body["metadata"]["name"].as_str())
        .unwrap_or_default();
    let user = body["user"]["name"].as_str().unwrap_or_default();
    let invalid = |field: &str, message: &str| ApiError::Invalid {
        kind: "UserIdentityMapping".into(),
        target: target("useridentitymappings", identity),
        causes: vec![api::status::StatusCause {
            reason: "FieldValueRequired".into(),
            message: message.into(),
            field: field.into(),
        }],
    };
    if identity.is_empty() {
        return Err(invalid("identity.name", "Required value"));
    }
    if user.is_empty() {
        return Err(invalid("user.name", "Required value"));
    }
    if let Some(name) = name
        && name != identity
    {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({identity}) does not match the name on the URL ({name})"
        )));
    }
    Ok((identity.to_string(), user.to_string()))
}

pub(crate) async fn handle(
    server: &ApiServer,
    def: &ResourceDef,
    verb: &str,
    name: &str,
    body: Option<Value>,
    out: Output,
) -> Result<Response, ApiError> {
    match verb {
        "get" => {
            let (identity, user) = mapped(server, name).await?;
            Ok(out.object(def, mapping(&identity, &user)))
        }
        "create" => {
            let body = body.ok_or(ApiError::MethodNotAllowed)?;
            let (identity_name, user_name) = names(&body, None)?;
            let identity = get(server, "identities", &identity_name).await?;
            if !identity["user"]["name"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                return Err(ApiError::AlreadyExists(target(
                    "useridentitymappings",
                    &identity_name,
                )));
            }
            let user = get(server, "users", &user_name).await?;
            let user = set_listed(server, user, &identity_name, true).await?;
            let identity = point(server, identity, &user).await?;
            Ok(out.respond(StatusCode::CREATED, def, mapping(&identity, &user)))
        }
        "update" => {
            let body = body.ok_or(ApiError::MethodNotAllowed)?;
            let (identity_name, user_name) = names(&body, Some(name))?;
            let (identity, old_user) = mapped(server, &identity_name).await?;
            let wanted = object::meta_str(&body, "resourceVersion");
            if !wanted.is_empty() && wanted != object::meta_str(&identity, "resourceVersion") {
                return Err(ApiError::Conflict(target(
                    "useridentitymappings",
                    &identity_name,
                )));
            }
            if object::meta_str(&old_user, "name") == user_name {
                return Ok(out.object(def, mapping(&identity, &old_user)));
            }
            let user = get(server, "users", &user_name).await?;
            let user = set_listed(server, user, &identity_name, true).await?;
            let identity = point(server, identity, &user).await?;
            set_listed(server, old_user, &identity_name, false).await?;
            Ok(out.object(def, mapping(&identity, &user)))
        }
        "delete" => {
            let (identity, user) = mapped(server, name).await?;
            let uid = object::meta_str(&identity, "uid").to_string();
            point(server, identity, &Value::Null).await?;
            set_listed(server, user, name, false).await?;
            Ok(out.respond(
                StatusCode::OK,
                def,
                crate::registry::response::deleted(def, name, &uid),
            ))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
