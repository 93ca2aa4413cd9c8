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

/// A user's access token for `client`: stored (hashed), and returned as the client holds it.
pub async fn issue_access_token(
    server: &ApiServer,
    client: &str,
    user: &(String, String),
    scopes: &[String],
    redirect_uri: &str,
    authorize_token: Option<&str>,
    max_age: i64,
) -> Result<String, ApiError> {
    let token = format!("{PREFIX}{}", random_token());
    let name = object_name(&token).ok_or_else(|| ApiError::Internal("token name".into()))?;
    let mut obj = json!({
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthAccessToken",
        "metadata": {"name": name},
        "clientName": client,
        "expiresIn": max_age,
        "scopes": scopes,
        "redirectURI": redirect_uri,
        "userName": user.0,
        "userUID": user.1,
    });
    if let Some(code) = authorize_token {
        obj["authorizeToken"] = json!(code);
    }
    create(server, "oauthaccesstokens", obj).await?;
    Ok(token)
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
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second());
    created + lifetime <= now
}

#[cfg(test)]
mod tests {
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
