//! Every error the API answers with, mapped to `metav1.Status` in this one place, with
//! upstream's reasons, codes and messages (clients print them to their users verbatim).

use api::status::{Status, StatusCause, StatusDetails};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What a resource error is about: the resource (plural, with group) and the object name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    /// The resource's plural name (upstream puts it in `details.kind`).
    pub resource: String,
    pub name: String,
}

impl Target {
    /// `configmaps` or `deployments.apps`, as upstream qualifies a resource in messages.
    fn qualified(&self) -> String {
        match self.group.as_str() {
            "" => self.resource.clone(),
            g => format!("{}.{g}", self.resource),
        }
    }

    fn details(&self) -> StatusDetails {
        StatusDetails {
            name: self.name.clone(),
            group: self.group.clone(),
            kind: self.resource.clone(),
            ..Default::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No such route at all.
    PathNotFound,
    NotFound(Target),
    AlreadyExists(Target),
    Conflict(Target),
    /// A conflict for a reason of its own (a failed precondition).
    ConflictBecause {
        target: Target,
        reason: String,
    },
    /// Server-side apply found fields other managers own: the message and one
    /// `FieldManagerConflict` cause per field.
    ApplyConflict {
        target: Target,
        message: String,
        causes: Vec<StatusCause>,
    },
    /// A field failed validation; `kind` is the object's kind.
    Invalid {
        kind: String,
        target: Target,
        causes: Vec<StatusCause>,
    },
    BadRequest(String),
    /// An operation of a JSON patch failed (a `test`, a missing path): upstream's generic
    /// 422, which does not say which.
    PatchFailed,
    Unauthorized,
    /// 401 with a message of its own (a webhook's refused secret).
    UnauthorizedBecause(String),
    /// The authorizer did not allow the request; `message` says who cannot do what.
    Forbidden {
        target: Target,
        message: String,
    },
    /// A create in a namespace that is being deleted (upstream's NamespaceLifecycle
    /// admission): Forbidden, with the `NamespaceTerminating` cause clients look for.
    NamespaceTerminating {
        target: Target,
        namespace: String,
    },
    MethodNotAllowed,
    NotAcceptable,
    /// A body in a format this endpoint does not take; names the accepted ones.
    UnsupportedMediaType(&'static str),
    /// A resourceVersion or continue token that points into compacted history.
    Expired(String),
    /// A continue token whose revision was compacted away: `token` reads the rest of the
    /// list at the latest revision instead.
    ContinueExpired {
        token: String,
    },
    /// A watch start that is too old.
    Gone(String),
    RequestEntityTooLarge(String),
    /// The request could not be served in time.
    Timeout(String),
    /// A read not older than a revision the store has not reached (after waiting for it).
    TooLargeResourceVersion {
        requested: u64,
        current: u64,
    },
    ServiceUnavailable(String),
    /// An eviction a disruption budget refuses now (upstream's TooManyRequests with the
    /// `DisruptionBudget` cause saying why, and when to ask again if known).
    DisruptionBudget {
        why: String,
        retry_after: Option<u32>,
    },
    /// An eviction a budget whose status is out of bounds forbids (`error`), with the
    /// `DisruptionBudget` cause saying what it does not allow (`cause`).
    DisruptionBudgetForbidden {
        budget: String,
        error: &'static str,
        cause: &'static str,
    },
    Internal(String),
    /// An object that could not be converted between versions of its kind: upstream's
    /// 500 without a reason, the converter's message as is.
    Conversion(String),
    /// A Status decided whole elsewhere (an admission webhook's or policy's denial, built
    /// with upstream's rules in `admission/`).
    Status(Box<Status>),
    /// A node answered a proxied request with an error the API server does not know better:
    /// upstream's generic server response (its reason by code) about `target`.
    Backend {
        code: u16,
        target: Target,
    },
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

impl ApiError {
    pub fn status(&self) -> Status {
        match self {
            ApiError::PathNotFound => {
                Status::failure(404, "NotFound", "the server could not find the requested resource")
                    .with_details(StatusDetails::default())
            }
            ApiError::NotFound(t) => {
                Status::failure(404, "NotFound", format!("{} \"{}\" not found", t.qualified(), t.name))
                    .with_details(t.details())
            }
            ApiError::AlreadyExists(t) => {
                Status::failure(409, "AlreadyExists", format!("{} \"{}\" already exists", t.qualified(), t.name))
                    .with_details(t.details())
            }
            ApiError::Conflict(t) => Status::failure(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                    t.qualified(),
                    t.name
                ),
            )
            .with_details(t.details()),
            ApiError::ConflictBecause { target, reason } => Status::failure(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {} \"{}\": {reason}", target.qualified(), target.name),
            )
            .with_details(target.details()),
            ApiError::ApplyConflict { target, message, causes } => {
                let details = StatusDetails { causes: causes.clone(), ..target.details() };
                Status::failure(409, "Conflict", message.clone()).with_details(details)
            }
            ApiError::Invalid { kind, target, causes } => {
                let summary = causes
                    .iter()
                    .map(|c| format!("{}: {}", c.field, c.message))
                    .collect::<Vec<_>>()
                    .join(", ");
                // Upstream names the kind with its group: `Deployment.apps "d" is invalid`.
                let qualified = match (kind.as_str(), target.group.as_str()) {
                    (k, "") => k.to_string(),
                    ("", g) => g.to_string(),
                    (k, g) => format!("{k}.{g}"),
                };
                let message = match causes.len() {
                    1 => format!("{qualified} \"{}\" is invalid: {summary}", target.name),
                    _ => format!("{qualified} \"{}\" is invalid: [{summary}]", target.name),
                };
                let details = StatusDetails { causes: causes.clone(), kind: kind.clone(), ..target.details() };
                Status::failure(422, "Invalid", message).with_details(details)
            }
            ApiError::BadRequest(m) => Status::failure(400, "BadRequest", m.clone()),
            ApiError::PatchFailed => Status::failure(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
            )
            .with_details(StatusDetails::default()),
            ApiError::Unauthorized => Status::failure(401, "Unauthorized", "Unauthorized"),
            ApiError::UnauthorizedBecause(m) => Status::failure(401, "Unauthorized", m.clone()),
            ApiError::Forbidden { target, message } => {
                let text = match (target.resource.as_str(), target.name.as_str()) {
                    ("", _) => format!("forbidden: {message}"),
                    (_, "") => format!("{} is forbidden: {message}", target.qualified()),
                    (_, name) => format!("{} \"{name}\" is forbidden: {message}", target.qualified()),
                };
                Status::failure(403, "Forbidden", text).with_details(target.details())
            }
            ApiError::NamespaceTerminating { target, namespace } => {
                let forbidden = ApiError::Forbidden {
                    target: target.clone(),
                    message: format!("unable to create new content in namespace {namespace} because it is being terminated"),
                };
                let mut status = forbidden.status();
                if let Some(details) = status.details.as_mut() {
                    details.causes.push(StatusCause {
                        reason: "NamespaceTerminating".into(),
                        message: format!("namespace {namespace} is being terminated"),
                        field: "metadata.namespace".into(),
                    });
                }
                status
            }
            ApiError::MethodNotAllowed => Status::failure(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            ),
            ApiError::NotAcceptable => Status::failure(
                406,
                "NotAcceptable",
                "the server was unable to respond with a content type that the client supports",
            ),
            ApiError::UnsupportedMediaType(accepted) => Status::failure(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: {accepted}"),
            ),
            ApiError::Expired(m) => Status::failure(410, "Expired", m.clone()),
            ApiError::ContinueExpired { token } => {
                let mut status = Status::failure(410, "Expired", CONTINUE_EXPIRED);
                status.metadata.insert("continue".into(), token.clone().into());
                status
            }
            ApiError::Gone(m) => Status::failure(410, "Gone", m.clone()),
            ApiError::RequestEntityTooLarge(m) => Status::failure(413, "RequestEntityTooLarge", format!("Request entity too large: {m}")),
            ApiError::Timeout(m) => Status::failure(504, "Timeout", format!("Timeout: {m}")),
            ApiError::TooLargeResourceVersion { requested, current } => Status::failure(
                504,
                "Timeout",
                format!("Timeout: Too large resource version: {requested}, current: {current}"),
            )
            .with_details(StatusDetails {
                causes: vec![StatusCause {
                    reason: "ResourceVersionTooLarge".into(),
                    message: "Too large resource version".into(),
                    field: String::new(),
                }],
                retry_after_seconds: Some(1),
                ..Default::default()
            }),
            ApiError::ServiceUnavailable(m) => Status::failure(503, "ServiceUnavailable", m.clone()),
            ApiError::DisruptionBudget { why, retry_after } => Status::failure(
                429,
                "TooManyRequests",
                "Cannot evict pod as it would violate the pod's disruption budget.",
            )
            .with_details(StatusDetails {
                causes: vec![StatusCause {
                    reason: "DisruptionBudget".into(),
                    message: why.clone(),
                    field: String::new(),
                }],
                retry_after_seconds: *retry_after,
                ..Default::default()
            }),
            ApiError::DisruptionBudgetForbidden { budget, error, cause } => {
                let mut status = ApiError::Forbidden {
                    target: Target {
                        group: "policy".into(),
                        resource: "poddisruptionbudget".into(),
                        name: budget.clone(),
                    },
                    message: (*error).to_string(),
                }
                .status();
                if let Some(details) = status.details.as_mut() {
                    details.causes.push(StatusCause {
                        reason: "DisruptionBudget".into(),
                        message: format!(
                            "The disruption budget {budget} does not allow evicting pods currently: {cause}"
                        ),
                        field: String::new(),
                    });
                }
                status
            }
            ApiError::Internal(m) => Status::failure(500, "InternalError", format!("Internal error occurred: {m}")),
            ApiError::Conversion(m) => Status::failure(500, "", m.clone()),
            ApiError::Status(status) => (**status).clone(),
            ApiError::Backend { code, target } => {
                let (reason, message) = match code {
                    401 => ("Unauthorized", "the server has asked for the client to provide credentials".to_string()),
                    403 => ("Forbidden", "the server does not allow access to the requested resource".to_string()),
                    404 => ("NotFound", "the server could not find the requested resource".to_string()),
                    503 => ("ServiceUnavailable", "the server is currently unable to handle the request".to_string()),
                    c => ("", format!("the server responded with the status code {c} but did not return more information")),
                };
                let message = format!("{message} ( {} {})", target.qualified(), target.name);
                Status::failure(*code, reason, message).with_details(target.details())
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.status().message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The Status as a JSON value (for watch ERROR events).
    pub fn status_value(&self) -> serde_json::Value {
        serde_json::to_value(self.status()).unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = StatusCode::from_u16(status.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&status).unwrap_or_default();
        let mut response =
            (code, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        // Clients back off as the Status says, through the header too.
        if let Some(seconds) = status.details.and_then(|d| d.retry_after_seconds) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// Storage failures as the API reports them, for the object `target`.
pub fn from_storage(err: storage::Error, target: Target) -> ApiError {
    use storage::Error as E;
    match err {
        E::NotFound { .. } => ApiError::NotFound(target),
        E::KeyExists { .. } => ApiError::AlreadyExists(target),
        E::Conflict { .. } => ApiError::Conflict(target),
        E::Compacted { .. } => {
            ApiError::Expired("The resourceVersion for the provided list is too old.".into())
        }
        E::FutureRevision { requested, .. } => {
            ApiError::Gone(format!("Too large resource version: {requested}"))
        }
        E::TooLarge { .. } => ApiError::RequestEntityTooLarge(err.to_string()),
        E::Unavailable(m) => ApiError::ServiceUnavailable(m),
        other => ApiError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str) -> Target {
        Target {
            group: String::new(),
            resource: "configmaps".into(),
            name: name.into(),
        }
    }

    #[test]
    fn messages_match_upstream() {
        assert_eq!(
            ApiError::NotFound(cm("a")).status().message,
            "configmaps \"a\" not found"
        );
        let dep = Target {
            group: "apps".into(),
            resource: "deployments".into(),
            name: "d".into(),
        };
        let s = ApiError::AlreadyExists(dep).status();
        assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(s.message, "deployments.apps \"d\" already exists");
        assert_eq!(s.details.unwrap().kind, "deployments");
        let invalid = ApiError::Invalid {
            kind: "ConfigMap".into(),
            target: cm("Bad"),
            causes: vec![StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: \"Bad\": bad".into(),
                field: "metadata.name".into(),
            }],
        };
        assert_eq!(
            invalid.status().message,
            "ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\": bad"
        );
        let json = serde_json::to_value(ApiError::Unauthorized.status()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                "message":"Unauthorized","reason":"Unauthorized","code":401})
        );
    }
}
