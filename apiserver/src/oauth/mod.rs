//! The built-in OAuth server that `oc login` talks to: its metadata document, the
//! authorization endpoint (Basic challenges for the challenging client, authorization codes
//! with PKCE, implicit tokens), the token endpoint, and the mapping of a provider's identity to
//! a User. Access tokens are `sha256~` bearer tokens; only their hash is stored, as the name of
//! an `OAuthAccessToken`.

mod authorize;
mod clients;
mod grants;
mod identities;
mod pages;
pub mod providers;
mod redirect;
pub mod session;
mod token;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;

use crate::ApiServer;
use providers::{GrantMethod, IdentityProvider, PasswordCheck};

/// How the OAuth server is set up.
pub struct OAuthConfig {
    /// The public URL of the server (issuer; the endpoints live under it).
    pub issuer: String,
    /// The identity providers, tried in order.
    pub providers: Vec<IdentityProvider>,
    /// What clients without a `grantMethod` do when the user has not granted their scopes.
    pub grant_method: GrantMethod,
    /// Seconds an access token lives (0: forever).
    pub access_token_max_age: i64,
    /// Seconds an authorization code lives.
    pub authorize_token_max_age: i64,
    /// Seconds an access token may go unused before it stops working (0: no limit).
    pub access_token_inactivity_timeout: i64,
    /// Signs the browser sessions of the login form.
    pub session_key: session::SessionKey,
}

impl OAuthConfig {
    /// A server without identity providers (nobody can log in until some are added).
    pub fn new(issuer: String) -> OAuthConfig {
        OAuthConfig {
            issuer,
            providers: Vec::new(),
            grant_method: GrantMethod::Auto,
            access_token_max_age: 86_400,
            authorize_token_max_age: 300,
            access_token_inactivity_timeout: 0,
            session_key: session::SessionKey::random(),
        }
    }

    /// Adds the htpasswd provider `htpasswd` reading `file`.
    pub fn with_htpasswd(mut self, file: &std::path::Path) -> Self {
        self.providers.push(IdentityProvider::new(
            "htpasswd",
            PasswordCheck::HtPasswd(auth::htpasswd::Htpasswd::new(file)),
        ));
        self
    }

    /// Development only: adds the provider `anypassword` that lets any user in.
    pub fn with_allow_all(mut self) -> Self {
        self.providers.push(IdentityProvider::new(
            "anypassword",
            PasswordCheck::AllowAll,
        ));
        self
    }

    /// Applies a configuration file (see [`providers`]): its providers come after the ones
    /// already set up, and its settings replace the defaults.
    pub fn with_file(mut self, path: &std::path::Path) -> Result<Self, String> {
        let (providers, grant_method, tokens) = providers::load(path)?;
        self.providers.extend(providers);
        self.grant_method = grant_method;
        if let Some(v) = tokens.access_token_max_age_seconds {
            self.access_token_max_age = v;
        }
        if let Some(v) = tokens.authorize_token_max_age_seconds {
            self.authorize_token_max_age = v;
        }
        if let Some(v) = tokens.access_token_inactivity_timeout_seconds {
            self.access_token_inactivity_timeout = v;
        }
        Ok(self)
    }

    /// The lifetime of tokens issued to `client`: its `accessTokenMaxAgeSeconds` if set (0:
    /// they never expire), else the server's.
    pub fn token_max_age(&self, client: &serde_json::Value) -> i64 {
        client["accessTokenMaxAgeSeconds"]
            .as_i64()
            .unwrap_or(self.access_token_max_age)
    }

    /// The inactivity timeout of tokens issued to `client`: its
    /// `accessTokenInactivityTimeoutSeconds` if set, else the server's (0: none).
    pub fn inactivity_timeout(&self, client: &serde_json::Value) -> i64 {
        client["accessTokenInactivityTimeoutSeconds"]
            .as_i64()
            .unwrap_or(self.access_token_inactivity_timeout)
    }

    /// The grant method of `client`.
    pub fn grant_method(&self, client: &serde_json::Value) -> GrantMethod {
        client["grantMethod"]
            .as_str()
            .and_then(GrantMethod::parse)
            .unwrap_or(self.grant_method)
    }

    /// The provider (and its name) that accepts these credentials, among those `usable`.
    fn authenticate(
        &self,
        usable: impl Fn(&IdentityProvider) -> bool,
        user: &str,
        password: &str,
    ) -> Option<&IdentityProvider> {
        self.providers
            .iter()
            .filter(|p| usable(p))
            .find(|p| p.authenticate(user, password))
    }
}

/// Whether `path` belongs to the OAuth server, which authenticates its users itself.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/oauth/")
        || matches!(
            path,
            "/login" | "/logout" | "/.well-known/oauth-authorization-server"
        )
}

/// The Basic credentials of a request.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?.trim())
        .ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
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
        .route("/oauth/token/request", get(pages::token_request))
        .route(
            "/oauth/token/display",
            get(pages::token_display).post(pages::token_display_post),
        )
        .route("/oauth/authorize/approve", post(pages::approve))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", get(pages::logout).post(pages::logout))
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
