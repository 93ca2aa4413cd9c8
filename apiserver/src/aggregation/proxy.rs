//! The layer that passes requests for aggregated group versions on to their servers, as
//! kube-aggregator's proxy handler does: after authentication, impersonation and
//! authorization here, the request goes to the service's first ready endpoint with the
//! front proxy's client certificate and the user in `X-Remote-User`, `X-Remote-Group` and
//! `X-Remote-Extra-<key>` (the client's credentials and any such headers it sent are not
//! passed on). Bodies stream both ways (watches included); upgrades are spliced. An
//! unavailable group version answers 503 `service unavailable`, as upstream.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::check;
use crate::Shared;
use crate::http::serve::User;
use crate::registry::core::pod_streams::proxy::{is_upgrade, switched};

/// Request headers never passed on: credentials, impersonation, the identity headers this
/// proxy sets, and hop-by-hop headers.
fn passed_on(name: &HeaderName) -> bool {
    let name = name.as_str();
    !(name.starts_with("impersonate-")
        || name.starts_with("x-remote-")
        || matches!(
            name,
            "authorization"
                | "host"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "proxy-authorization"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
        ))
}

/// The group and version of an `/apis/<group>/<version>[/...]` path.
fn group_version(path: &str) -> Option<(&str, &str)> {
    let mut parts = path.strip_prefix("/apis/")?.split('/');
    let group = parts.next().filter(|g| !g.is_empty())?;
    let version = parts.next().filter(|v| !v.is_empty())?;
    Some((group, version))
}

fn plain(code: StatusCode, text: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

/// The identity headers of `user`, as client-go's auth proxy round tripper sets them.
pub fn identity_headers(headers: &mut HeaderMap, user: &User) {
    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    };
    add("X-Remote-User", &user.name);
    for group in &user.groups {
        add("X-Remote-Group", group);
    }
    for (key, values) in &user.extra {
        let name = format!("X-Remote-Extra-{}", path_escape(key));
        for value in values {
            add(&name, value);
        }
    }
}

/// Go's `url.PathEscape`: everything but unreserved characters and a few sub-delimiters
/// percent-encoded.
fn path_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b'$' | b'&' | b'+' | b',' | b':' | b';' | b'=' | b'@' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub async fn layer(State(server): State<Shared>, request: Request, next: Next) -> Response {
    let Some((group, version)) = group_version(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(external) = server.aggregation.external(group, version) else {
        return next.run(request).await;
    };
    if !external.available {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    let transport = match &external.transport {
        Ok(transport) => transport.clone(),
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let Some(mut user) = request.extensions().get::<User>().cloned() else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "missing user");
    };
    // With the groups every authenticated user has, as upstream's authenticators add them.
    user.groups = crate::authz::authorizer::user_info(&user).groups;
    let addr = match check::endpoint(&server, &external.service).await {
        Ok(addr) => addr,
        Err((_, message)) => {
            tracing::debug!(%message, "aggregated server unreachable");
            return plain(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
        }
    };
    let name = check::server_name(&external.service);
    let mut sender = match transport.connect(addr, &name).await {
        Ok(sender) => sender,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, &e),
    };
    let (mut parts, body) = request.into_parts();
    let upgrade = is_upgrade(&parts.headers);
    let client_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut headers: HeaderMap = HeaderMap::new();
    for (key, value) in parts.headers.iter().filter(|(k, _)| passed_on(k)) {
        headers.append(key.clone(), value.clone());
    }
    identity_headers(&mut headers, &user);
    if let Ok(host) = HeaderValue::from_str(&format!("{name}:{}", external.service.port)) {
        headers.insert(header::HOST, host);
    }
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        for value in parts.headers.get_all(header::UPGRADE) {
            headers.append(header::UPGRADE, value.clone());
        }
    }
    let mut outgoing = hyper::Request::new(match upgrade {
        true => Body::empty(),
        false => body,
    });
    *outgoing.method_mut() = parts.method.clone();
    *outgoing.headers_mut() = headers;
    *outgoing.uri_mut() = match path.parse() {
        Ok(uri) => uri,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "invalid path"),
    };
    let response = match sender.send_request(outgoing).await {
        Ok(response) => response,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return match client_upgrade {
            Some(client_upgrade) => switched(client_upgrade, response),
            None => plain(StatusCode::BAD_GATEWAY, "upgrade not possible"),
        };
    }
    let (parts, body) = response.into_parts();
    let mut answer = Response::new(Body::new(body));
    *answer.status_mut() = parts.status;
    for (key, value) in parts.headers.iter().filter(|(k, _)| passed_on(k)) {
        answer.headers_mut().append(key.clone(), value.clone());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            group_version("/apis/wardle.example.com/v1/namespaces/a/flunders"),
            Some(("wardle.example.com", "v1"))
        );
        assert_eq!(
            group_version("/apis/wardle.example.com/v1"),
            Some(("wardle.example.com", "v1"))
        );
        assert_eq!(group_version("/apis/wardle.example.com"), None);
        assert_eq!(group_version("/api/v1/pods"), None);
    }

    #[test]
    fn identity_replaces_what_the_client_sent() {
        let user = User {
            name: "alice".into(),
            groups: vec!["system:authenticated".into(), "devs".into()],
            uid: String::new(),
            extra: [(
                "scopes.authorization.openshift.io".to_string(),
                vec!["user:full".to_string()],
            )]
            .into_iter()
            .collect(),
        };
        let mut sent = HeaderMap::new();
        sent.insert("x-remote-user", HeaderValue::from_static("mallory"));
        sent.insert("authorization", HeaderValue::from_static("Bearer secret"));
        sent.insert("impersonate-user", HeaderValue::from_static("bob"));
        sent.insert("accept", HeaderValue::from_static("application/json"));
        let mut headers = HeaderMap::new();
        for (key, value) in sent.iter().filter(|(k, _)| passed_on(k)) {
            headers.append(key.clone(), value.clone());
        }
        identity_headers(&mut headers, &user);
        assert_eq!(headers.get_all("x-remote-user").iter().count(), 1);
        assert_eq!(headers["x-remote-user"], "alice");
        assert_eq!(headers.get_all("x-remote-group").iter().count(), 2);
        assert_eq!(
            headers["x-remote-extra-scopes.authorization.openshift.io"],
            "user:full"
        );
        assert!(headers.get("authorization").is_none());
        assert!(headers.get("impersonate-user").is_none());
        assert_eq!(headers["accept"], "application/json");
        assert_eq!(path_escape("a b/c%"), "a%20b%2Fc%25");
    }
}
