//! `users/~`: the caller as a User (`oc whoami`). A user known to the OAuth server is its
//! stored User, with its groups; any other (a certificate, a service account) is described
//! from its credentials.

use serde_json::{Value, json};

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;

pub async fn current(server: &ApiServer, user: &User) -> Result<Value, ApiError> {
    let def = server
        .scheme
        .lookup("user.openshift.io", "v1", "users")
        .ok_or(ApiError::PathNotFound)?;
    let found = server.get_object(def, None, &user.name).await?;
    let mut groups: Vec<String> = user
        .groups
        .iter()
        .filter(|g| !g.starts_with("system:authenticated"))
        .cloned()
        .collect();
    groups.extend(crate::authn::authentication::groups_of(server, &user.name).await);
    groups.sort();
    groups.dedup();
    Ok(match found {
        Some(mut stored) => {
            stored["groups"] = json!(groups);
            stored
        }
        None => json!({
            "kind": "User",
            "apiVersion": "user.openshift.io/v1",
            "metadata": {"name": user.name, "creationTimestamp": null},
            "identities": null,
            "groups": groups,
        }),
    })
}
