//! Identity to user mapping (`claim`, the default method): a provider's user becomes the
//! User of the same name, with an Identity `<provider>:<user>` pointing at it. A login whose
//! identity is new but whose user name is taken by another identity's user fails.

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;
use crate::object;

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

/// The user (name, uid) a provider's user logs in as, created on first login.
pub async fn user_for(
    server: &ApiServer,
    provider: &str,
    provider_user: &str,
) -> Result<(String, String), ApiError> {
    let identity_name = format!("{provider}:{provider_user}");
    if let Some(identity) = get(server, "identities", &identity_name).await? {
        let name = identity["user"]["name"].as_str().unwrap_or_default();
        let user = get(server, "users", name).await?.ok_or_else(|| {
            ApiError::Internal(format!("identity {identity_name} maps to a missing user"))
        })?;
        return Ok((name.to_string(), object::meta_str(&user, "uid").to_string()));
    }
    let user = match get(server, "users", provider_user).await? {
        Some(user) => {
            let claimed = user["identities"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i == &json!(identity_name)));
            if !claimed {
                return Err(ApiError::Forbidden {
                    target: Default::default(),
                    message: format!(
                        "user {provider_user:?} already exists and is not mapped to identity {identity_name:?}"
                    ),
                });
            }
            user
        }
        None => {
            create(
                server,
                "users",
                json!({"apiVersion": "user.openshift.io/v1", "kind": "User",
                    "metadata": {"name": provider_user}, "identities": [identity_name]}),
            )
            .await?
        }
    };
    let uid = object::meta_str(&user, "uid").to_string();
    let identity = json!({"apiVersion": "user.openshift.io/v1", "kind": "Identity",
        "metadata": {"name": identity_name},
        "providerName": provider, "providerUserName": provider_user,
        "user": {"name": provider_user, "uid": uid}});
    match create(server, "identities", identity).await {
        // A concurrent first login of the same user created it.
        Ok(_) | Err(ApiError::AlreadyExists(_)) => {}
        Err(e) => return Err(e),
    }
    Ok((provider_user.to_string(), uid))
}
