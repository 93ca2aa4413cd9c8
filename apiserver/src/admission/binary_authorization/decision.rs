//! The decision on one request and how it is recorded: audit annotations
//! (`imagepolicy.oxshift.io/rule`, `decision`, `reason`) on the request's event and the
//! count of decisions by enforcement mode on `/metrics`.

use trust::attestation::Rule;

use crate::ApiServer;
use crate::audit::annotate_current;

/// How a request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// A violation admitted by the pod's break-glass annotation (or the annotation alone).
    BreakGlass,
    /// A violation admitted by a dry-run rule.
    DryRun,
    /// Nothing decided, admitted (`failurePolicy: Ignore`).
    FailOpen,
    /// Nothing decided, refused (`failurePolicy: Fail`).
    FailClosed,
}

impl Decision {
    pub fn reach(
        rule: &Rule,
        break_glass: bool,
        violations: &[String],
        unknown: &[String],
    ) -> Decision {
        match (violations.is_empty(), unknown.is_empty()) {
            _ if break_glass => Decision::BreakGlass,
            (true, true) => Decision::Allow,
            (false, _) if rule.dry_run => Decision::DryRun,
            (false, _) => Decision::Deny,
            (true, false) if rule.fail_closed && !rule.dry_run => Decision::FailClosed,
            (true, false) => Decision::FailOpen,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::BreakGlass => "break-glass",
            Decision::DryRun => "dry-run-deny",
            Decision::FailOpen => "fail-open",
            Decision::FailClosed => "fail-closed",
        }
    }

    pub fn refuses(self) -> bool {
        matches!(self, Decision::Deny | Decision::FailClosed)
    }

    /// The audit annotations and the metric of this decision.
    pub fn record(
        self,
        server: &ApiServer,
        rule_name: &str,
        rule: &Rule,
        violations: &[String],
        unknown: &[String],
    ) {
        annotate_current("imagepolicy.oxshift.io/rule", rule_name);
        annotate_current("imagepolicy.oxshift.io/decision", self.as_str());
        let mut reasons: Vec<&str> = violations
            .iter()
            .chain(unknown)
            .map(String::as_str)
            .collect();
        if reasons.is_empty() {
            reasons.push(match self {
                Decision::BreakGlass => "break-glass annotation present; no violation",
                _ => "every image is allowed",
            });
        }
        annotate_current("imagepolicy.oxshift.io/reason", &reasons.join("; "));
        if self == Decision::BreakGlass {
            annotate_current("imagepolicy.oxshift.io/break-glass", "true");
        }
        server
            .metrics
            .binary_authorization_decision(self.as_str(), rule.mode());
    }
}
