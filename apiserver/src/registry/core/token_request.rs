//! `serviceaccounts/<name>/token` (TokenRequest, `kubectl create token`): a signed,
//! expiring token for a service account that exists, optionally bound to a pod of that
//! account (`spec.boundObjectRef`; the token then names the pod and its node, and is valid
//! only while the pod lives). Nodes may only ask for tokens bound to pods they run, as
//! upstream's node authorizer and NodeRestriction admission allow them.

use serde_json::{Value, json};

use auth::service_account_tokens::{BoundRef, TokenSpec};

use crate::ApiServer;
use crate::error::{ApiError, Target};
use crate::http::serve::User;

/// Upstream's default and shortest lifetimes.
const DEFAULT_SECONDS: i64 = 3600;
const MIN_SECONDS: i64 = 600;

/// The node a caller is (`system:node:<name>` in `system:nodes`), if it is one.
fn node_of(user: Option<&User>) -> Option<&str> {
    let user = user?;
    let in_group = user
        .groups
        .iter()
        .any(|g| g == crate::authz::bootstrap_policy::NODES_GROUP);
    user.name.strip_prefix("system:node:").filter(|_| in_group)
}

/// The pod `ref` names, checked as upstream checks a binding: a pod of this uid, running as
/// the account; for a node caller, a pod bound to that node.
async fn bound_pod(
    server: &ApiServer,
    namespace: &str,
    account: &str,
    reference: &Value,
    node: Option<&str>,
) -> Result<Option<(BoundRef, Option<BoundRef>)>, ApiError> {
    let forbidden = |message: &str| ApiError::Forbidden {
        target: Target {
            group: String::new(),
            resource: "serviceaccounts".into(),
            name: account.into(),
        },
        message: message.into(),
    };
    let kind = reference["kind"].as_str().unwrap_or_default();
    let name = reference["name"].as_str().unwrap_or_default();
    let uid = reference["uid"].as_str().unwrap_or_default();
    if node.is_some() {
        if reference["apiVersion"] != "v1" || kind != "Pod" || name.is_empty() {
            return Err(forbidden("node requested token not bound to a pod"));
        }
        if uid.is_empty() {
            return Err(forbidden(
                "node requested token with a pod binding without a uid",
            ));
        }
    }
    if reference.is_null() {
        return Ok(None);
    }
    if kind != "Pod" {
        return Err(ApiError::BadRequest(format!(
            "cannot bind token to object of type {kind}"
        )));
    }
    let def = server
        .scheme
        .lookup("", "v1", "pods")
        .ok_or(ApiError::PathNotFound)?;
    let pod = server
        .get_object(def, Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(crate::registry::object::target(def, name)))?;
    let pod_uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    if !uid.is_empty() && uid != pod_uid {
        return Err(ApiError::ConflictBecause {
            target: crate::registry::object::target(def, name),
            reason: format!(
                "the UID in the bound object reference ({uid}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        });
    }
    let runs_as = pod["spec"]["serviceAccountName"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    if runs_as != account {
        return Err(ApiError::BadRequest(format!(
            "cannot bind token for serviceaccount {account:?} to pod running with different serviceaccount name."
        )));
    }
    let pod_node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
    if let Some(node) = node
        && node != pod_node
    {
        return Err(forbidden(
            "node requested token bound to a pod scheduled on a different node",
        ));
    }
    let node_ref = match pod_node {
        "" => None,
        n => {
            let nodes = server
                .scheme
                .lookup("", "v1", "nodes")
                .ok_or(ApiError::PathNotFound)?;
            let uid = server
                .get_object(nodes, None, n)
                .await?
                .and_then(|o| o["metadata"]["uid"].as_str().map(str::to_string));
            uid.map(|uid| BoundRef {
                name: n.into(),
                uid,
            })
        }
    };
    Ok(Some((
        BoundRef {
            name: name.into(),
            uid: pod_uid.into(),
        },
        node_ref,
    )))
}

pub async fn create(
    server: &ApiServer,
    user: Option<&User>,
    namespace: &str,
    name: &str,
    mut request: Value,
) -> Result<Value, ApiError> {
    let tokens = server
        .service_account_tokens
        .as_ref()
        .ok_or_else(|| ApiError::Internal("service account tokens are not configured".into()))?;
    let def = server
        .scheme
        .lookup("", "v1", "serviceaccounts")
        .ok_or(ApiError::PathNotFound)?;
    let sa = server
        .get_object(def, Some(namespace), name)
        .await?
        .ok_or_else(|| ApiError::NotFound(crate::registry::object::target(def, name)))?;
    let uid = sa["metadata"]["uid"].as_str().unwrap_or_default();
    let seconds = request["spec"]["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_SECONDS);
    if seconds < MIN_SECONDS {
        return Err(ApiError::BadRequest(
            "spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes".into(),
        ));
    }
    let audiences: Vec<String> = match request["spec"]["audiences"].as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => vec![auth::service_account_tokens::ISSUER.to_string()],
    };
    let bound = bound_pod(
        server,
        namespace,
        name,
        &request["spec"]["boundObjectRef"],
        node_of(user),
    )
    .await?;
    let (pod, node) = match bound {
        Some((pod, node)) => (Some(pod), node),
        None => (None, None),
    };
    if let Some(pod) = &pod {
        // The reference as upstream echoes it, with the uid filled in.
        request["spec"]["boundObjectRef"]["uid"] = json!(pod.uid);
    }
    let spec = TokenSpec {
        namespace: namespace.into(),
        name: name.into(),
        uid: uid.into(),
        audiences: audiences.clone(),
        pod,
        node,
    };
    let now = jiff::Timestamp::now().as_second();
    let token = tokens
        .issue(spec, now, seconds)
        .map_err(|e| ApiError::Internal(format!("signing the token: {e}")))?;
    let expires = jiff::Timestamp::from_second(now + seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    request["metadata"] = json!({"name": name, "namespace": namespace, "creationTimestamp": null});
    request["spec"]["audiences"] = json!(audiences);
    request["spec"]["expirationSeconds"] = json!(seconds);
    request["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(request)
}

/// The `token` subresource of service accounts.
pub struct TokenRequests;

#[async_trait::async_trait]
impl crate::registry::rest::Rest for TokenRequests {
    async fn create(
        &self,
        call: &crate::registry::rest::Call<'_>,
        body: bytes::Bytes,
    ) -> Result<axum::response::Response, ApiError> {
        let request: Value = serde_json::from_slice(&call.decode(&body)?)
            .map_err(|e| ApiError::BadRequest(format!("invalid TokenRequest: {e}")))?;
        let namespace = call.namespace.unwrap_or_default();
        let answered = create(call.server, call.user, namespace, call.name, request).await?;
        Ok(call
            .out
            .respond(axum::http::StatusCode::CREATED, call.def, answered))
    }
}
