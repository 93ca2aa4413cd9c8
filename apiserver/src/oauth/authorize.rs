//! `GET /oauth/authorize`: authenticates the user (a browser session from the login form, or
//! Basic credentials checked by the identity providers that answer challenges; a challenging
//! client without them gets a `WWW-Authenticate` challenge once it proves it is not a browser
//! with `X-CSRF-Token`, a browser goes to the login form), checks that the user has granted the
//! client the requested scopes, then redirects to the client with an authorization code
//! (`response_type=code`, PKCE supported) or an access token in the fragment
//! (`response_type=token`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::clients::{allowed_redirect, client};
use super::pages::{Approval, approval};
use super::redirect::{redirect, with_params};
use super::{grants, identities, no_cache, session, tokens};
use crate::ApiServer;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    client_id: String,
    response_type: String,
    redirect_uri: String,
    scope: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

pub async fn authorize(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<Params>,
) -> Response {
    let mut response = match run(&server, &headers, &uri, &params).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    no_cache(&mut response);
    response
}

fn text(code: StatusCode, body: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// Sends a browser without a session to the login form, to come back here afterwards.
fn login_redirect(uri: &Uri) -> Response {
    redirect(&with_params("/login", '?', &[("then", &uri.to_string())]))
}

fn challenge(message: &str) -> Response {
    let mut response = text(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"openshift\""),
    );
    response
}

async fn run(
    server: &ApiServer,
    headers: &HeaderMap,
    uri: &Uri,
    p: &Params,
) -> Result<Response, ApiError> {
    let Some(config) = &server.oauth else {
        return Err(ApiError::PathNotFound);
    };
    let Some(client) = client(server, &p.client_id).await? else {
        return Ok(text(
            StatusCode::BAD_REQUEST,
            "The client is not known to this server.",
        ));
    };
    let default_redirect = client["redirectURIs"][0].as_str().unwrap_or_default();
    let redirect_uri = match p.redirect_uri.as_str() {
        "" => default_redirect.to_string(),
        uri if allowed_redirect(&client, uri) => uri.to_string(),
        _ => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "The redirect URI is not registered for this client.",
            ));
        }
    };
    let error = |code: &str, description: &str| {
        Ok(redirect(&with_params(
            &redirect_uri,
            '?',
            &[
                ("error", code),
                ("error_description", description),
                ("state", &p.state),
            ],
        )))
    };
    if !matches!(p.response_type.as_str(), "code" | "token") {
        return error(
            "unsupported_response_type",
            "The response type is not supported.",
        );
    }
    if !matches!(p.code_challenge_method.as_str(), "" | "plain" | "S256") {
        return error(
            "invalid_request",
            "The code challenge method is not supported.",
        );
    }
    let scopes: Vec<String> = match p.scope.split_whitespace().collect::<Vec<_>>() {
        s if s.is_empty() => vec!["user:full".to_string()],
        s => s.into_iter().map(str::to_string).collect(),
    };
    if let Some(bad) = scopes.iter().find(|s| !auth::scopes::valid(s)) {
        return error("invalid_scope", &format!("scope {bad:?} is not known"));
    }
    let challenging = client["respondWithChallenges"] == json!(true);
    let session = session::cookie(headers, session::SESSION_COOKIE).and_then(|v| {
        config
            .session_key
            .open(v, jiff::Timestamp::now().as_second())
    });
    let account = match (&session, super::basic_credentials(headers)) {
        (Some(user), _) => match identities::current(server, user).await? {
            Some(user) => user,
            None => return Ok(login_redirect(uri)),
        },
        (None, Some((user, password))) => {
            let provider = config.authenticate(|p| p.challenge, &user, &password);
            server.metrics.password_attempt(false, provider.is_some());
            let Some(provider) = provider else {
                return Ok(challenge("Unauthorized"));
            };
            identities::user_for(server, provider, &user).await?
        }
        (None, None) if challenging => {
            let csrf = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| !v.is_empty());
            if !csrf {
                return Ok(text(
                    StatusCode::UNAUTHORIZED,
                    "A non-empty X-CSRF-Token header is required to receive basic-auth challenges",
                ));
            }
            return Ok(challenge("Unauthorized"));
        }
        (None, None) if config.providers.iter().any(|p| p.login) => {
            return Ok(login_redirect(uri));
        }
        (None, None) => {
            return Ok(text(
                StatusCode::UNAUTHORIZED,
                "No identity provider offers a login page; log in with `oc login`.",
            ));
        }
    };
    match grants::check(
        server,
        config.grant_method(&client),
        &p.client_id,
        &account,
        &scopes,
    )
    .await?
    {
        grants::Decision::Granted => {}
        grants::Decision::Prompt if session.is_some() => {
            return Ok(approval(
                headers,
                &Approval {
                    then: uri.to_string(),
                    client_id: p.client_id.clone(),
                    scope: scopes.join(" "),
                    redirect_uri: redirect_uri.clone(),
                    state: p.state.clone(),
                    csrf: String::new(),
                    approve: String::new(),
                },
                &account.0,
            ));
        }
        grants::Decision::Prompt | grants::Decision::Denied => {
            return error(
                "access_denied",
                "The resource owner or authorization server denied the request.",
            );
        }
    }
    if p.response_type == "token" {
        let (token, expires) =
            tokens::issue_access_token(server, &client, &account, &scopes, &redirect_uri, None)
                .await?;
        let expires = expires.to_string();
        return Ok(redirect(&with_params(
            &redirect_uri,
            '#',
            &[
                ("access_token", &token),
                ("expires_in", &expires),
                ("scope", &scopes.join(" ")),
                ("token_type", "Bearer"),
                ("state", &p.state),
            ],
        )));
    }
    let code = tokens::random_token();
    tokens::create(
        server,
        "oauthauthorizetokens",
        json!({
            "apiVersion": "oauth.openshift.io/v1",
            "kind": "OAuthAuthorizeToken",
            "metadata": {"name": code},
            "clientName": p.client_id,
            "expiresIn": config.authorize_token_max_age,
            "scopes": scopes,
            "redirectURI": redirect_uri,
            "state": p.state,
            "userName": account.0,
            "userUID": account.1,
            "codeChallenge": p.code_challenge,
            "codeChallengeMethod": p.code_challenge_method,
        }),
    )
    .await?;
    Ok(redirect(&with_params(
        &redirect_uri,
        '?',
        &[("code", &code), ("state", &p.state)],
    )))
}
