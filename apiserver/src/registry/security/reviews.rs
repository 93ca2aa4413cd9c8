//! The pod security policy reviews of security.openshift.io/v1: which SCC would admit a pod
//! template — for the requester (`podsecuritypolicyselfsubjectreviews`), for a given user and
//! groups (`podsecuritypolicysubjectreviews`), or for service accounts of the namespace
//! (`podsecuritypolicyreviews`). Answered by the SCC admission's own evaluation, never stored.

use async_trait::async_trait;
use auth::rbac::UserInfo;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::ApiServer;
use crate::admission::scc::{Judged, Outcome, evaluate};
use crate::authz::authorizer::user_info;
use crate::error::ApiError;
use crate::registry::rest::{Call, Rest};

pub const RESOURCES: [&str; 3] = [
    "podsecuritypolicyselfsubjectreviews",
    "podsecuritypolicysubjectreviews",
    "podsecuritypolicyreviews",
];

pub struct Reviews;

#[async_trait]
impl Rest for Reviews {
    async fn create(&self, call: &Call<'_>, body: Bytes) -> Result<Response, ApiError> {
        let mut review = call.object(&body)?;
        let namespace = call.namespace.unwrap_or_default();
        let template = review["spec"]["template"].clone();
        let pod =
            json!({"metadata": template["metadata"].clone(), "spec": template["spec"].clone()});
        let account = pod["spec"]["serviceAccountName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        review["status"] = match call.def.plural {
            "podsecuritypolicyselfsubjectreviews" => {
                let user = user_info(call.user()?);
                let judged = match account {
                    Some(_) => Judged::new(Some(user), &pod, namespace),
                    None => Judged::user_only(user, namespace),
                };
                status(call.server, &judged, &pod).await?
            }
            "podsecuritypolicysubjectreviews" => {
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                };
                let user = UserInfo {
                    name: review["spec"]["user"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    groups: strings(&review["spec"]["groups"]),
                    ..Default::default()
                };
                let judged = match account {
                    Some(_) => Judged::new(Some(user), &pod, namespace),
                    None => Judged::user_only(user, namespace),
                };
                status(call.server, &judged, &pod).await?
            }
            _ => {
                let mut names: Vec<String> = review["spec"]["serviceAccountNames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                if names.is_empty() {
                    names = match account {
                        Some(a) => vec![a],
                        None => service_accounts(call.server, namespace).await?,
                    };
                }
                let mut allowed = Vec::new();
                for name in names {
                    let mut as_account = pod.clone();
                    as_account["spec"]["serviceAccountName"] = json!(name);
                    let judged = Judged::new(None, &as_account, namespace);
                    let mut answer = status(call.server, &judged, &as_account).await?;
                    if answer.get("allowedBy").is_some() {
                        answer["name"] = json!(name);
                        allowed.push(answer);
                    }
                }
                json!({"allowedServiceAccounts": allowed})
            }
        };
        Ok(call.out.respond(StatusCode::CREATED, call.def, review))
    }
}

/// The review status for one subject: the SCC that admits the template and the template as
/// admitted, or nothing.
async fn status(server: &ApiServer, judged: &Judged, pod: &Value) -> Result<Value, ApiError> {
    let mut admitted = pod.clone();
    Ok(
        match evaluate(server, judged, &mut admitted, &Default::default()).await? {
            Outcome::Admitted => {
                let scc = admitted["metadata"]["annotations"]["openshift.io/scc"].clone();
                json!({
                    "allowedBy": {"kind": "SecurityContextConstraints", "apiVersion": "security.openshift.io/v1", "name": scc},
                    "template": {"metadata": admitted["metadata"].clone(), "spec": admitted["spec"].clone()},
                })
            }
            Outcome::Refused(_) => json!({}),
        },
    )
}

/// The names of the namespace's service accounts.
async fn service_accounts(server: &ApiServer, namespace: &str) -> Result<Vec<String>, ApiError> {
    let def = server
        .scheme
        .lookup("", "v1", "serviceaccounts")
        .ok_or(ApiError::PathNotFound)?;
    let cache = server.watch_caches.of(def).await?;
    let (objects, _) = cache.snapshot(&def.namespace_prefix(Some(namespace)));
    Ok(objects
        .iter()
        .filter_map(|(key, _)| key.rsplit('/').next().map(str::to_string))
        .collect())
}
