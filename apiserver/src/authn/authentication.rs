//! Authentication of requests without a client certificate: anonymous without credentials,
//! else by bearer token. A request without a client certificate that carries
//! `Authorization: Bearer <token>` is authenticated by the token. Service-account tokens are
//! JWTs this server signed, valid only while their service account exists with the same uid
//! (checked on every request against the watch cache). OAuth access tokens (`sha256~...`)
//! are looked up by their hash and valid until they expire, for a user that still exists with
//! the same uid. A token that is not valid is refused with 401, whatever the path, as
//! upstream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use auth::service_account_tokens::{Claims, ISSUER};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiServer;
use crate::error::ApiError;
use crate::http::serve::User;

/// Verified signatures, by token, so that a token's signature is checked once (its expiry and
/// its service account are checked on every use); and resolved OAuth tokens, valid while the
/// cached token, user and groups they came from are unchanged.
#[derive(Default)]
pub struct VerifiedTokens {
    claims: Mutex<HashMap<String, Arc<Claims>>>,
    oauth: Mutex<HashMap<String, Resolved>>,
}

/// An OAuth token resolved from these cached objects.
#[derive(Clone)]
struct Resolved {
    token: Arc<crate::watch::cache::Cached>,
    user: Arc<crate::watch::cache::Cached>,
    /// The groups cache and its change count when the groups were read.
    groups: (usize, u64),
    expires_at: Option<i64>,
    resolved: User,
}

/// Tokens whose signatures are remembered; the memory is cleared when full.
const REMEMBERED: usize = 10_000;

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
    }

    fn remember(&self, token: &str, claims: Arc<Claims>) {
        let mut map = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(token.to_string(), claims);
    }

    fn resolved(&self, name: &str) -> Option<Resolved> {
        self.oauth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn remember_resolved(&self, name: &str, resolved: Resolved) {
        let mut map = self.oauth.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= REMEMBERED {
            map.clear();
        }
        map.insert(name.to_string(), resolved);
    }
}

pub async fn authenticate(
    State(server): State<Arc<ApiServer>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.extensions().get::<User>().is_none() {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let user = match bearer {
            Some(token) => match user_of(&server, &token).await {
                Some(user) => user,
                None => return ApiError::Unauthorized.into_response(),
            },
            None => anonymous(),
        };
        request.extensions_mut().insert(user);
    }
    next.run(request).await
}

/// A request without credentials: `system:anonymous`, which RBAC lets reach discovery,
/// health and version only.
fn anonymous() -> User {
    User {
        name: ANONYMOUS.into(),
        groups: vec!["system:unauthenticated".into()],
        ..Default::default()
    }
}

pub const ANONYMOUS: &str = "system:anonymous";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The object stored under `key`: from the resource's watch cache, or from the store when the
/// cache has not seen it yet (an object created a moment ago).
async fn lookup(server: &ApiServer, prefix: &str, name: &str) -> Option<serde_json::Value> {
    let key = format!("{prefix}{name}");
    let cache = server.watch_caches.get(prefix).await.ok()?;
    let json = match cache.get(&key) {
        Some(cached) => cached.json.clone(),
        None => server.store.get(&key, None).await.ok()?.0?.value,
    };
    serde_json::from_slice(&json).ok()
}

const ACCESS_TOKENS: &str = "/registry/oauth.openshift.io/oauthaccesstokens/";
const CLIENTS: &str = "/registry/oauth.openshift.io/oauthclients/";
const USERS: &str = "/registry/user.openshift.io/users/";
const GROUPS: &str = "/registry/user.openshift.io/groups/";
const PODS: &str = "/registry/core/pods/";

/// The user an OAuth access token stands for: from the last resolution while the token, its
/// user and the groups are the cached objects it was made from, else resolved again.
async fn oauth_user(server: &ApiServer, token: &str) -> Option<User> {
    let name = crate::oauth::tokens::object_name(token)?;
    let tokens = server.watch_caches.get(ACCESS_TOKENS).await.ok()?;
    let users = server.watch_caches.get(USERS).await.ok()?;
    let groups = server.watch_caches.get(GROUPS).await.ok()?;
    let groups_at = (Arc::as_ptr(&groups) as usize, groups.changes());
    let cached_token = tokens.get(&format!("{ACCESS_TOKENS}{name}"));
    if let (Some(hit), Some(cached_token)) = (server.verified_tokens.resolved(&name), &cached_token)
        && Arc::ptr_eq(&hit.token, cached_token)
        && hit.groups == groups_at
        && hit.expires_at.is_none_or(|t| t > now())
        && users
            .get(&format!("{USERS}{}", hit.resolved.name))
            .is_some_and(|u| Arc::ptr_eq(&u, &hit.user))
    {
        return Some(hit.resolved);
    }
    let resolved = resolve_oauth(server, &name).await?;
    if let Some(cached_token) = cached_token {
        remember(server, &name, cached_token, &users, groups_at, &resolved);
    }
    Some(resolved)
}

/// Remembers a resolution made from cached objects, unless the token has an inactivity
/// timeout (every use of such a token is looked at).
fn remember(
    server: &ApiServer,
    name: &str,
    cached_token: Arc<crate::watch::cache::Cached>,
    users: &crate::watch::cache::Cache,
    groups: (usize, u64),
    resolved: &User,
) {
    let Ok(access) = serde_json::from_slice::<serde_json::Value>(&cached_token.json) else {
        return;
    };
    if crate::oauth::tokens::inactive_at(&access).is_some() {
        return;
    }
    let Some(user) = users.get(&format!("{USERS}{}", resolved.name)) else {
        return;
    };
    // The user as cached now must be the one the resolution checked.
    let same_user = serde_json::from_slice::<serde_json::Value>(&user.json)
        .is_ok_and(|u| u["metadata"]["uid"].as_str() == Some(resolved.uid.as_str()));
    if !same_user {
        return;
    }
    let lifetime = access["expiresIn"].as_i64().unwrap_or(0);
    let created = access["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second());
    server.verified_tokens.remember_resolved(
        name,
        Resolved {
            token: cached_token,
            user,
            groups,
            expires_at: (lifetime > 0).then_some(created + lifetime),
            resolved: resolved.clone(),
        },
    );
}

/// The user the access token object `name` stands for, read from its objects.
async fn resolve_oauth(server: &ApiServer, name: &str) -> Option<User> {
    let access = lookup(server, ACCESS_TOKENS, name).await?;
    let now = now();
    if crate::oauth::tokens::expired(&access, now) {
        return None;
    }
    if let Some(deadline) = crate::oauth::tokens::inactive_at(&access) {
        if deadline <= now {
            return None;
        }
        // Each use grants the client's timeout again.
        let client = lookup(server, CLIENTS, access["clientName"].as_str()?).await;
        let timeout = match (&server.oauth, client) {
            (Some(config), Some(client)) => config.inactivity_timeout(&client),
            _ => 0,
        };
        if timeout > 0 && crate::oauth::tokens::extended_timeout(&access, timeout, now).is_some() {
            crate::oauth::tokens::touch(server, name, timeout, now).await;
        }
    }
    let user_name = access["userName"].as_str()?;
    let user = lookup(server, USERS, user_name).await?;
    if user["metadata"]["uid"].as_str() != access["userUID"].as_str() {
        return None;
    }
    let mut groups = groups_of(server, user_name).await;
    groups.push("system:authenticated:oauth".into());
    Some(User {
        name: user_name.to_string(),
        uid: access["userUID"].as_str().unwrap_or_default().to_string(),
        groups,
        extra: [(
            auth::scopes::EXTRA_KEY.to_string(),
            access["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
        )]
        .into_iter()
        .collect(),
    })
}

/// The Groups (user.openshift.io) that list `user`.
pub async fn groups_of(server: &ApiServer, user: &str) -> Vec<String> {
    let Ok(cache) = server.watch_caches.get(GROUPS).await else {
        return Vec::new();
    };
    let (groups, _) = cache.snapshot(GROUPS);
    groups
        .iter()
        .filter_map(|(_, g)| serde_json::from_slice::<serde_json::Value>(&g.json).ok())
        .filter(|g| {
            g["users"]
                .as_array()
                .is_some_and(|users| users.iter().any(|u| u == user))
        })
        .filter_map(|g| g["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

/// The user a token stands for, if it is valid now.
pub async fn user_of(server: &ApiServer, token: &str) -> Option<User> {
    if token.starts_with(crate::oauth::tokens::PREFIX) {
        return oauth_user(server, token).await;
    }
    let tokens = server.service_account_tokens.as_ref()?;
    let claims = match server.verified_tokens.get(token) {
        Some(claims) => claims,
        None => {
            let claims = Arc::new(tokens.verify(token, ISSUER)?);
            server.verified_tokens.remember(token, claims.clone());
            claims
        }
    };
    if claims.exp <= now() {
        return None;
    }
    let (namespace, sa) = (
        &claims.kubernetes.namespace,
        &claims.kubernetes.serviceaccount,
    );
    if service_account_uid(server, namespace, &sa.name).await? != sa.uid {
        return None;
    }
    let mut extra = std::collections::BTreeMap::new();
    // A token bound to a pod is valid only while that pod lives, as upstream's.
    if let Some(pod) = &claims.kubernetes.pod {
        let live = lookup(server, PODS, &format!("{namespace}/{}", pod.name)).await?;
        if live["metadata"]["uid"].as_str() != Some(pod.uid.as_str()) {
            return None;
        }
        extra.insert(
            "authentication.kubernetes.io/pod-name".to_string(),
            vec![pod.name.clone()],
        );
        extra.insert(
            "authentication.kubernetes.io/pod-uid".to_string(),
            vec![pod.uid.clone()],
        );
    }
    if let Some(node) = &claims.kubernetes.node {
        extra.insert(
            "authentication.kubernetes.io/node-name".to_string(),
            vec![node.name.clone()],
        );
        extra.insert(
            "authentication.kubernetes.io/node-uid".to_string(),
            vec![node.uid.clone()],
        );
    }
    Some(User {
        name: claims.sub.clone(),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{namespace}"),
        ],
        extra,
        ..Default::default()
    })
}

/// The uid of a live service account.
async fn service_account_uid(server: &ApiServer, namespace: &str, name: &str) -> Option<String> {
    let sa = lookup(
        server,
        "/registry/core/serviceaccounts/",
        &format!("{namespace}/{name}"),
    )
    .await?;
    sa["metadata"]["uid"].as_str().map(str::to_string)
}
