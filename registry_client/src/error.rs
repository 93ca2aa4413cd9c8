//! What can go wrong talking to a registry, in the categories an importer reports to its users
//! (upstream maps them to NotFound, Unauthorized, BadRequest and InternalError statuses).

use std::time::Duration;

/// Why a registry refused access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnauthorizedReason {
    /// No credentials matched the registry, and it wants some.
    NoCredentials,
    /// The registry or its token server refused the credentials given.
    BadCredentials,
    /// The identity is known but not allowed this repository.
    Denied,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// The repository, tag or digest does not exist (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`,
    /// `BLOB_UNKNOWN` or a bare 404). `code` is the registry's error code when it sent one.
    #[error("{what} not found{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    NotFound { what: String, code: Option<String> },
    #[error("unauthorized: {message}")]
    Unauthorized {
        reason: UnauthorizedReason,
        message: String,
    },
    /// The content does not hash to the digest asked for or announced.
    #[error(
        "content integrity error: the content retrieved with digest {expected} does not match the digest calculated from the content {actual}"
    )]
    DigestMismatch { expected: String, actual: String },
    /// The content is larger than the limit.
    #[error("the content is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the registry did not answer within {0:?}")]
    Timeout(Duration),
    /// No connection could be made (refused, unresolvable, TLS failure).
    #[error("the registry {registry} could not be reached: {message}")]
    Unreachable { registry: String, message: String },
    /// The registry answers HTTP only, and insecure access was not allowed.
    #[error("the registry {registry} is HTTP only and requires the insecure flag")]
    HttpOnly { registry: String },
    /// Anything else the registry answered that the API does not allow.
    #[error("{message}")]
    Protocol { message: String },
}

impl RegistryError {
    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        RegistryError::Protocol {
            message: message.into(),
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            RegistryError::Timeout(_) | RegistryError::Unreachable { .. }
        )
    }
}
