//! A disruption budget's arithmetic (upstream's disruption controller): how many of its pods
//! must stay healthy, how many are expected, and how many may be disrupted now.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// How long a pod recorded in `disruptedPods` is kept out of the healthy count while its
/// deletion is awaited (upstream's DeletionTimeout).
pub const DISRUPTED_POD_TIMEOUT_SECONDS: i64 = 120;

/// The budget's figures.
#[derive(Debug, PartialEq, Eq)]
pub struct Budget {
    pub expected_pods: i32,
    pub desired_healthy: i32,
    pub current_healthy: i32,
    pub disruptions_allowed: i32,
}

/// A percentage of `total`, rounded up (as upstream's GetScaledValueFromIntOrPercent with
/// roundUp); `None` for a malformed percentage.
fn percent_of(text: &str, total: i32) -> Option<i32> {
    let p: i64 = text.strip_suffix('%')?.parse().ok()?;
    Some(((p * i64::from(total) + 99) / 100) as i32)
}

/// The budget from `minAvailable` or `maxUnavailable`, the number of pods selected, the
/// expected count from their controllers' scale (`None` when they have none) and the number
/// of healthy ones. An integer `minAvailable` expects the selected pods; the other forms
/// expect the controllers' scale, or the selected pods without one.
pub fn budget(
    min_available: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    selected: i32,
    scale: Option<i32>,
    current_healthy: i32,
) -> Budget {
    let scale = scale.unwrap_or(selected);
    let (expected_pods, desired_healthy) = match (min_available, max_unavailable) {
        (Some(IntOrString::Int(n)), _) => (selected, *n),
        (Some(IntOrString::String(s)), _) => (scale, percent_of(s, scale).unwrap_or(scale)),
        (None, Some(IntOrString::Int(n))) => (scale, (scale - n).max(0)),
        (None, Some(IntOrString::String(s))) => {
            (scale, (scale - percent_of(s, scale).unwrap_or(0)).max(0))
        }
        (None, None) => (scale, scale),
    };
    let allowed = current_healthy - desired_healthy;
    Budget {
        expected_pods,
        desired_healthy,
        current_healthy,
        disruptions_allowed: if expected_pods <= 0 {
            0
        } else {
            allowed.max(0)
        },
    }
}

/// The `DisruptionAllowed` condition's status and reason for `allowed` disruptions.
pub fn allowed_condition(allowed: i32) -> (&'static str, &'static str) {
    if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    }
}

/// Whether an entry of `disruptedPods` recorded at `at` still holds the pod out at `now`.
pub fn still_disrupted(at: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    now.as_second() < at.as_second() + DISRUPTED_POD_TIMEOUT_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> IntOrString {
        IntOrString::String(v.into())
    }

    #[test]
    fn min_available_counts_against_the_selected_pods() {
        let b = budget(Some(&IntOrString::Int(2)), None, 3, Some(5), 3);
        assert_eq!(
            b,
            Budget {
                expected_pods: 3,
                desired_healthy: 2,
                current_healthy: 3,
                disruptions_allowed: 1
            }
        );
        let b = budget(Some(&IntOrString::Int(2)), None, 3, None, 2);
        assert_eq!(b.disruptions_allowed, 0);
    }

    #[test]
    fn percentages_scale_the_controllers_count_rounding_up() {
        let b = budget(Some(&s("50%")), None, 3, Some(5), 5);
        assert_eq!((b.expected_pods, b.desired_healthy), (5, 3));
        assert_eq!(b.disruptions_allowed, 2);
        let b = budget(None, Some(&s("25%")), 4, None, 4);
        assert_eq!((b.expected_pods, b.desired_healthy), (4, 3));
        assert_eq!(b.disruptions_allowed, 1);
    }

    #[test]
    fn max_unavailable_never_wants_fewer_than_none() {
        let b = budget(None, Some(&IntOrString::Int(5)), 2, None, 2);
        assert_eq!((b.desired_healthy, b.disruptions_allowed), (0, 2));
    }

    #[test]
    fn nothing_expected_allows_nothing() {
        let b = budget(None, Some(&IntOrString::Int(1)), 0, None, 0);
        assert_eq!(b.disruptions_allowed, 0);
        assert_eq!(allowed_condition(0), ("False", "InsufficientPods"));
        assert_eq!(allowed_condition(1), ("True", "SufficientPods"));
    }

    #[test]
    fn disrupted_pods_expire_after_two_minutes() {
        let at = jiff::Timestamp::from_second(1000).unwrap();
        assert!(still_disrupted(
            at,
            jiff::Timestamp::from_second(1119).unwrap()
        ));
        assert!(!still_disrupted(
            at,
            jiff::Timestamp::from_second(1120).unwrap()
        ));
    }
}
