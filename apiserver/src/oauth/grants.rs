//! Grants: which scopes a user has let a client have, recorded in the
//! `OAuthClientAuthorization` named `<user>:<client>`. A grant counts only for the user with
//! the uid it records, and only for the scopes it lists; when the request asks for more, the
//! client's grant method decides (`auto` records the grant, `prompt` asks the user, `deny`
//! refuses).

use serde_json::{Value, json};

use super::providers::GrantMethod;
use crate::ApiServer;
use crate::error::ApiError;

pub enum Decision {
    Granted,
    /// The user must approve the scopes (in a browser).
    Prompt,
    Denied,
}

fn def(server: &ApiServer) -> Result<&api::ResourceDef, ApiError> {
    server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthclientauthorizations")
        .ok_or(ApiError::PathNotFound)
}

pub fn name(user: &str, client: &str) -> String {
    format!("{user}:{client}")
}

fn scopes_of(obj: &Value) -> Vec<String> {
    obj["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Whether the granted scopes cover the requested ones (`user:full` covers everything).
fn covers(granted: &[String], requested: &[String]) -> bool {
    granted.iter().any(|g| g == "user:full") || requested.iter().all(|r| granted.contains(r))
}

/// Whether `user` (name, uid) has granted `client` the `scopes`, recording the grant when the
/// client's grant method is `auto`.
pub async fn check(
    server: &ApiServer,
    method: GrantMethod,
    client: &str,
    user: &(String, String),
    scopes: &[String],
) -> Result<Decision, ApiError> {
    let existing = server
        .get_object(def(server)?, None, &name(&user.0, client))
        .await?;
    if let Some(grant) = &existing
        && grant["userUID"].as_str() == Some(user.1.as_str())
        && covers(&scopes_of(grant), scopes)
    {
        return Ok(Decision::Granted);
    }
    match method {
        GrantMethod::Auto => {
            record(server, client, user, scopes).await?;
            Ok(Decision::Granted)
        }
        GrantMethod::Prompt => Ok(Decision::Prompt),
        GrantMethod::Deny => Ok(Decision::Denied),
    }
}

/// Records that `user` granted `client` the `scopes`, merged with what it granted before
/// (unless that grant was for another user of the same name).
pub async fn record(
    server: &ApiServer,
    client: &str,
    user: &(String, String),
    scopes: &[String],
) -> Result<(), ApiError> {
    let def = def(server)?;
    let name = name(&user.0, client);
    for _ in 0..5 {
        let outcome = match server.get_object(def, None, &name).await? {
            None => {
                let obj = json!({
                    "apiVersion": "oauth.openshift.io/v1",
                    "kind": "OAuthClientAuthorization",
                    "metadata": {"name": name},
                    "clientName": client,
                    "userName": user.0,
                    "userUID": user.1,
                    "scopes": scopes,
                });
                server.create_object(def, obj).await.map(drop)
            }
            Some(mut grant) => {
                let mut merged = match grant["userUID"].as_str() == Some(user.1.as_str()) {
                    true => scopes_of(&grant),
                    false => Vec::new(),
                };
                for scope in scopes {
                    if !merged.contains(scope) {
                        merged.push(scope.clone());
                    }
                }
                grant["scopes"] = json!(merged);
                grant["userUID"] = json!(user.1);
                server.update_object(def, grant).await.map(drop)
            }
        };
        match outcome {
            // Another login of the same user raced this one: merge again.
            Err(ApiError::AlreadyExists(_) | ApiError::Conflict(_)) => continue,
            other => return other,
        }
    }
    Err(ApiError::Conflict(crate::registry::object::target(
        def, &name,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(covers(
            &s(&["user:full"]),
            &s(&["user:info", "role:admin:ns"])
        ));
        assert!(covers(
            &s(&["user:info", "user:check-access"]),
            &s(&["user:info"])
        ));
        assert!(!covers(&s(&["user:info"]), &s(&["user:info", "user:full"])));
        assert!(!covers(&[], &s(&["user:info"])));
    }
}
