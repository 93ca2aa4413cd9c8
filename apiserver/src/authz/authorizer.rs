//! Authorization: every resource request is checked against RBAC before it is served. The
//! RBAC objects are kept in memory, fed by their watch caches, and re-indexed after changes.
//!
//! The policy is only as good as its four feeds: if any one ends (its watcher fell behind,
//! its cache broke), changes of that kind would be missed from then on, so the policy is
//! withdrawn at once (nothing is allowed while there is none) and rebuilt from fresh lists.

mod objects;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth::rbac::{Attributes, Policy, UserInfo};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;

use crate::error::{ApiError, Target};
use crate::http::request_info::RequestInfo;
use crate::http::serve::User;
use crate::watch::cache::{Message, WatchCaches};
use objects::{Kind, RbacObjects};

/// How long a decision waits for a policy that is being loaded before it is refused. Loading
/// reads four in-memory caches; this long means the store itself is failing.
const READY_WAIT: Duration = Duration::from_secs(10);
/// Pause before loading again after a load failed, or after feeds that ended right away.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Feeds that lasted this long are rebuilt from at once when they end.
const STABLE_FEED: Duration = Duration::from_secs(1);

/// The current policy, swapped whole after every change.
pub struct Authorizer {
    /// `None` until the policy is loaded, and again while it is rebuilt.
    policy: watch::Sender<Option<Arc<Policy>>>,
    /// Times the policy was rebuilt because one of its feeds ended.
    rebuilds: AtomicU64,
    /// How long a decision waits for a policy being loaded.
    ready_wait: Duration,
}

impl Default for Authorizer {
    fn default() -> Self {
        Authorizer {
            policy: watch::channel(None).0,
            rebuilds: AtomicU64::new(0),
            ready_wait: READY_WAIT,
        }
    }
}

impl Authorizer {
    /// Keeps the policy current from the RBAC kinds' watch caches, until the process ends.
    pub fn start(self: &Arc<Self>, caches: Arc<WatchCaches>) {
        let authorizer = self.clone();
        tokio::spawn(async move {
            loop {
                let started = std::time::Instant::now();
                let outcome = authorizer.follow(&caches).await;
                // Fail closed: a view that may have missed a change (a revoked binding) must
                // not decide anything until it is rebuilt.
                authorizer.policy.send_replace(None);
                match outcome {
                    Ok(()) => {
                        authorizer.rebuilds.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("an RBAC policy feed ended; rebuilding the policy");
                        // A store that ends every watch at once is not re-listed in a loop.
                        if started.elapsed() < STABLE_FEED {
                            tokio::time::sleep(RETRY_PAUSE).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "loading the RBAC policy failed; retrying");
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
            }
        });
    }

    /// Times the policy was rebuilt because one of its feeds ended.
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.load(Ordering::Relaxed)
    }

    /// Loads the RBAC objects and applies their changes as they come; returns when any of
    /// the four feeds ends.
    async fn follow(&self, caches: &WatchCaches) -> Result<(), storage::Error> {
        let mut objects = RbacObjects::default();
        let mut feeds = Vec::new();
        for kind in Kind::ALL {
            let cache = caches.get(kind.prefix()).await?;
            let (current, _, subscription) = cache.snapshot_and_subscribe(kind.prefix());
            for (key, obj) in &current {
                objects.put(kind, key, &obj.json);
            }
            // Each feed closes with `None`, so that the end of any one of them is seen.
            let feed = subscription
                .into_stream()
                .map(Some)
                .chain(futures::stream::once(std::future::ready(None)));
            feeds.push(feed.map(move |m| (kind, m)).boxed());
        }
        self.publish(&objects);
        let mut feed = futures::stream::select_all(feeds);
        while let Some((kind, message)) = feed.next().await {
            let mut changed = apply(&mut objects, kind, message);
            // Apply everything already queued before re-indexing once.
            while let Some(Some((kind, message))) = feed.next().now_or_never() {
                changed |= apply(&mut objects, kind, message);
            }
            match changed {
                Changed::Ended => return Ok(()),
                Changed::Yes => self.publish(&objects),
                Changed::No => {}
            }
        }
        Ok(())
    }

    fn publish(&self, objects: &RbacObjects) {
        self.policy.send_replace(Some(Arc::new(objects.policy())));
    }

    /// The current policy, waiting a while if it is being loaded.
    async fn current(&self) -> Option<Arc<Policy>> {
        if let Some(policy) = self.policy.borrow().as_ref() {
            return Some(policy.clone());
        }
        let mut policy = self.policy.subscribe();
        let loaded = tokio::time::timeout(self.ready_wait, policy.wait_for(Option::is_some)).await;
        let current = loaded.ok()?.ok()?;
        current.as_ref().cloned()
    }

    /// The current policy; one that allows nothing if none comes in time.
    pub async fn policy(&self) -> Arc<Policy> {
        self.current().await.unwrap_or_default()
    }

    /// Whether `user` may make the request `info` describes; Forbidden with upstream's
    /// message if not.
    pub async fn check(&self, user: &User, info: &RequestInfo, path: &str) -> Result<(), ApiError> {
        let attrs = attributes(info, path);
        let user = user_info(user);
        let Some(policy) = self.current().await else {
            return Err(with_reason(
                forbidden(&user, &attrs),
                "RBAC: the policy is not loaded",
            ));
        };
        if !policy.authorize(&user, &attrs).allowed() {
            return Err(forbidden(&user, &attrs));
        }
        let scopes = user.extra.get(auth::scopes::EXTRA_KEY);
        match scopes {
            Some(scopes) if !auth::scopes::allows(&policy, scopes, &attrs) => Err(with_reason(
                forbidden(&user, &attrs),
                &format!("scopes [{}] prevent this action", scopes.join(" ")),
            )),
            _ => Ok(()),
        }
    }
}

/// What a message did to the objects.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Changed {
    No,
    Yes,
    /// Its feed ended.
    Ended,
}

impl std::ops::BitOrAssign for Changed {
    fn bitor_assign(&mut self, other: Changed) {
        *self = (*self).max(other);
    }
}

fn apply(objects: &mut RbacObjects, kind: Kind, message: Option<Message>) -> Changed {
    match message {
        None => Changed::Ended,
        Some(Message::Progress(_)) => Changed::No,
        Some(Message::Event(event)) => {
            match event.kind {
                "DELETED" => objects.remove(kind, &event.key),
                _ => objects.put(kind, &event.key, &event.object),
            }
            Changed::Yes
        }
    }
}

/// The user as RBAC sees it: every authenticated user is also in `system:authenticated`.
pub fn user_info(user: &User) -> UserInfo {
    let mut groups = user.groups.clone();
    let anonymous = user.name == crate::authn::authentication::ANONYMOUS;
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

/// A Forbidden with the reason the decision gives, as upstream appends it.
fn with_reason(error: ApiError, reason: &str) -> ApiError {
    match error {
        ApiError::Forbidden { target, message } => ApiError::Forbidden {
            target,
            message: format!("{message}: {reason}"),
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
