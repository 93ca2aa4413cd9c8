//! The registry's error answers, as distribution's `errcode` serves them:
//! `{"errors":[{"code":..,"message":..,"detail":..}]}` with the code's HTTP status, and the two
//! codes OpenShift's registry adds for signatures.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::json;

use super::Body;

/// One error code: its value, HTTP status and fixed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Code {
    pub value: &'static str,
    pub status: StatusCode,
    pub message: &'static str,
}

pub(super) const UNKNOWN: Code = Code {
    value: "UNKNOWN",
    status: StatusCode::INTERNAL_SERVER_ERROR,
    message: "unknown error",
};
pub(super) const UNSUPPORTED: Code = Code {
    value: "UNSUPPORTED",
    status: StatusCode::METHOD_NOT_ALLOWED,
    message: "The operation is unsupported.",
};
pub(super) const UNAUTHORIZED: Code = Code {
    value: "UNAUTHORIZED",
    status: StatusCode::UNAUTHORIZED,
    message: "authentication required",
};
pub(super) const DENIED: Code = Code {
    value: "DENIED",
    status: StatusCode::FORBIDDEN,
    message: "requested access to the resource is denied",
};
pub(super) const UNAVAILABLE: Code = Code {
    value: "UNAVAILABLE",
    status: StatusCode::SERVICE_UNAVAILABLE,
    message: "service unavailable",
};
pub(super) const NAME_INVALID: Code = Code {
    value: "NAME_INVALID",
    status: StatusCode::BAD_REQUEST,
    message: "invalid repository name",
};
pub(super) const DIGEST_INVALID: Code = Code {
    value: "DIGEST_INVALID",
    status: StatusCode::BAD_REQUEST,
    message: "provided digest did not match uploaded content",
};
pub(super) const SIGNATURE_INVALID: Code = Code {
    value: "SIGNATURE_INVALID",
    status: StatusCode::BAD_REQUEST,
    message: "invalid image signature",
};
pub(super) const SIGNATURE_EXISTS: Code = Code {
    value: "SIGNATURE_EXISTS",
    status: StatusCode::CONFLICT,
    message: "image signature already exists",
};

/// An error of the registry API, with its detail when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RegistryError {
    pub code: Code,
    pub detail: Option<String>,
}

impl Code {
    pub(super) fn with_detail(self, detail: impl Into<String>) -> RegistryError {
        RegistryError {
            code: self,
            detail: Some(detail.into()),
        }
    }

    pub(super) fn bare(self) -> RegistryError {
        RegistryError {
            code: self,
            detail: None,
        }
    }
}

impl RegistryError {
    pub(super) fn body(&self) -> String {
        let mut error = json!({"code": self.code.value, "message": self.code.message});
        if let Some(detail) = &self.detail {
            error["detail"] = json!(detail);
        }
        json!({ "errors": [error] }).to_string()
    }

    /// The answer; `challenge` is sent with 401s, as the registry's own.
    pub(super) fn response(&self, challenge: &HeaderValue) -> Response<Body> {
        let mut response = Response::new(full(self.body()));
        *response.status_mut() = self.code.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
        if self.code.status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, challenge.clone());
        }
        response
    }
}

pub(super) const JSON: &str = "application/json; charset=utf-8";

pub(super) fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_distributions() {
        assert_eq!(
            DENIED.bare().body(),
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
        );
        assert_eq!(
            SIGNATURE_INVALID
                .with_detail("only schemaVersion=2 is currently supported")
                .body(),
            r#"{"errors":[{"code":"SIGNATURE_INVALID","message":"invalid image signature","detail":"only schemaVersion=2 is currently supported"}]}"#
        );
    }

    #[test]
    fn unauthorized_answers_carry_the_challenge() {
        let challenge =
            HeaderValue::from_static(r#"Bearer realm="https://127.0.0.1:1/openshift/token""#);
        let r = UNAUTHORIZED.bare().response(&challenge);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], challenge);
        let r = DENIED.bare().response(&challenge);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(r.headers()[CONTENT_TYPE], JSON);
    }
}
