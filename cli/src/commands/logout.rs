//! `oc logout`: deletes the session's OAuth access token on the server (named after its
//! hash) and removes it from the kubeconfig.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest;

use super::Globals;
use crate::client::session;
use crate::error::CliError;

/// The name of the OAuthAccessToken that stands for `token`.
pub fn token_object(token: &str) -> Option<String> {
    let secret = token.strip_prefix("sha256~")?;
    Some(format!(
        "sha256~{}",
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(secret.as_bytes()))
    ))
}

pub async fn logout(g: &Globals) -> Result<(), CliError> {
    let mut config = g.kubeconfig()?;
    let session = session(&config, &g.overrides).await?;
    let token = session
        .token
        .clone()
        .ok_or_else(|| CliError::msg("You must have a token in order to logout."))?;
    let me = session.get("/apis/user.openshift.io/v1/users/~").await?;
    let name = me["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(object) = token_object(&token) {
        session
            .delete(&format!(
                "/apis/oauth.openshift.io/v1/oauthaccesstokens/{object}"
            ))
            .await?;
    }
    let user = config
        .context(&session.context)
        .and_then(|c| c["user"].as_str())
        .map(str::to_string);
    if let Some(user) = user {
        config.upsert("users", "user", &user, json!({"token": Value::Null}));
        config.save()?;
    }
    println!("Logged \"{name}\" out on \"{}\"", session.server);
    Ok(())
}
