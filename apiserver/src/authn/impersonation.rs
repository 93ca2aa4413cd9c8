//! Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>` headers make a
//! request act as another user, if the requester may `impersonate` each of them (users,
//! groups, uids, user extras, or a service account in its namespace), as upstream.

use auth::rbac::Attributes;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiServer;
use crate::authz::authorizer::{forbidden, user_info};
use crate::error::ApiError;
use crate::http::serve::User;

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA_PREFIX: &str = "impersonate-extra-";
const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// Replaces the request's user with the impersonated one, once the requester is allowed to.
pub async fn impersonate(
    State(server): State<std::sync::Arc<ApiServer>>,
    mut request: Request,
    next: Next,
) -> Response {
    match impersonated(
        &server,
        request.headers(),
        request.extensions().get::<User>(),
    )
    .await
    {
        Ok(Some(user)) => drop(request.extensions_mut().insert(user)),
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    next.run(request).await
}

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// The percent-decoded key of an `Impersonate-Extra-` header.
fn extra_key(header: &str) -> String {
    let mut out = Vec::new();
    let bytes = header.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn impersonated(
    server: &ApiServer,
    headers: &HeaderMap,
    requester: Option<&User>,
) -> Result<Option<User>, ApiError> {
    let name = values(headers, USER).into_iter().next().unwrap_or_default();
    let groups = values(headers, GROUP);
    let uid = values(headers, UID).into_iter().next().unwrap_or_default();
    let mut extra = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (header, value) in headers {
        if let Some(key) = header.as_str().strip_prefix(EXTRA_PREFIX)
            && let Ok(value) = value.to_str()
        {
            extra
                .entry(extra_key(key))
                .or_default()
                .push(value.to_string());
        }
    }
    if name.is_empty() && groups.is_empty() && uid.is_empty() && extra.is_empty() {
        return Ok(None);
    }
    let requester = requester.ok_or(ApiError::Unauthorized)?;
    if name.is_empty() {
        return Err(ApiError::BadRequest(
            "impersonating groups, a uid or extra fields requires impersonating a user".into(),
        ));
    }
    let mut asked = Vec::new();
    let service_account = name
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'));
    asked.push(match service_account {
        Some((namespace, sa)) => attrs("", "serviceaccounts", "", namespace, sa),
        None => attrs("", "users", "", "", &name),
    });
    asked.extend(groups.iter().map(|g| attrs("", "groups", "", "", g)));
    if !uid.is_empty() {
        asked.push(attrs("authentication.k8s.io", "uids", "", "", &uid));
    }
    for (key, values) in &extra {
        asked.extend(
            values
                .iter()
                .map(|v| attrs("authentication.k8s.io", "userextras", key, "", v)),
        );
    }
    let policy = server.authorizer.policy().await;
    let who = user_info(requester);
    if let Some(denied) = asked.iter().find(|a| !policy.authorize(&who, a).allowed()) {
        return Err(forbidden(&who, denied));
    }
    let mut all_groups = groups;
    if let Some((namespace, _)) = service_account {
        all_groups.push("system:serviceaccounts".into());
        all_groups.push(format!("system:serviceaccounts:{namespace}"));
    }
    if name != "system:anonymous" && !all_groups.iter().any(|g| g == auth::rbac::AUTHENTICATED) {
        all_groups.push(auth::rbac::AUTHENTICATED.into());
    }
    Ok(Some(User {
        name,
        groups: all_groups,
        uid,
        extra,
    }))
}

fn attrs(
    group: &str,
    resource: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Attributes {
    Attributes {
        verb: "impersonate".into(),
        namespace: namespace.into(),
        api_group: group.into(),
        resource: resource.into(),
        subresource: subresource.into(),
        name: name.into(),
        path: String::new(),
        resource_request: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_keys_are_percent_decoded() {
        assert_eq!(extra_key("scopes"), "scopes");
        assert_eq!(extra_key("example.com%2fteam"), "example.com/team");
        assert_eq!(extra_key("bad%zz"), "bad%zz");
    }
}
