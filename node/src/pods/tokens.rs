//! Service-account tokens of projected volumes, as the kubelet's token manager gets them: a
//! TokenRequest for the pod's account, bound to the pod, asked with the node's own
//! credentials (the API server lets a node bind tokens only to pods it runs), and asked again
//! once 80% of the token's lifetime has passed (or 24 hours, for long-lived ones).

use k8s_openapi::api::core::v1::{Pod, ServiceAccountTokenProjection};
use serde_json::{Value, json};

use super::env::ConfigError;

/// What the kubelet asks for when the projection names no lifetime (upstream's default).
const DEFAULT_SECONDS: i64 = 3600;
/// No token is used longer than this before it is asked for again.
const MAX_TTL_SECONDS: i64 = 24 * 3600;

/// A token as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub token: String,
    /// When to ask for it again.
    pub refresh_at: jiff::Timestamp,
}

/// When a token that expires at `expires` after a lifetime of `seconds` is asked for again:
/// with 20% of its lifetime left, and no later than 24 hours after it was issued.
pub fn refresh_at(expires: jiff::Timestamp, seconds: i64) -> jiff::Timestamp {
    let seconds = seconds.max(1);
    let issued = expires.as_second() - seconds;
    let at = (expires.as_second() - seconds * 20 / 100).min(issued + MAX_TTL_SECONDS);
    jiff::Timestamp::from_second(at).unwrap_or(expires)
}

/// The TokenRequest the kubelet sends for `projection` of `pod`.
fn request_body(pod: &Pod, projection: &ServiceAccountTokenProjection) -> Value {
    let audiences: Vec<&str> = projection
        .audience
        .as_deref()
        .filter(|a| !a.is_empty())
        .into_iter()
        .collect();
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": audiences,
            "expirationSeconds": projection.expiration_seconds.unwrap_or(DEFAULT_SECONDS),
            "boundObjectRef": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod.metadata.name,
                "uid": pod.metadata.uid,
            },
        },
    })
}

/// The account a pod runs as.
fn account(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.service_account_name.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
}

/// Asks the API server for a token of `projection`.
pub async fn request(
    client: &kube::Client,
    pod: &Pod,
    projection: &ServiceAccountTokenProjection,
) -> Result<Issued, ConfigError> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = account(pod);
    let body = request_body(pod, projection);
    let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
    let fail = |e: String| {
        ConfigError(format!(
            "failed to fetch token: serviceaccounts \"{name}\" token: {e}"
        ))
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| fail(e.to_string()))?;
    let request = axum::http::Request::post(&path)
        .header("content-type", "application/json")
        .body(bytes)
        .map_err(|e| fail(e.to_string()))?;
    let answer: Value = client
        .request(request)
        .await
        .map_err(|e| fail(controllers::logs::describe(&e)))?;
    let token = answer["status"]["token"]
        .as_str()
        .ok_or_else(|| fail("the answer holds no token".into()))?
        .to_string();
    let expires: jiff::Timestamp = answer["status"]["expirationTimestamp"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| fail("the answer holds no expiration".into()))?;
    let seconds = answer["spec"]["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_SECONDS);
    Ok(Issued {
        token,
        refresh_at: refresh_at(expires, seconds),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn tokens_are_renewed_at_80_percent_of_their_life_or_after_a_day() {
        // Upstream's 3607 s: renewed 2886 s after issue (721 s before expiry).
        assert_eq!(refresh_at(at(10_000 + 3607), 3607), at(10_000 + 2886));
        assert_eq!(refresh_at(at(600), 600), at(480));
        // A year-long token is renewed after a day.
        let year = 365 * 24 * 3600;
        assert_eq!(refresh_at(at(year), year), at(24 * 3600));
    }

    #[test]
    fn the_request_binds_the_pod_and_names_the_audience_if_any() {
        let pod = Pod {
            metadata: kube::api::ObjectMeta {
                name: Some("web".into()),
                uid: Some("u-1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut projection = ServiceAccountTokenProjection {
            path: "token".into(),
            expiration_seconds: Some(3607),
            ..Default::default()
        };
        let body = request_body(&pod, &projection);
        assert_eq!(body["spec"]["audiences"], json!([]));
        assert_eq!(body["spec"]["expirationSeconds"], 3607);
        assert_eq!(
            body["spec"]["boundObjectRef"],
            json!({"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "u-1"})
        );
        projection.audience = Some("vault".into());
        projection.expiration_seconds = None;
        let body = request_body(&pod, &projection);
        assert_eq!(body["spec"]["audiences"], json!(["vault"]));
        assert_eq!(body["spec"]["expirationSeconds"], 3600);
        assert_eq!(account(&pod), "default");
    }
}
