//! Who calls the signature extension. As OpenShift's registry, the front takes an OpenShift
//! token (OAuth or service account) as the Basic password or as the Bearer token; a Bearer
//! token the integrated registry's token server issued (what docker-registry's challenge sends
//! clients for) stands for the OpenShift token it was asked for with, and for the access it
//! grants.

use base64::Engine;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;

use apiserver::image_registry::{Grant, IntegratedRegistry};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Caller {
    Anonymous,
    /// An OpenShift token, as the client sent it.
    Token(String),
    /// A registry token of the token server.
    Granted(Grant),
}

impl Caller {
    /// The OpenShift token to act with through the API.
    pub(super) fn token(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Token(t) => Some(t),
            Caller::Granted(g) => g.token.as_deref(),
        }
    }
}

pub(super) fn caller(headers: &HeaderMap, registry: Option<&IntegratedRegistry>) -> Caller {
    let Some(value) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    else {
        return Caller::Anonymous;
    };
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty() {
        return match registry.and_then(|r| r.grant(credentials)) {
            Some(grant) => Caller::Granted(grant),
            None => Caller::Token(credentials.to_string()),
        };
    }
    if scheme.eq_ignore_ascii_case("basic")
        && let Some(password) = basic_password(credentials)
    {
        return Caller::Token(password);
    }
    Caller::Anonymous
}

/// The password of Basic credentials, when there is one.
fn basic_password(encoded: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_, password) = decoded.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        h
    }

    #[test]
    fn tokens_come_as_basic_passwords_or_bearers() {
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:sha256~abc");
        assert_eq!(
            caller(&headers(&format!("Basic {basic}")), None),
            Caller::Token("sha256~abc".into())
        );
        assert_eq!(
            caller(&headers("Bearer sha256~xyz"), None),
            Caller::Token("sha256~xyz".into())
        );
        assert_eq!(caller(&headers("bearer  t "), None).token(), Some("t"));
    }

    #[test]
    fn anything_else_is_anonymous() {
        assert_eq!(caller(&HeaderMap::new(), None), Caller::Anonymous);
        let no_password = base64::engine::general_purpose::STANDARD.encode("alice:");
        assert_eq!(
            caller(&headers(&format!("Basic {no_password}")), None),
            Caller::Anonymous
        );
        assert_eq!(caller(&headers("Basic !!!"), None), Caller::Anonymous);
        assert_eq!(caller(&headers("Bearer"), None), Caller::Anonymous);
        assert_eq!(caller(&headers("Negotiate abc"), None), Caller::Anonymous);
    }

    #[test]
    fn anonymous_grants_carry_no_token() {
        let grant = Caller::Granted(Grant {
            token: None,
            access: vec![],
        });
        assert_eq!(grant.token(), None);
    }
}
