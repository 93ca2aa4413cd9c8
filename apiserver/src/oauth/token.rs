//! `POST /oauth/token`: exchanges an authorization code for an access token (RFC 6749
//! §4.1.3), checking the client, its secret or the PKCE verifier, the redirect URI and the
//! code's age; a code is used once.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::tokens;
use crate::ApiServer;
use crate::registry::object;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    pub grant_type: String,
    pub code: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub client_secret: String,
    pub code_verifier: String,
}

/// An access token issued for a code.
pub struct Issued {
    pub token: String,
    pub expires_in: i64,
    pub scopes: Vec<String>,
}

/// An RFC 6749 refusal: status, error code and description.
pub struct Refusal(StatusCode, &'static str, &'static str);

impl Refusal {
    pub fn description(&self) -> &'static str {
        self.2
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error": self.1, "error_description": self.2}).to_string(),
        )
            .into_response()
    }
}

pub async fn token(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    Form(mut p): Form<Params>,
) -> Response {
    // Client credentials may come as HTTP Basic instead of form fields.
    if let Some((id, secret)) = super::basic_credentials(&headers) {
        p.client_id = id;
        p.client_secret = secret;
    }
    match exchange(&server, &p).await {
        Ok(Ok(issued)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            json!({"access_token": issued.token, "token_type": "Bearer",
                "expires_in": issued.expires_in, "scope": issued.scopes.join(" ")})
            .to_string(),
        )
            .into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn get(
    server: &ApiServer,
    plural: &str,
    name: &str,
) -> Result<Option<(Value, u64)>, crate::error::ApiError> {
    let def = server
        .scheme
        .lookup("oauth.openshift.io", "v1", plural)
        .ok_or(crate::error::ApiError::PathNotFound)?;
    let (found, _) = server
        .store
        .get(&def.key(None, name), None)
        .await
        .map_err(|e| crate::error::from_storage(e, object::target(def, name)))?;
    found
        .map(|kv| object::from_store(&kv).map(|v| (v, kv.mod_revision)))
        .transpose()
}

/// Whether the PKCE verifier matches the challenge stored with the code.
fn pkce_ok(code: &Value, verifier: &str) -> bool {
    let challenge = code["codeChallenge"].as_str().unwrap_or_default();
    if challenge.is_empty() {
        return true;
    }
    match code["codeChallengeMethod"].as_str().unwrap_or("plain") {
        "S256" => URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == challenge,
        _ => verifier == challenge,
    }
}

const UNAUTHORIZED_CLIENT: Refusal = Refusal(
    StatusCode::UNAUTHORIZED,
    "unauthorized_client",
    "The client is not authorized to request a token using this method.",
);

/// Exchanges a code for an access token.
pub async fn exchange(
    server: &ApiServer,
    p: &Params,
) -> Result<Result<Issued, Refusal>, crate::error::ApiError> {
    if p.grant_type != "authorization_code" {
        return Ok(Err(Refusal(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )));
    }
    let invalid_grant = || {
        Ok(Err(Refusal(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )))
    };
    let Some((client, _)) = get(server, "oauthclients", &p.client_id).await? else {
        return Ok(Err(UNAUTHORIZED_CLIENT));
    };
    let secret = client["secret"].as_str().unwrap_or_default();
    if !secret.is_empty() && secret != p.client_secret {
        return Ok(Err(UNAUTHORIZED_CLIENT));
    }
    let Some((code, revision)) = get(server, "oauthauthorizetokens", &p.code).await? else {
        return invalid_grant();
    };
    let now = jiff::Timestamp::now().as_second();
    let redirect = code["redirectURI"].as_str().unwrap_or_default();
    if tokens::expired(&code, now)
        || code["clientName"].as_str() != Some(p.client_id.as_str())
        || (!p.redirect_uri.is_empty() && p.redirect_uri != redirect)
        || !pkce_ok(&code, &p.code_verifier)
    {
        return invalid_grant();
    }
    // Single use: whoever deletes the code first gets the token.
    let def = server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthauthorizetokens")
        .ok_or(crate::error::ApiError::PathNotFound)?;
    if server
        .store
        .delete(&def.key(None, &p.code), Some(revision))
        .await
        .is_err()
    {
        return invalid_grant();
    }
    let user = (
        code["userName"].as_str().unwrap_or_default().to_string(),
        code["userUID"].as_str().unwrap_or_default().to_string(),
    );
    let scopes: Vec<String> = code["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    let (token, expires_in) =
        tokens::issue_access_token(server, &client, &user, &scopes, redirect, Some(&p.code))
            .await?;
    Ok(Ok(Issued {
        token,
        expires_in,
        scopes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce() {
        // RFC 7636 appendix B.
        let code = json!({"codeChallenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "codeChallengeMethod": "S256"});
        assert!(pkce_ok(
            &code,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_ok(&code, "wrong"));
        assert!(pkce_ok(&json!({}), "anything"));
        assert!(pkce_ok(
            &json!({"codeChallenge": "v", "codeChallengeMethod": "plain"}),
            "v"
        ));
    }
}
