//! Upstream's Pod Security metrics: `pod_security_evaluations_total` (by decision,
//! policy_level, policy_version, mode, request_operation, resource, subresource),
//! `pod_security_exemptions_total` and `pod_security_errors_total` (with `fatal`), each by the
//! request's operation (`create`, `update`), resource (`pod`, `namespace`, or `controller` for
//! the kinds holding a pod template) and subresource.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::policy::{Level, LevelVersion};
use crate::admission::{Attributes, Operation};

/// The newest policy version this server's checks know: a namespace asking for a later one is
/// counted as `future`, as upstream counts it.
const NEWEST_MINOR: u32 = 32;

/// `v1.0` to `v1.32`, made once: labels are looked up on every evaluation.
static VERSION_LABELS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..=NEWEST_MINOR).map(|m| format!("v1.{m}")).collect());

#[derive(Clone, Debug, EncodeLabelSet)]
struct EvaluationLabels {
    decision: &'static str,
    policy_level: &'static str,
    policy_version: &'static str,
    mode: &'static str,
    request_operation: &'static str,
    resource: &'static str,
    subresource: &'static str,
}

#[derive(Clone, Debug, EncodeLabelSet)]
struct RequestLabels {
    request_operation: &'static str,
    resource: &'static str,
    subresource: &'static str,
}

#[derive(Clone, Debug, EncodeLabelSet)]
struct ErrorLabels {
    fatal: &'static str,
    request_operation: &'static str,
    resource: &'static str,
    subresource: &'static str,
}

/// A label's length and its first and last two bytes: what tells this plugin's few label
/// values apart. Equal labels hash alike, as a map needs; the family's map then compares the
/// few that share a fingerprint. Hashing the whole strings cost more than counting itself.
fn fingerprint(label: &str) -> u32 {
    let b = label.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0) as u32;
    let n = b.len();
    (n as u32 & 0xff) | at(0) << 8 | at(n.wrapping_sub(2)) << 16 | at(n.wrapping_sub(1)) << 24
}

/// Whether two labels are equal, at a glance when they are the same static text.
fn same(a: &str, b: &str) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

/// Hashes a label set by its labels' fingerprints, mixed into one word (the hasher then
/// hashes 8 bytes instead of every label), and compares label sets label by label.
macro_rules! hash_by_fingerprints {
    ($labels:ty: $($field:ident),+) => {
        impl std::hash::Hash for $labels {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                let mut mixed = 0u64;
                $(mixed = (mixed.rotate_left(23) ^ u64::from(fingerprint(self.$field)))
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15);)+
                state.write_u64(mixed);
            }
        }

        impl PartialEq for $labels {
            fn eq(&self, other: &Self) -> bool {
                $(same(self.$field, other.$field))&&+
            }
        }

        impl Eq for $labels {}
    };
}

hash_by_fingerprints!(EvaluationLabels: decision, policy_level, policy_version, mode,
    request_operation, resource, subresource);
hash_by_fingerprints!(RequestLabels: request_operation, resource, subresource);
hash_by_fingerprints!(ErrorLabels: fatal, request_operation, resource, subresource);

/// Which mode an evaluation was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Audit,
    Warn,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Warn => "warn",
        }
    }
}

pub struct PodSecurityMetrics {
    evaluations: Family<EvaluationLabels, Counter>,
    exemptions: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
}

impl PodSecurityMetrics {
    pub fn register(registry: &mut Registry) -> PodSecurityMetrics {
        let metrics = PodSecurityMetrics {
            evaluations: Family::default(),
            exemptions: Family::default(),
            errors: Family::default(),
        };
        registry.register(
            "pod_security_evaluations",
            "Number of policy evaluations that occurred, not counting ignored or exempt requests.",
            metrics.evaluations.clone(),
        );
        registry.register(
            "pod_security_exemptions",
            "Number of exempt requests, not counting ignored or out of scope requests.",
            metrics.exemptions.clone(),
        );
        registry.register(
            "pod_security_errors",
            "Number of errors preventing normal evaluation. Non-fatal errors may result in the latest restricted profile being used for evaluation.",
            metrics.errors.clone(),
        );
        metrics
    }

    /// One evaluation: `allowed` or denied at `policy` in `mode`.
    pub fn evaluation(&self, allowed: bool, policy: LevelVersion, mode: Mode, a: &Attributes<'_>) {
        let (request_operation, resource, subresource) = request(a);
        // Privileged is the same at every version.
        let policy_version = match (policy.level, policy.version.minor_number()) {
            (Level::Privileged, _) | (_, None) => "latest",
            (_, Some(m)) => VERSION_LABELS
                .get(m as usize)
                .map_or("future", String::as_str),
        };
        self.evaluations
            .get_or_create(&EvaluationLabels {
                decision: if allowed { "allow" } else { "deny" },
                policy_level: policy.level.as_str(),
                policy_version,
                mode: mode.as_str(),
                request_operation,
                resource,
                subresource,
            })
            .inc();
    }

    /// A request exempt by namespace, user or runtime class.
    pub fn exemption(&self, a: &Attributes<'_>) {
        let (request_operation, resource, subresource) = request(a);
        self.exemptions
            .get_or_create(&RequestLabels {
                request_operation,
                resource,
                subresource,
            })
            .inc();
    }

    /// An error that kept the request from a normal evaluation (`fatal`: refused for it).
    pub fn error(&self, fatal: bool, a: &Attributes<'_>) {
        let (request_operation, resource, subresource) = request(a);
        self.errors
            .get_or_create(&ErrorLabels {
                fatal: if fatal { "true" } else { "false" },
                request_operation,
                resource,
                subresource,
            })
            .inc();
    }
}

/// The request's operation, resource and subresource labels.
fn request(a: &Attributes<'_>) -> (&'static str, &'static str, &'static str) {
    let operation = match a.operation {
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete => "delete",
        Operation::Connect => "connect",
    };
    let resource = match (a.def.group, a.def.plural) {
        ("", "pods") => "pod",
        ("", "namespaces") => "namespace",
        _ => "controller",
    };
    // The plugin judges the objects themselves and pods' ephemeral containers alone.
    let subresource = match a.subresource {
        "ephemeralcontainers" => "ephemeralcontainers",
        _ => "",
    };
    (operation, resource, subresource)
}
