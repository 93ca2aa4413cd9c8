//! The integrated registry's side of the API server: the token server docker-registry sends
//! its clients to (`GET /openshift/token`), deciding pulls and pushes by RBAC on
//! `imagestreams/layers`; the endpoint of the registry's notifications, turning pushed
//! manifests into Images in image streams; the record of the registry's host name in
//! `Image cluster`; and what the registry's front needs for the signature extension (the
//! grants of issued tokens, the signatures of a stream's image).

mod events;
pub use events::SECRET_HEADER;
mod grants;
pub use grants::Grant;
mod hostname;
mod image;
mod mapping;
mod pushers;
mod readback;
mod scope;
mod stream_signatures;
pub use stream_signatures::{lookaside_signatures, stream_image_signatures};
mod token;

use axum::Router;
use axum::routing::{get, post};

use crate::Shared;

/// Where docker-registry's token realm points.
pub const TOKEN_PATH: &str = "/openshift/token";
/// Where docker-registry sends its notifications.
pub const EVENTS_PATH: &str = "/openshift/registry/notifications";

/// The integrated registry as the API server knows it.
pub struct IntegratedRegistry {
    pub signer: auth::registry_tokens::RegistryTokenSigner,
    /// The tokens' `iss`, as the registry's `auth.token.issuer`.
    pub issuer: String,
    /// The tokens' `aud`, as the registry's `auth.token.service`.
    pub service: String,
    /// `127.0.0.1:<port>`: where pushed manifests are read back from.
    pub host: String,
    /// What the registry's notifications carry in [`SECRET_HEADER`].
    pub notification_secret: String,
    client: registry_client::RegistryClient,
    pushers: pushers::Pushers,
    grants: grants::Grants,
    /// Counts the manifest pushes handled (recorded or not), for those waiting on one.
    recordings: tokio::sync::watch::Sender<u64>,
}

impl IntegratedRegistry {
    pub fn new(
        signer: auth::registry_tokens::RegistryTokenSigner,
        issuer: String,
        service: String,
        host: String,
        notification_secret: String,
    ) -> Self {
        IntegratedRegistry {
            signer,
            issuer,
            service,
            host,
            notification_secret,
            client: registry_client::RegistryClient::new(),
            pushers: Default::default(),
            grants: Default::default(),
            recordings: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Changes each time the server has handled a pushed manifest: whoever waits for an
    /// image to be recorded looks again then, instead of polling.
    pub fn recordings(&self) -> tokio::sync::watch::Receiver<u64> {
        self.recordings.subscribe()
    }

    fn recorded(&self) {
        self.recordings.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// What a live registry token this server issued stands for.
    pub fn grant(&self, registry_token: &str) -> Option<Grant> {
        self.grants.get(registry_token)
    }
}

/// Paths that authenticate their callers themselves (RBAC does not gate them).
pub fn is_public(path: &str) -> bool {
    path == TOKEN_PATH || path == EVENTS_PATH
}

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(TOKEN_PATH, get(token::handle))
        .route(EVENTS_PATH, post(events::handle))
}
