//! Authorization of the node's API as the kubelet's webhook authorizer does it: a
//! SubjectAccessReview for the client's user on `nodes/<subresource>` named after this node,
//! with the verb of the request's method; allows are remembered 5 minutes, denials 30 s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use tokio::time::Instant;

/// How long a review's answer is reused (the kubelet's `--authorization-webhook-cache-*-ttl`).
pub const ALLOWED_TTL: Duration = Duration::from_secs(5 * 60);
pub const DENIED_TTL: Duration = Duration::from_secs(30);

/// What one request asks to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    pub user: String,
    pub groups: Vec<String>,
    /// `get` for GET and HEAD, `create` for POST...
    pub verb: String,
    /// The subresource of `nodes`: `proxy` for logs and streams.
    pub subresource: String,
}

/// Answers whether `attributes` are allowed on the node `node`.
#[async_trait]
pub trait AccessReview: Send + Sync {
    async fn allowed(&self, node: &str, attributes: &Attributes) -> Result<bool, String>;
}

/// Reviews through the API server's SubjectAccessReview, with the node's own credentials.
pub struct SubjectAccessReviews(pub kube::Client);

#[async_trait]
impl AccessReview for SubjectAccessReviews {
    async fn allowed(&self, node: &str, attributes: &Attributes) -> Result<bool, String> {
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(attributes.user.clone()),
                groups: Some(attributes.groups.clone()),
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(attributes.verb.clone()),
                    resource: Some("nodes".into()),
                    subresource: Some(attributes.subresource.clone()),
                    name: Some(node.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api: kube::Api<SubjectAccessReview> = kube::Api::all(self.0.clone());
        let answer = api
            .create(&kube::api::PostParams::default(), &review)
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}

/// The verb the kubelet authorizes a request's method as.
pub fn verb_of(method: &hyper::Method) -> &'static str {
    match *method {
        hyper::Method::POST => "create",
        hyper::Method::PUT => "update",
        hyper::Method::PATCH => "patch",
        hyper::Method::DELETE => "delete",
        _ => "get",
    }
}

/// A reviewer with the webhook authorizer's cache in front.
pub struct Authorizer {
    node: String,
    reviewer: Arc<dyn AccessReview>,
    answers: Mutex<HashMap<Attributes, (bool, Instant)>>,
}

impl Authorizer {
    pub fn new(node: String, reviewer: Arc<dyn AccessReview>) -> Authorizer {
        Authorizer {
            node,
            reviewer,
            answers: Mutex::default(),
        }
    }

    /// Whether `attributes` are allowed; an error when the review could not be made (not
    /// remembered).
    pub async fn allowed(&self, attributes: &Attributes) -> Result<bool, String> {
        let now = Instant::now();
        if let Some(&(allowed, until)) = self.lock().get(attributes)
            && until > now
        {
            return Ok(allowed);
        }
        let allowed = self.reviewer.allowed(&self.node, attributes).await?;
        let ttl = if allowed { ALLOWED_TTL } else { DENIED_TTL };
        let mut answers = self.lock();
        // Expired answers go when one is added: the cache holds only what is current.
        answers.retain(|_, (_, until)| *until > now);
        answers.insert(attributes.clone(), (allowed, now + ttl));
        Ok(allowed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Attributes, (bool, Instant)>> {
        self.answers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Allows one user, counting the reviews it is asked for.
    struct OnlyAlice(AtomicUsize);

    #[async_trait]
    impl AccessReview for OnlyAlice {
        async fn allowed(&self, node: &str, attributes: &Attributes) -> Result<bool, String> {
            assert_eq!(node, "node-a");
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(attributes.user == "alice")
        }
    }

    fn attributes(user: &str) -> Attributes {
        Attributes {
            user: user.into(),
            groups: vec![],
            verb: "get".into(),
            subresource: "proxy".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn allows_are_cached_five_minutes_and_denials_thirty_seconds() {
        let reviewer = Arc::new(OnlyAlice(AtomicUsize::new(0)));
        let authorizer = Authorizer::new("node-a".into(), reviewer.clone());
        let reviews = || reviewer.0.load(Ordering::SeqCst);
        assert_eq!(authorizer.allowed(&attributes("alice")).await, Ok(true));
        assert_eq!(authorizer.allowed(&attributes("bob")).await, Ok(false));
        assert_eq!(reviews(), 2);
        tokio::time::advance(Duration::from_secs(29)).await;
        authorizer.allowed(&attributes("alice")).await.unwrap();
        authorizer.allowed(&attributes("bob")).await.unwrap();
        assert_eq!(reviews(), 2, "both answers still cached");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(authorizer.allowed(&attributes("bob")).await, Ok(false));
        assert_eq!(reviews(), 3, "the denial expired after 30 s");
        authorizer.allowed(&attributes("alice")).await.unwrap();
        assert_eq!(reviews(), 3);
        tokio::time::advance(Duration::from_secs(5 * 60)).await;
        authorizer.allowed(&attributes("alice")).await.unwrap();
        assert_eq!(reviews(), 4, "the allow expired after 5 min");
    }

    #[tokio::test]
    async fn verbs_and_groups_are_part_of_the_question() {
        let reviewer = Arc::new(OnlyAlice(AtomicUsize::new(0)));
        let authorizer = Authorizer::new("node-a".into(), reviewer.clone());
        let mut create = attributes("alice");
        create.verb = "create".into();
        authorizer.allowed(&attributes("alice")).await.unwrap();
        authorizer.allowed(&create).await.unwrap();
        assert_eq!(reviewer.0.load(Ordering::SeqCst), 2);
        assert_eq!(verb_of(&hyper::Method::POST), "create");
        assert_eq!(verb_of(&hyper::Method::GET), "get");
    }
}
