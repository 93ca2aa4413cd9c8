//! Authorization: every resource request is checked against RBAC before it is served. The
//! RBAC objects are kept in memory, fed by their watch caches, and re-indexed after changes.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth::rbac::{Attributes, Policy, UserInfo};
use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use tokio::sync::watch;

use crate::error::{ApiError, Target};
use crate::request_info::RequestInfo;
use crate::serve::User;
use crate::watch_cache::{Message, WatchCaches};

/// The storage prefixes of the RBAC kinds, in the order `Policy::new` takes them.
const PREFIXES: [&str; 4] = [
    "/registry/rbac.authorization.k8s.io/clusterroles/",
    "/registry/rbac.authorization.k8s.io/roles/",
    "/registry/rbac.authorization.k8s.io/clusterrolebindings/",
    "/registry/rbac.authorization.k8s.io/rolebindings/",
];

/// The current policy, swapped whole after every change.
pub struct Authorizer {
    policy: RwLock<Arc<Policy>>,
    /// Becomes true once the first policy is loaded.
    loaded: watch::Sender<bool>,
}

impl Default for Authorizer {
    fn default() -> Self {
        Authorizer {
            policy: RwLock::new(Arc::new(Policy::default())),
            loaded: watch::channel(false).0,
        }
    }
}

impl Authorizer {
    /// Keeps the policy current from the RBAC kinds' watch caches, until the process ends.
    pub fn start(self: &Arc<Self>, caches: Arc<WatchCaches>) {
        let authorizer = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = authorizer.follow(&caches).await {
                    tracing::warn!(error = %e, "RBAC policy feed ended; restarting");
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
    }

    /// Loads the RBAC objects and applies their changes as they come.
    async fn follow(&self, caches: &WatchCaches) -> Result<(), storage::Error> {
        let mut objects: [HashMap<String, Bytes>; 4] = Default::default();
        let mut feeds = Vec::new();
        for (i, prefix) in PREFIXES.iter().enumerate() {
            let cache = caches.get(prefix).await?;
            let (current, _, subscription) = cache.snapshot_and_subscribe(prefix);
            objects[i].extend(
                current
                    .into_iter()
                    .map(|(key, obj)| (key, obj.json.clone())),
            );
            feeds.push(subscription.into_stream().map(move |m| (i, m)).boxed());
        }
        self.publish(&objects);
        let apply = |objects: &mut [HashMap<String, Bytes>; 4], i: usize, message: Message| {
            if let Message::Event(event) = message {
                match event.kind {
                    "DELETED" => drop(objects[i].remove(&event.key)),
                    _ => drop(objects[i].insert(event.key.clone(), event.object.clone())),
                }
            }
        };
        let mut feed = futures::stream::select_all(feeds);
        while let Some((i, message)) = feed.next().await {
            apply(&mut objects, i, message);
            // Apply everything already queued before re-indexing once.
            while let Some(Some((i, message))) = feed.next().now_or_never() {
                apply(&mut objects, i, message);
            }
            self.publish(&objects);
        }
        Ok(())
    }

    fn publish(&self, objects: &[HashMap<String, Bytes>; 4]) {
        fn parse<T: serde::de::DeserializeOwned>(map: &HashMap<String, Bytes>) -> Vec<T> {
            map.values()
                .filter_map(|b| serde_json::from_slice(b).ok())
                .collect()
        }
        let policy = Policy::new(
            parse::<ClusterRole>(&objects[0]),
            parse::<Role>(&objects[1]),
            parse::<ClusterRoleBinding>(&objects[2]),
            parse::<RoleBinding>(&objects[3]),
        );
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
        self.loaded.send_replace(true);
    }

    /// The current policy, once loaded.
    pub async fn policy(&self) -> Arc<Policy> {
        if !*self.loaded.borrow() {
            self.wait_loaded().await;
        }
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn wait_loaded(&self) {
        let mut loaded = self.loaded.subscribe();
        // The sender lives as long as `self`, so this only waits for the first load.
        let _ = loaded.wait_for(|l| *l).await;
    }

    /// Whether `user` may make the request `info` describes; Forbidden with upstream's
    /// message if not.
    pub async fn check(&self, user: &User, info: &RequestInfo, path: &str) -> Result<(), ApiError> {
        let attrs = attributes(info, path);
        let user = user_info(user);
        let policy = self.policy().await;
        if !policy.authorize(&user, &attrs).allowed() {
            return Err(forbidden(&user, &attrs));
        }
        let scopes = user.extra.get(auth::scopes::EXTRA_KEY);
        match scopes {
            Some(scopes) if !auth::scopes::allows(&policy, scopes, &attrs) => {
                Err(scoped_out(forbidden(&user, &attrs), scopes))
            }
            _ => Ok(()),
        }
    }
}

/// The user as RBAC sees it: every authenticated user is also in `system:authenticated`.
pub fn user_info(user: &User) -> UserInfo {
    let mut groups = user.groups.clone();
    let anonymous = user.name == crate::authentication::ANONYMOUS;
    if !anonymous && !groups.iter().any(|g| g == auth::rbac::AUTHENTICATED) {
        groups.push(auth::rbac::AUTHENTICATED.to_string());
    }
    UserInfo {
        name: user.name.clone(),
        groups,
        uid: user.uid.clone(),
        extra: user.extra.clone(),
    }
}

pub fn attributes(info: &RequestInfo, path: &str) -> Attributes {
    Attributes {
        verb: info.verb.clone(),
        namespace: info.namespace.clone().unwrap_or_default(),
        api_group: info.group.clone(),
        resource: info.resource.clone(),
        subresource: info.subresource.clone().unwrap_or_default(),
        name: info.name.clone().unwrap_or_default(),
        path: path.to_string(),
        resource_request: info.is_resource,
    }
}

/// A Forbidden that the token's scopes, not RBAC, caused.
fn scoped_out(error: ApiError, scopes: &[String]) -> ApiError {
    match error {
        ApiError::Forbidden { target, message } => ApiError::Forbidden {
            target,
            message: format!(
                "{message}: scopes [{}] prevent this action",
                scopes.join(" ")
            ),
        },
        other => other,
    }
}

/// Upstream's Forbidden: `User "bob" cannot list resource "pods" in API group "" in the
/// namespace "dev"`, qualified by the resource and name.
pub fn forbidden(user: &UserInfo, attrs: &Attributes) -> ApiError {
    if !attrs.resource_request {
        return ApiError::Forbidden {
            target: Target::default(),
            message: format!(
                "User {:?} cannot {} path {:?}",
                user.name, attrs.verb, attrs.path
            ),
        };
    }
    let resource = match attrs.subresource.as_str() {
        "" => attrs.resource.clone(),
        sub => format!("{}/{sub}", attrs.resource),
    };
    let scope = match attrs.namespace.as_str() {
        "" => "at the cluster scope".to_string(),
        ns => format!("in the namespace {ns:?}"),
    };
    ApiError::Forbidden {
        target: Target {
            group: attrs.api_group.clone(),
            resource: attrs.resource.clone(),
            name: attrs.name.clone(),
        },
        message: format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} {scope}",
            user.name, attrs.verb, attrs.api_group
        ),
    }
}
