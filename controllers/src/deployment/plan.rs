//! The arithmetic of a rollout (upstream's deployment utilities): surge and unavailability
//! from their int-or-percent forms, how far the new ReplicaSet may grow, how far old ones may
//! shrink, and the Available/Progressing conditions.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// An int-or-percent of `total`, percentages rounded up or down.
fn scaled(v: Option<&IntOrString>, total: i32, default_percent: i32, up: bool) -> i32 {
    let percent = |p: i32| {
        let x = i64::from(p) * i64::from(total);
        (if up { (x + 99) / 100 } else { x / 100 }) as i32
    };
    match v {
        None => percent(default_percent),
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => s
            .trim_end_matches('%')
            .parse::<i32>()
            .map(percent)
            .unwrap_or(0),
    }
}

/// (maxSurge, maxUnavailable) for `replicas`; never both zero (upstream's ResolveFenceposts).
pub fn fenceposts(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    replicas: i32,
) -> (i32, i32) {
    let surge = scaled(surge, replicas, 25, true);
    let unavailable = scaled(unavailable, replicas, 25, false);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

/// The size the new ReplicaSet may have now during a rolling update.
pub fn new_replicas(replicas: i32, max_surge: i32, all_spec: i32, new_spec: i32) -> i32 {
    let max_total = replicas + max_surge;
    if all_spec >= max_total {
        return new_spec;
    }
    new_spec + (max_total - all_spec).min(replicas - new_spec).max(0)
}

/// An old ReplicaSet as the scale-down needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Old {
    pub spec: i32,
    pub available: i32,
}

/// New sizes of the old ReplicaSets (oldest first) during a rolling update: unhealthy
/// replicas go first, then available ones while the minimum stays available.
pub fn scale_down_old(
    replicas: i32,
    max_unavailable: i32,
    new_spec: i32,
    new_available: i32,
    old: &[Old],
) -> Vec<i32> {
    let mut sizes: Vec<i32> = old.iter().map(|o| o.spec).collect();
    let old_total: i32 = sizes.iter().sum();
    if old_total == 0 {
        return sizes;
    }
    let all = old_total + new_spec;
    let min_available = replicas - max_unavailable;
    let new_unavailable = new_spec - new_available;
    let mut budget = all - min_available - new_unavailable;
    if budget <= 0 {
        return sizes;
    }
    for (i, o) in old.iter().enumerate() {
        let unhealthy = (o.spec - o.available).max(0);
        let cut = unhealthy.min(budget);
        sizes[i] -= cut;
        budget -= cut;
    }
    let available: i32 = old
        .iter()
        .zip(&sizes)
        .map(|(o, s)| o.available.min(*s))
        .sum::<i32>()
        + new_available;
    let mut left = available - min_available;
    for s in sizes.iter_mut() {
        if left <= 0 {
            break;
        }
        let cut = (*s).min(left);
        *s -= cut;
        left -= cut;
    }
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_round_as_upstream() {
        assert_eq!(fenceposts(None, None, 3), (1, 0));
        assert_eq!(fenceposts(None, None, 4), (1, 1));
        assert_eq!(fenceposts(None, None, 10), (3, 2));
        let zero = IntOrString::Int(0);
        assert_eq!(fenceposts(Some(&zero), Some(&zero), 3), (0, 1));
        assert_eq!(
            fenceposts(
                Some(&IntOrString::String("50%".into())),
                Some(&IntOrString::Int(2)),
                3
            ),
            (2, 2)
        );
    }

    #[test]
    fn a_rolling_update_steps() {
        // 3 replicas, surge 1: the new RS starts at 1.
        assert_eq!(new_replicas(3, 1, 3, 0), 1);
        assert_eq!(new_replicas(3, 1, 4, 1), 1);
        assert_eq!(new_replicas(3, 1, 3, 1), 2);
        // maxUnavailable 0: the old RS shrinks only once the new pod is available.
        let old = [Old {
            spec: 3,
            available: 3,
        }];
        assert_eq!(scale_down_old(3, 0, 1, 0, &old), [3]);
        assert_eq!(scale_down_old(3, 0, 1, 1, &old), [2]);
        // Unhealthy old replicas go first.
        let old = [Old {
            spec: 3,
            available: 1,
        }];
        assert_eq!(scale_down_old(3, 1, 1, 0, &old), [2]);
    }
}
