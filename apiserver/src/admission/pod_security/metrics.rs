//! Upstream's Pod Security metrics: `pod_security_evaluations_total` (by decision,
//! policy_level, policy_version, mode, request_operation, resource, subresource),
//! `pod_security_exemptions_total` and `pod_security_errors_total` (with `fatal`), each by the
//! request's operation (`create`, `update`), resource (`pod`, `namespace`, or `controller` for
//! the kinds holding a pod template) and subresource.

use std::sync::{LazyLock, OnceLock};

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
    /// The evaluations' counters of the common label sets (`latest` policies, creates and
    /// updates of the objects themselves), found without the family's lock and map: every
    /// pod create counts two or three evaluations. Each shares its family's counter.
    common_evaluations: [OnceLock<Counter>; COMMON_EVALUATIONS],
    exemptions: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
}

/// Decisions (2) × levels (3) × modes (3) × operations (create, update) × resources (3).
const COMMON_EVALUATIONS: usize = 2 * 3 * 3 * 2 * 3;

/// The place in `common_evaluations` of an evaluation at the latest policy version, if its
/// request is a common one.
fn common_evaluation(allowed: bool, level: Level, mode: Mode, request: Request) -> Option<usize> {
    if request.ephemeral_containers {
        return None;
    }
    let operation = match request.operation {
        Operation::Create => 0,
        Operation::Update => 1,
        Operation::Delete | Operation::Connect => return None,
    };
    let slot = (((usize::from(allowed) * 3 + level as usize) * 3 + mode as usize) * 2 + operation)
        * 3
        + request.resource as usize;
    Some(slot)
}

impl PodSecurityMetrics {
    pub fn register(registry: &mut Registry) -> PodSecurityMetrics {
        let metrics = PodSecurityMetrics {
            evaluations: Family::default(),
            common_evaluations: std::array::from_fn(|_| OnceLock::new()),
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
        let request = Request::of(a);
        // Privileged is the same at every version.
        let version = match (policy.level, policy.version.minor_number()) {
            (Level::Privileged, _) | (_, None) => None,
            (_, Some(m)) => Some(
                VERSION_LABELS
                    .get(m as usize)
                    .map_or("future", String::as_str),
            ),
        };
        let (request_operation, resource, subresource) = request.labels();
        let counter = || {
            self.evaluations
                .get_or_create(&EvaluationLabels {
                    decision: if allowed { "allow" } else { "deny" },
                    policy_level: policy.level.as_str(),
                    policy_version: version.unwrap_or("latest"),
                    mode: mode.as_str(),
                    request_operation,
                    resource,
                    subresource,
                })
                .clone()
        };
        let common = version
            .is_none()
            .then(|| common_evaluation(allowed, policy.level, mode, request))
            .flatten();
        match common {
            Some(slot) => self.common_evaluations[slot].get_or_init(counter).inc(),
            None => counter().inc(),
        };
    }

    /// A request exempt by namespace, user or runtime class.
    pub fn exemption(&self, a: &Attributes<'_>) {
        let (request_operation, resource, subresource) = Request::of(a).labels();
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
        let (request_operation, resource, subresource) = Request::of(a).labels();
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

/// What the metrics are told of a request.
#[derive(Clone, Copy)]
struct Request {
    operation: Operation,
    resource: Resource,
    /// The plugin judges the objects themselves, and pods' ephemeral containers alone.
    ephemeral_containers: bool,
}

/// The resource a request is counted under.
#[derive(Clone, Copy)]
enum Resource {
    Pod,
    Namespace,
    /// The kinds holding a pod template.
    Controller,
}

impl Request {
    fn of(a: &Attributes<'_>) -> Request {
        Request {
            operation: a.operation,
            resource: match (a.def.group, a.def.plural) {
                ("", "pods") => Resource::Pod,
                ("", "namespaces") => Resource::Namespace,
                _ => Resource::Controller,
            },
            ephemeral_containers: a.subresource == "ephemeralcontainers",
        }
    }

    /// The request's operation, resource and subresource labels.
    fn labels(self) -> (&'static str, &'static str, &'static str) {
        let operation = match self.operation {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Connect => "connect",
        };
        let resource = match self.resource {
            Resource::Pod => "pod",
            Resource::Namespace => "namespace",
            Resource::Controller => "controller",
        };
        let subresource = if self.ephemeral_containers {
            "ephemeralcontainers"
        } else {
            ""
        };
        (operation, resource, subresource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_common_label_set_has_a_place_of_its_own() {
        let request = |operation, resource, ephemeral_containers| Request {
            operation,
            resource,
            ephemeral_containers,
        };
        let mut places = std::collections::BTreeSet::new();
        for allowed in [false, true] {
            for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
                for mode in [Mode::Enforce, Mode::Audit, Mode::Warn] {
                    for operation in [Operation::Create, Operation::Update] {
                        for resource in [Resource::Pod, Resource::Namespace, Resource::Controller] {
                            let r = request(operation, resource, false);
                            let place = common_evaluation(allowed, level, mode, r);
                            places.insert(place.expect("a common label set"));
                        }
                    }
                }
            }
        }
        assert_eq!(places.len(), COMMON_EVALUATIONS);
        assert!(places.iter().all(|p| *p < COMMON_EVALUATIONS));
        let rare = |r| common_evaluation(true, Level::Baseline, Mode::Warn, r);
        assert_eq!(rare(request(Operation::Update, Resource::Pod, true)), None);
        assert_eq!(rare(request(Operation::Delete, Resource::Pod, false)), None);
    }
}
