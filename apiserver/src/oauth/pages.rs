//! The OAuth server's browser pages: the login form (`/login`), the grant approval form, the
//! token request and display pages (`/oauth/token/request`, `/oauth/token/display`, where a
//! user without `oc login`'s challenges gets a token) and `/logout`. Every form carries the
//! CSRF value of its cookie; every page is uncacheable.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::clients::{allowed_redirect, client};
use super::redirect::{redirect, with_params};
use super::session::{self, SESSION_COOKIE, SESSION_MAX_AGE};
use super::{BROWSER_CLIENT, grants, identities, no_cache, token};
use crate::ApiServer;
use crate::error::ApiError;

/// Escapes text for HTML bodies and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `body` in the common frame, setting the CSRF cookie its forms were made with
/// (`cookie`, when the request had none).
fn page(cookie: Option<HeaderValue>, code: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}\n</body></html>\n",
        escape(title)
    );
    let mut response = (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    no_cache(&mut response);
    response
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
        escape(value)
    )
}

/// Whether `then` is a path on this server (no open redirects to other sites).
fn local(then: &str) -> bool {
    then.starts_with('/') && !then.starts_with("//") && !then.contains('\\')
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    then: String,
}

fn login_page(headers: &HeaderMap, code: StatusCode, then: &str, error: Option<&str>) -> Response {
    let (csrf, cookie) = session::csrf_token(headers);
    let error = error
        .map(|e| format!("<p class=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in to your account</h1>\n{error}<form method=\"post\" action=\"/login\">\n{}\n{}\n\
         <label>Username <input type=\"text\" name=\"username\" autofocus></label>\n\
         <label>Password <input type=\"password\" name=\"password\"></label>\n\
         <button type=\"submit\">Log in</button>\n</form>",
        hidden("then", then),
        hidden("csrf", &csrf)
    );
    page(cookie, code, "Login", &body)
}

/// `GET /login`: the login form.
pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    login_page(&headers, StatusCode::OK, &q.then, None)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    then: String,
    csrf: String,
}

/// `POST /login`: checks the credentials with the providers that offer a login page, starts a
/// session and goes on to `then`.
pub async fn login(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(config) = &server.oauth else {
        return ApiError::PathNotFound.into_response();
    };
    if !session::csrf_matches(&headers, &form.csrf) {
        return login_page(
            &headers,
            StatusCode::FORBIDDEN,
            &form.then,
            Some("Could not check CSRF token. Please try again."),
        );
    }
    let provider = config.authenticate(|p| p.login, &form.username, &form.password);
    server.metrics.password_attempt(true, provider.is_some());
    let Some(provider) = provider else {
        return login_page(
            &headers,
            StatusCode::UNAUTHORIZED,
            &form.then,
            Some("Invalid login or password. Please try again."),
        );
    };
    let user = match identities::user_for(&server, provider, &form.username).await {
        Ok(user) => user,
        Err(e) => {
            return login_page(
                &headers,
                StatusCode::FORBIDDEN,
                &form.then,
                Some(&e.status().message),
            );
        }
    };
    let expires = jiff::Timestamp::now().as_second() + SESSION_MAX_AGE;
    let then = match form.then.as_str() {
        t if local(t) => t,
        _ => "/oauth/token/request",
    };
    let mut response = redirect(then);
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            SESSION_COOKIE,
            &config.session_key.seal(&user, expires),
            SESSION_MAX_AGE,
        ),
    );
    no_cache(&mut response);
    response
}

/// `GET|POST /logout`: ends the browser session, then goes to `then` if it is local.
pub async fn logout(Query(q): Query<LoginQuery>) -> Response {
    let mut response = match local(&q.then) {
        true => redirect(&q.then),
        false => page(
            None,
            StatusCode::OK,
            "Logged out",
            "<h1>You have logged out</h1>\n<p><a href=\"/oauth/token/request\">Log in again</a></p>",
        ),
    };
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, "", 0),
    );
    no_cache(&mut response);
    response
}

/// `GET /oauth/token/request`: starts the browser client's code flow, which ends on the
/// display page.
pub async fn token_request() -> Response {
    let mut response = redirect(&with_params(
        "/oauth/authorize",
        '?',
        &[("client_id", BROWSER_CLIENT), ("response_type", "code")],
    ));
    no_cache(&mut response);
    response
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisplayQuery {
    code: String,
    error: String,
    error_description: String,
    csrf: String,
}

/// `GET /oauth/token/display?code=...`: a button that exchanges the code (a page load alone
/// must not spend it: link previews and prefetches would).
pub async fn token_display(headers: HeaderMap, Query(q): Query<DisplayQuery>) -> Response {
    if !q.error.is_empty() || q.code.is_empty() {
        let message = match q.error_description.as_str() {
            "" if q.error.is_empty() => "No code was given.".to_string(),
            "" => q.error.clone(),
            d => d.to_string(),
        };
        return page(
            None,
            StatusCode::BAD_REQUEST,
            "Error",
            &format!(
                "<h1>Error</h1>\n<p>{}</p>\n<p><a href=\"/oauth/token/request\">Request another token</a></p>",
                escape(&message)
            ),
        );
    }
    let (csrf, cookie) = session::csrf_token(&headers);
    let body = format!(
        "<form method=\"post\" action=\"/oauth/token/display\">\n{}\n{}\n<button type=\"submit\">Display Token</button>\n</form>",
        hidden("code", &q.code),
        hidden("csrf", &csrf)
    );
    page(cookie, StatusCode::OK, "Display Token", &body)
}

/// `POST /oauth/token/display`: exchanges the code as the browser client and shows the token
/// with the commands that use it.
pub async fn token_display_post(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    Form(q): Form<DisplayQuery>,
) -> Response {
    match display(&server, &headers, &q).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn display(
    server: &ApiServer,
    headers: &HeaderMap,
    q: &DisplayQuery,
) -> Result<Response, ApiError> {
    let config = server.oauth.as_ref().ok_or(ApiError::PathNotFound)?;
    let error = |message: &str| {
        page(
            None,
            StatusCode::BAD_REQUEST,
            "Error",
            &format!(
                "<h1>Error</h1>\n<p>{}</p>\n<p><a href=\"/oauth/token/request\">Request another token</a></p>",
                escape(message)
            ),
        )
    };
    if !session::csrf_matches(headers, &q.csrf) {
        return Ok(error("Could not check CSRF token. Please try again."));
    }
    let def = server
        .scheme
        .lookup("oauth.openshift.io", "v1", "oauthclients")
        .ok_or(ApiError::PathNotFound)?;
    let client = server
        .get_object(def, None, BROWSER_CLIENT)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!("the OAuth client {BROWSER_CLIENT} is missing"))
        })?;
    let params = token::Params {
        grant_type: "authorization_code".into(),
        code: q.code.clone(),
        redirect_uri: format!("{}/oauth/token/display", config.issuer),
        client_id: BROWSER_CLIENT.into(),
        client_secret: client["secret"].as_str().unwrap_or_default().to_string(),
        code_verifier: String::new(),
    };
    let issued = match token::exchange(server, &params).await? {
        Ok(issued) => issued,
        Err(refusal) => return Ok(error(refusal.description())),
    };
    let (token, api) = (escape(&issued.token), escape(&config.issuer));
    let body = format!(
        "<h2>Your API token is</h2>\n<code id=\"token\">{token}</code>\n\
         <h2>Log in with this token</h2>\n<pre>oc login --token={token} --server={api}</pre>\n\
         <h3>Use this token directly against the API</h3>\n\
         <pre>curl -H \"Authorization: Bearer {token}\" \"{api}/apis/user.openshift.io/v1/users/~\"</pre>\n\
         <p><a href=\"/oauth/token/request\">Request another token</a></p>\n\
         <form method=\"post\" action=\"/logout?then=/oauth/token/request\"><button type=\"submit\">Logout</button></form>"
    );
    Ok(page(None, StatusCode::OK, "Display Token", &body))
}

/// The grant approval form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Approval {
    pub then: String,
    pub client_id: String,
    pub scope: String,
    pub redirect_uri: String,
    pub state: String,
    pub csrf: String,
    /// `approve` or `deny`: the button pressed.
    pub approve: String,
}

/// The page asking `user` to let a client have the scopes it asks for.
pub fn approval(headers: &HeaderMap, a: &Approval, user: &str) -> Response {
    let (csrf, cookie) = session::csrf_token(headers);
    let scopes: String = a
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let body = format!(
        "<h1>Authorize Access</h1>\n<p>Service account or client <b>{}</b> is requesting permission to access your account (<b>{}</b>):</p>\n<ul>{scopes}</ul>\n\
         <form method=\"post\" action=\"/oauth/authorize/approve\">\n{}{}{}{}{}{}\n\
         <button type=\"submit\" name=\"approve\" value=\"approve\">Allow selected permissions</button>\n\
         <button type=\"submit\" name=\"approve\" value=\"deny\">Deny</button>\n</form>",
        escape(&a.client_id),
        escape(user),
        hidden("then", &a.then),
        hidden("client_id", &a.client_id),
        hidden("scope", &a.scope),
        hidden("redirect_uri", &a.redirect_uri),
        hidden("state", &a.state),
        hidden("csrf", &csrf),
    );
    page(cookie, StatusCode::OK, "Authorize Access", &body)
}

/// `POST /oauth/authorize/approve`: records the grant of the signed-in user and goes back to
/// the authorization, or tells the client it was denied.
pub async fn approve(
    State(server): State<Arc<ApiServer>>,
    headers: HeaderMap,
    Form(a): Form<Approval>,
) -> Response {
    let Some(config) = &server.oauth else {
        return ApiError::PathNotFound.into_response();
    };
    let user = session::cookie(&headers, SESSION_COOKIE).and_then(|v| {
        config
            .session_key
            .open(v, jiff::Timestamp::now().as_second())
    });
    let (Some(user), true) = (user, session::csrf_matches(&headers, &a.csrf)) else {
        return page(
            None,
            StatusCode::FORBIDDEN,
            "Error",
            "<h1>Error</h1>\n<p>Your session has expired. Please log in again.</p>",
        );
    };
    let client = match client(&server, &a.client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return ApiError::BadRequest("unknown client".into()).into_response(),
        Err(e) => return e.into_response(),
    };
    if !allowed_redirect(&client, &a.redirect_uri) {
        return ApiError::BadRequest("the redirect URI is not registered for this client".into())
            .into_response();
    }
    if a.approve != "approve" {
        let mut response = redirect(&with_params(
            &a.redirect_uri,
            '?',
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The resource owner or authorization server denied the request.",
                ),
                ("state", &a.state),
            ],
        ));
        no_cache(&mut response);
        return response;
    }
    if !local(&a.then) || !a.then.starts_with("/oauth/authorize") {
        return ApiError::BadRequest("then must be this server's authorize URL".into())
            .into_response();
    }
    let scopes: Vec<String> = a.scope.split_whitespace().map(str::to_string).collect();
    if let Err(e) = grants::record(&server, &a.client_id, &user, &scopes).await {
        return e.into_response();
    }
    let mut response = redirect(&a.then);
    no_cache(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_local_paths() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(local("/oauth/authorize?client_id=x"));
        assert!(!local("//evil.example/"));
        assert!(!local("https://evil.example/"));
        assert!(!local("/\\evil"));
    }
}
