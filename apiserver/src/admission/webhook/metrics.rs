//! Upstream's webhook metrics: `apiserver_admission_webhook_admission_duration_seconds` (by
//! name, type, operation, rejected) and `apiserver_admission_webhook_rejection_count` (by
//! name, type, operation, error_type, rejection_code; a gauge that only grows, so that it
//! keeps upstream's exact name, which a counter would suffix with `_total`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Upstream's buckets for webhook latencies, in seconds.
const BUCKETS: [f64; 6] = [0.005, 0.025, 0.1, 0.5, 1.0, 2.5];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    name: String,
    r#type: String,
    operation: String,
    rejected: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    name: String,
    r#type: String,
    operation: String,
    error_type: String,
    rejection_code: String,
}

pub struct WebhookMetrics {
    durations: Family<DurationLabels, Histogram>,
    rejections: Family<RejectionLabels, Gauge>,
}

/// How a call ended, for the metrics.
pub enum Outcome {
    Allowed,
    /// Denied by the webhook, with its code.
    Denied(u16),
    /// The call failed (transport, timeout, garbage).
    CallFailed,
}

impl WebhookMetrics {
    pub fn register(registry: &mut Registry) -> WebhookMetrics {
        let durations = Family::<DurationLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(BUCKETS)) as fn() -> _,
        );
        let rejections = Family::<RejectionLabels, Gauge>::default();
        registry.register(
            "apiserver_admission_webhook_admission_duration_seconds",
            "Admission webhook latency histogram in seconds, identified by name and broken out for each operation and API resource and type (validate or admit).",
            durations.clone(),
        );
        registry.register(
            "apiserver_admission_webhook_rejection_count",
            "Admission webhook rejection count, identified by name and broken out for each admission type (validating or admit) and operation. Additional labels specify an error type (calling_webhook_error or apiserver_internal_error if an error occurred; no_error otherwise) and optionally a non-zero rejection code if the webhook rejects the request with an HTTP status code (honored by the apiserver when the code is greater or equal to 400). Codes greater than 600 are truncated to 600, to keep the metrics cardinality bounded.",
            rejections.clone(),
        );
        WebhookMetrics {
            durations,
            rejections,
        }
    }

    pub fn observe(
        &self,
        name: &str,
        mutating: bool,
        operation: &str,
        seconds: f64,
        outcome: &Outcome,
    ) {
        let kind = if mutating { "admit" } else { "validating" };
        let rejected = !matches!(outcome, Outcome::Allowed);
        self.durations
            .get_or_create(&DurationLabels {
                name: name.into(),
                r#type: kind.into(),
                operation: operation.into(),
                rejected: rejected.to_string(),
            })
            .observe(seconds);
        let (error_type, code) = match outcome {
            Outcome::Allowed => return,
            Outcome::Denied(code) => ("no_error", (*code).min(600)),
            Outcome::CallFailed => ("calling_webhook_error", 0),
        };
        self.rejections
            .get_or_create(&RejectionLabels {
                name: name.into(),
                r#type: kind.into(),
                operation: operation.into(),
                error_type: error_type.into(),
                rejection_code: code.to_string(),
            })
            .inc();
    }
}
