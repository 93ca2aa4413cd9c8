//! The integrated registry's side of the API server: the token server docker-registry sends
//! its clients to (`GET /openshift/token`), deciding pulls and pushes by RBAC on
//! `imagestreams/layers`, and the record of the registry's host name in `Image cluster`.

mod hostname;
mod scope;
mod token;

use axum::Router;
use axum::routing::get;

use crate::Shared;

/// Where docker-registry's token realm points.
pub const TOKEN_PATH: &str = "/openshift/token";

/// What the token server signs with and for whom.
pub struct RegistryTokens {
    pub signer: auth::registry_tokens::RegistryTokenSigner,
    /// The tokens' `iss`, as the registry's `auth.token.issuer`.
    pub issuer: String,
    /// The tokens' `aud`, as the registry's `auth.token.service`.
    pub service: String,
}

/// Paths that authenticate their callers themselves (RBAC does not gate them).
pub fn is_public(path: &str) -> bool {
    path == TOKEN_PATH
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new().route(TOKEN_PATH, get(token::handle))
}
