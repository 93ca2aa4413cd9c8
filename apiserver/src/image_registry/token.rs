//! `GET /openshift/token`: the token server of docker-registry's `auth: token`. The caller is
//! anonymous, or authenticates with Basic credentials whose password is an OAuth or
//! service-account token (`docker login -p $(oc whoami -t)`). Each requested action is
//! granted when RBAC allows its counterpart (pull: `get imagestreams/layers`, push: `update
//! imagestreams/layers`, and `create imagestreams` when the stream does not exist yet); what
//! is not allowed is left out of the token, never answered with an error, as the token
//! specification wants.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::grants::Grant;
use super::scope::{self, Scope};
use crate::Shared;
use crate::http::request_info::RequestInfo;
use crate::http::serve::User;

/// How long a token is valid.
const LIFETIME: i64 = 300;

pub(crate) async fn handle(
    State(server): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(tokens) = server.image_registry.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (user, openshift_token) = match caller(&server, &headers).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let scopes = scope::parse_all(
        params
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.as_str()),
    );
    let mut access = Vec::new();
    for s in &scopes {
        let actions = granted(&server, &user, s).await;
        access.push(auth::registry_tokens::Access {
            kind: s.kind.clone(),
            name: s.name.clone(),
            actions,
        });
    }
    let now = jiff::Timestamp::now();
    let token = match tokens.signer.sign(
        &tokens.issuer,
        &tokens.service,
        &user.name,
        &access,
        now.as_second(),
        LIFETIME,
    ) {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "signing a registry token failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    tokens.grants.remember(
        &token,
        Grant {
            token: openshift_token,
            access,
        },
        std::time::Duration::from_secs(LIFETIME as u64),
    );
    let body = serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": LIFETIME,
        "issued_at": now.to_string(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The user the Basic credentials' password (a token) names, with that token, or the
/// anonymous user.
async fn caller(server: &Shared, headers: &HeaderMap) -> Result<(User, Option<String>), Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        let anonymous = User {
            name: crate::authn::authentication::ANONYMOUS.into(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        };
        return Ok((anonymous, None));
    };
    let password = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok())
        .and_then(|d| d.split_once(':').map(|(_, p)| p.to_string()));
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"details":"unable to validate token"}"#,
        )
            .into_response()
    };
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return Err(unauthorized());
    };
    let user = crate::authn::authentication::user_of(server, &password)
        .await
        .ok_or_else(unauthorized)?;
    Ok((user, Some(password)))
}

/// The requested actions RBAC allows `user`.
async fn granted(server: &Shared, user: &User, s: &Scope) -> Vec<String> {
    let mut out = Vec::new();
    if s.kind != "repository" {
        return out;
    }
    let Some((project, stream)) = scope::project_and_stream(&s.name) else {
        return out;
    };
    for action in &s.actions {
        let allowed = match action.as_str() {
            "pull" => may(server, user, "get", project, "layers", stream).await,
            "push" => {
                may(server, user, "update", project, "layers", stream).await
                    && (stream_exists(server, project, stream).await
                        || may(server, user, "create", project, "", stream).await)
            }
            _ => false,
        };
        if allowed && !out.contains(action) {
            if action == "push"
                && let Some(registry) = &server.image_registry
            {
                registry.pushers.remember(user);
            }
            out.push(action.clone());
        }
    }
    out
}

/// Whether RBAC lets `user` `verb` the image stream (or its `subresource`).
pub(super) async fn may(
    server: &Shared,
    user: &User,
    verb: &str,
    namespace: &str,
    subresource: &str,
    name: &str,
) -> bool {
    let info = RequestInfo {
        is_resource: true,
        verb: verb.into(),
        group: "image.openshift.io".into(),
        version: "v1".into(),
        namespace: Some(namespace.into()),
        resource: "imagestreams".into(),
        subresource: (!subresource.is_empty()).then(|| subresource.to_string()),
        name: (verb != "create").then(|| name.to_string()),
        subpath: String::new(),
    };
    let path = format!("/apis/image.openshift.io/v1/namespaces/{namespace}/imagestreams/{name}");
    server.authorizer.check(user, &info, &path).await.is_ok()
}

pub(super) async fn stream_exists(server: &Shared, namespace: &str, name: &str) -> bool {
    let Some(def) = server
        .scheme
        .lookup("image.openshift.io", "v1", "imagestreams")
    else {
        return false;
    };
    matches!(
        server.get_object(def, Some(namespace), name).await,
        Ok(Some(_))
    )
}
