//! The built-in OAuth server that `oc login` talks to: its metadata document, the
//! authorization endpoint (Basic challenges for the challenging client, authorization codes
//! with PKCE, implicit tokens), the token endpoint, and the mapping of a provider's identity to
//! a User. Access tokens are `sha256~` bearer tokens; only their hash is stored, as the name of
//! an `OAuthAccessToken`.

mod authorize;
mod identities;
mod token;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::ApiServer;

/// How the OAuth server is set up.
pub struct OAuthConfig {
    /// The public URL of the server (issuer; the endpoints live under it).
    pub issuer: String,
    /// The htpasswd identity provider, if configured.
    pub htpasswd: Option<auth::htpasswd::Htpasswd>,
    /// Name of the htpasswd identity provider (identities are `<provider>:<user>`).
    pub provider: String,
    /// Development only: any password logs any user in (identities `anypassword:<user>`).
    pub allow_all: bool,
    /// Seconds an access token lives (0: forever).
    pub access_token_max_age: i64,
    /// Seconds an authorization code lives.
    pub authorize_token_max_age: i64,
}

impl OAuthConfig {
    pub fn new(issuer: String, htpasswd: Option<auth::htpasswd::Htpasswd>) -> OAuthConfig {
        OAuthConfig {
            issuer,
            htpasswd,
            provider: "htpasswd".into(),
            allow_all: false,
            access_token_max_age: 86_400,
            authorize_token_max_age: 300,
        }
    }
}

impl OAuthConfig {
    /// The lifetime of tokens issued to `client`: its `accessTokenMaxAgeSeconds` if set (0:
    /// they never expire), else the server's.
    pub fn token_max_age(&self, client: &serde_json::Value) -> i64 {
        client["accessTokenMaxAgeSeconds"]
            .as_i64()
            .unwrap_or(self.access_token_max_age)
    }
}

/// The client `oc login` uses (Basic challenges; tokens delivered to `/oauth/token/implicit`).
pub const CHALLENGING_CLIENT: &str = "openshift-challenging-client";
/// The client of the browser flow (tokens displayed at `/oauth/token/display`).
pub const BROWSER_CLIENT: &str = "openshift-browser-client";

/// The OAuth clients every cluster has.
pub fn default_clients(issuer: &str) -> Vec<serde_json::Value> {
    vec![
        json!({"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient",
            "metadata": {"name": CHALLENGING_CLIENT},
            "respondWithChallenges": true,
            "redirectURIs": [format!("{issuer}/oauth/token/implicit")],
            "grantMethod": "auto"}),
        json!({"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient",
            "metadata": {"name": BROWSER_CLIENT},
            "secret": tokens::random_token(),
            "redirectURIs": [format!("{issuer}/oauth/token/display")],
            "grantMethod": "auto"}),
    ]
}

/// The OAuth routes (public: they authenticate on their own).
pub fn routes() -> Router<Arc<ApiServer>> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/oauth/authorize", get(authorize::authorize))
        .route("/oauth/token", post(token::token))
        .route("/oauth/token/implicit", get(implicit))
}

async fn metadata(axum::extract::State(server): axum::extract::State<Arc<ApiServer>>) -> Response {
    let Some(config) = &server.oauth else {
        return crate::error::ApiError::PathNotFound.into_response();
    };
    let issuer = &config.issuer;
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "scopes_supported": ["user:full", "user:info", "user:check-access", "user:list-scoped-projects", "user:list-projects"],
        "response_types_supported": ["code", "token"],
        "grant_types_supported": ["authorization_code", "implicit"],
        "code_challenge_methods_supported": ["plain", "S256"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(&body).unwrap_or_default(),
    )
        .into_response()
}

/// Where the challenging client's codes and implicit tokens land; `oc` reads them from the
/// redirect and never loads this page.
async fn implicit() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "You have been logged in. The token is in the URL this page was redirected to.\n",
    )
        .into_response()
}

/// The headers upstream puts on every authorization response.
fn no_cache(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::EXPIRES,
        HeaderValue::from_static("Fri, 01 Jan 1990 00:00:00 GMT"),
    );
}
