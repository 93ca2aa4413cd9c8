//! The audit log, as upstream's log backend writes it: `audit.k8s.io/v1` `Event`s, one JSON
//! object per line, for the requests an `audit.k8s.io/v1` `Policy` selects, at its levels
//! (`Metadata`, `Request`, `RequestResponse`) and stages, to a file rotated by size (or to
//! stdout).
//!
//! - `policy.rs`: the policy file, its validation and its rules;
//! - `event.rs`: the event and how it is written;
//! - `layer.rs`: the middleware that records each request, `completion.rs` its last event,
//!   `body.rs` the bodies it watches (`captured.rs` what it keeps of them), `request_body.rs`
//!   what it makes of request bodies;
//! - `context.rs`: the per-request handle the rest of the server annotates events through;
//! - `sink.rs`: the writer thread and its bounded queue, `rotate.rs` the rotated file.
//!
//! # Annotating the current request's event
//!
//! A component that decides something about a request (an admission plugin, image trust)
//! records it on the request's audit event with an annotation, from the request's
//! extensions, which carry an [`AuditContext`] while the request is audited:
//!
//! ```ignore
//! // In a handler holding the request (or its `Parts`):
//! apiserver::audit::annotate(request.extensions(), "imagepolicy.image.openshift.io/decision", "allow");
//! // Or keep a handle to pass down to code that does not see the request:
//! let audit = apiserver::audit::AuditContext::of(&parts.extensions);
//! if let Some(audit) = &audit {
//!     audit.annotate("imagepolicy.image.openshift.io/reason", "signed by the release key");
//! }
//! ```
//!
//! Annotations appear at every level from `Metadata` on, in the events written after they
//! are added (so before the response is complete); the first value of a key stays.

mod body;
mod captured;
mod completion;
mod context;
mod event;
mod layer;
mod policy;
mod request_body;
mod rotate;
mod sink;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use context::{AuditContext, annotate, annotate_current, audited, scope};
pub(crate) use layer::{note_impersonation, record};
pub use policy::{Level, Policy, PolicyError, Stage};
pub use rotate::Rotation;
pub use sink::Sink;

/// The audit backend: which requests are recorded, and where.
pub struct Audit {
    policy: Policy,
    sink: Sink,
}

/// The `oxshift start` flags that set up auditing.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--audit-policy`: the policy file (none: OpenShift's `Default` profile).
    pub policy_file: Option<PathBuf>,
    /// `--audit-log`: where events go (`-`: stdout; none: no auditing, as upstream).
    pub log_path: Option<PathBuf>,
    /// `--audit-log-maxsize`, `--audit-log-maxbackup`, `--audit-log-maxage`.
    pub rotation: Rotation,
}

/// Why auditing cannot start.
#[derive(Debug)]
pub enum Error {
    Policy(PolicyError),
    Log(PathBuf, std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Policy(e) => e.fmt(f),
            Error::Log(path, e) => write!(f, "opening the audit log {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

impl Audit {
    pub fn new(policy: Policy, sink: Sink) -> Audit {
        Audit { policy, sink }
    }

    /// The backend the options ask for: none without a log path (a policy given anyway is
    /// still checked, so that a mistake shows at start).
    pub fn from_options(options: &Options) -> Result<Option<Audit>, Error> {
        let policy = match &options.policy_file {
            Some(file) => Policy::load(file).map_err(Error::Policy)?,
            None => Policy::default_profile(),
        };
        let Some(path) = &options.log_path else {
            if options.policy_file.is_some() {
                tracing::warn!("an audit policy without --audit-log: nothing is audited");
            }
            return Ok(None);
        };
        let sink = match path.as_os_str() == "-" {
            true => Sink::stdout(),
            false => Sink::file(path, options.rotation),
        }
        .map_err(|e| Error::Log(path.clone(), e))?;
        Ok(Some(Audit::new(policy, sink)))
    }

    /// Resolves once every event recorded so far is written out.
    pub async fn flush(&self) {
        self.sink.flush().await;
    }
}
