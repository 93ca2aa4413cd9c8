//! OAuth tokens: random values handed to clients, stored only as hashes. A client holds
//! `sha256~<43 base64url characters>`; the `OAuthAccessToken` is named `sha256~` followed by
//! the base64url SHA-256 of those characters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;

use crate::ApiServer;
use crate::error::ApiError;

pub const PREFIX: &str = "sha256~";

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The name of the object that stands for the token a client holds.
pub fn object_name(token: &str) -> Option<String> {
    let secret = token.strip_prefix(PREFIX)?;
    Some(format!(
        "{PREFIX}{}",
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(secret.as_bytes()))
    ))
}

/// A user's access token for `client` (an OAuthClient): stored (hashed), with the client's
/// lifetime and inactivity timeout, and returned as the client holds it with its lifetime.
pub async fn issue_access_token(
    server: &ApiServer,
    client: &Value,
    user: &(String, String),
    scopes: &[String],
    redirect_uri: &str,
    authorize_token: Option<&str>,
) -> Result<(String, i64), ApiError> {
    let config = server.oauth.as_ref().ok_or(ApiError::PathNotFound)?;
    let max_age = config.token_max_age(client);
    let token = format!("{PREFIX}{}", random_token());
    let name = object_name(&token).ok_or_else(|| ApiError::Internal("token name".into()))?;
    let mut obj = json!({
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthAccessToken",
        "metadata": {"name": name},
        "clientName": crate::registry::object::meta_str(client, "name"),
        "expiresIn": max_age,
        "scopes": scopes,
        "redirectURI": redirect_uri,
        "userName": user.0,
        "userUID": user.1,
    });
    if let Some(code) = authorize_token {
        obj["authorizeToken"] = json!(code);
    }
    let timeout = config.inactivity_timeout(client);
    if timeout > 0 {
        obj["inactivityTimeoutSeconds"] = json!(timeout);
    }
    create(server, "oauthaccesstokens", obj).await?;
    Ok((token, max_age))
}

/// Stores a new cluster-scoped OAuth object.
pub async fn create(server: &ApiServer, plural: &str, obj: Value) -> Result<(), ApiError> {
    let def = server
        .scheme
        .lookup("oauth.openshift.io", "v1", plural)
        .ok_or(ApiError::PathNotFound)?;
    server.create_object(def, obj).await.map(drop)
}

/// Whether an object with `creationTimestamp` and `expiresIn` (seconds; 0 = never) has
/// expired at `now`.
pub fn expired(obj: &Value, now: i64) -> bool {
    let lifetime = obj["expiresIn"].as_i64().unwrap_or(0);
    if lifetime <= 0 {
        return false;
    }
    created(obj) + lifetime <= now
}

fn created(obj: &Value) -> i64 {
    obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

/// When a token with an inactivity timeout stops working unless it is used: its creation
/// plus `inactivityTimeoutSeconds`, which each use pushes forward.
pub fn inactive_at(obj: &Value) -> Option<i64> {
    let seconds = obj["inactivityTimeoutSeconds"]
        .as_i64()
        .filter(|s| *s > 0)?;
    Some(created(obj) + seconds)
}

/// The `inactivityTimeoutSeconds` a token used at `now` should get, if its deadline is due to
/// move: only once a tenth of the timeout has passed since it last moved, so that a busy
/// token is written at most every few minutes, not on every request.
pub fn extended_timeout(obj: &Value, timeout: i64, now: i64) -> Option<i64> {
    let deadline = inactive_at(obj)?;
    let wanted = now + timeout;
    (wanted - deadline >= (timeout / 10).max(1)).then(|| wanted - created(obj))
}

/// Records that the token `name` was used at `now`, moving its inactivity deadline. A
/// concurrent use that moved it first wins; losing that race changes nothing.
pub async fn touch(server: &ApiServer, name: &str, timeout: i64, now: i64) {
    let Some(def) = server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthaccesstokens")
    else {
        return;
    };
    let Ok(Some(mut obj)) = server.get_object(def, None, name).await else {
        return;
    };
    if let Some(seconds) = extended_timeout(&obj, timeout, now) {
        obj["inactivityTimeoutSeconds"] = json!(seconds);
        if let Err(e) = server.update_object(def, obj).await
            && !matches!(e, ApiError::Conflict(_) | ApiError::NotFound(_))
        {
            tracing::warn!(error = %e, "recording the use of an access token failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn inactivity() {
        let created = 1_704_067_200;
        let obj = json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"},
            "inactivityTimeoutSeconds": 300});
        assert_eq!(inactive_at(&obj), Some(created + 300));
        assert_eq!(inactive_at(&json!({"inactivityTimeoutSeconds": 0})), None);
        // Used at once: the deadline is where it was.
        assert_eq!(extended_timeout(&obj, 300, created + 10), None);
        // Used after a tenth of the timeout: pushed to a full timeout from now.
        assert_eq!(extended_timeout(&obj, 300, created + 30), Some(330));
    }

    use super::*;

    #[test]
    fn tokens_and_their_names() {
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token());
        let name = object_name(&format!("{PREFIX}{t}")).unwrap();
        assert!(name.starts_with(PREFIX) && name.len() == PREFIX.len() + 43);
        assert!(!name.contains(&t));
        assert_eq!(object_name("no-prefix"), None);
    }

    #[test]
    fn expiry() {
        let obj =
            json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}, "expiresIn": 60});
        let created = 1_704_067_200;
        assert!(!expired(&obj, created + 59));
        assert!(expired(&obj, created + 60));
        let forever =
            json!({"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z"}, "expiresIn": 0});
        assert!(!expired(&forever, created + 1_000_000_000));
    }
}
