//! Identity to user mapping. A provider's user is the Identity `<provider>:<user>`; an
//! identity mapped to a User logs in as that user, an identity that exists unmapped cannot log
//! in, and a new identity is mapped by the provider's method: `claim` (the User of the same
//! name, unless another identity holds it), `add` (joins that User), `generate` (the first
//! free name of `name`, `name2`, ...) or `lookup` (never: an administrator maps it).

use serde_json::{Value, json};

use super::providers::{IdentityProvider, MappingMethod};
use crate::ApiServer;
use crate::error::ApiError;
use crate::registry::object;

fn def<'a>(server: &'a ApiServer, plural: &str) -> Result<&'a api::ResourceDef, ApiError> {
    server
        .scheme
        .lookup("user.openshift.io", "v1", plural)
        .ok_or(ApiError::PathNotFound)
}

async fn get(server: &ApiServer, plural: &str, name: &str) -> Result<Option<Value>, ApiError> {
    server.get_object(def(server, plural)?, None, name).await
}

async fn create(server: &ApiServer, plural: &str, obj: Value) -> Result<Value, ApiError> {
    server.create_object(def(server, plural)?, obj).await
}

/// The user of a session (name, uid), if it still exists as it was.
pub async fn current(
    server: &ApiServer,
    user: &(String, String),
) -> Result<Option<(String, String)>, ApiError> {
    Ok(get(server, "users", &user.0)
        .await?
        .filter(|u| object::meta_str(u, "uid") == user.1)
        .map(|_| user.clone()))
}

fn refused(message: String) -> ApiError {
    ApiError::Forbidden {
        target: Default::default(),
        message,
    }
}

fn lists(user: &Value, identity: &str) -> bool {
    user["identities"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|i| i == identity))
}

/// The user (name, uid) a provider's user logs in as, following the provider's mapping
/// method.
pub async fn user_for(
    server: &ApiServer,
    provider: &IdentityProvider,
    provider_user: &str,
) -> Result<(String, String), ApiError> {
    let identity_name = format!("{}:{provider_user}", provider.name);
    if let Some(identity) = get(server, "identities", &identity_name).await? {
        let name = identity["user"]["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            return Err(refused(format!(
                "identity {identity_name:?} is not mapped to a user"
            )));
        }
        let user = get(server, "users", name).await?;
        return match user {
            Some(user) if object::meta_str(&user, "uid") == identity["user"]["uid"] => {
                Ok((name.to_string(), object::meta_str(&user, "uid").to_string()))
            }
            _ => Err(refused(format!(
                "identity {identity_name:?} is mapped to a user that no longer exists"
            ))),
        };
    }
    let user = match provider.mapping {
        MappingMethod::Lookup => {
            return Err(refused(format!(
                "identity {identity_name:?} is not mapped to a user (the provider maps by lookup)"
            )));
        }
        MappingMethod::Claim => match get(server, "users", provider_user).await? {
            Some(user) if lists(&user, &identity_name) => user,
            Some(_) => {
                return Err(refused(format!(
                    "user {provider_user:?} already exists and is not mapped to identity {identity_name:?}"
                )));
            }
            None => new_user(server, provider_user, &identity_name).await?,
        },
        MappingMethod::Add => match get(server, "users", provider_user).await? {
            Some(user) if lists(&user, &identity_name) => user,
            Some(mut user) => {
                let mut ids = user["identities"].as_array().cloned().unwrap_or_default();
                ids.push(json!(identity_name));
                user["identities"] = json!(ids);
                server.update_object(def(server, "users")?, user).await?
            }
            None => new_user(server, provider_user, &identity_name).await?,
        },
        MappingMethod::Generate => {
            let mut found = None;
            for n in 1..=100 {
                let candidate = match n {
                    1 => provider_user.to_string(),
                    n => format!("{provider_user}{n}"),
                };
                match get(server, "users", &candidate).await? {
                    Some(user) if lists(&user, &identity_name) => found = Some(user),
                    Some(_) => continue,
                    None => found = Some(new_user(server, &candidate, &identity_name).await?),
                }
                break;
            }
            found.ok_or_else(|| {
                refused(format!("no free user name for identity {identity_name:?}"))
            })?
        }
    };
    let name = object::meta_str(&user, "name").to_string();
    let uid = object::meta_str(&user, "uid").to_string();
    let identity = json!({"apiVersion": "user.openshift.io/v1", "kind": "Identity",
        "metadata": {"name": identity_name},
        "providerName": provider.name, "providerUserName": provider_user,
        "user": {"name": name, "uid": uid}});
    match create(server, "identities", identity).await {
        // A concurrent first login of the same user created it.
        Ok(_) | Err(ApiError::AlreadyExists(_)) => {}
        Err(e) => return Err(e),
    }
    Ok((name, uid))
}

async fn new_user(server: &ApiServer, name: &str, identity: &str) -> Result<Value, ApiError> {
    let user = json!({"apiVersion": "user.openshift.io/v1", "kind": "User",
        "metadata": {"name": name}, "identities": [identity]});
    match create(server, "users", user).await {
        // A concurrent first login created it: use that one if it lists this identity.
        Err(ApiError::AlreadyExists(_)) => match get(server, "users", name).await? {
            Some(user) if lists(&user, identity) => Ok(user),
            _ => Err(refused(format!(
                "user {name:?} already exists and is not mapped to identity {identity:?}"
            ))),
        },
        other => other,
    }
}
