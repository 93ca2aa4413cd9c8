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
use crate::object;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    client_secret: String,
    code_verifier: String,
}

fn oauth_error(code: StatusCode, error: &str, description: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

pub async fn token(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    Form(mut p): Form<Params>,
) -> Response {
    // Client credentials may come as HTTP Basic instead of form fields.
    if let Some((id, secret)) = basic(&headers) {
        p.client_id = id;
        p.client_secret = secret;
    }
    match exchange(&server, &p).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?.trim())
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
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

async fn exchange(server: &ApiServer, p: &Params) -> Result<Response, crate::error::ApiError> {
    let Some(config) = &server.oauth else {
        return Err(crate::error::ApiError::PathNotFound);
    };
    if p.grant_type != "authorization_code" {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        ));
    }
    let invalid_grant = || {
        Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        ))
    };
    let Some((client, _)) = get(server, "oauthclients", &p.client_id).await? else {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "The client is not authorized to request a token using this method.",
        ));
    };
    let secret = client["secret"].as_str().unwrap_or_default();
    if !secret.is_empty() && secret != p.client_secret {
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "The client is not authorized to request a token using this method.",
        ));
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
    let token = tokens::issue_access_token(
        server,
        &p.client_id,
        &user,
        &scopes,
        redirect,
        Some(&p.code),
        config.token_max_age(&client),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({"access_token": token, "token_type": "Bearer",
            "expires_in": config.token_max_age(&client), "scope": scopes.join(" ")})
        .to_string(),
    )
        .into_response())
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
