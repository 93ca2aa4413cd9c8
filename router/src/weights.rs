//! Per-endpoint weights, as upstream's router computes them for HAProxy: a service's weight
//! is shared among its endpoints, then scaled so that the heaviest endpoint weighs 256;
//! truncated, at least 1 for a service of non-zero weight, 0 for a service of weight 0.

/// For each service `(weight, endpoints)`, the weight of each of its endpoints.
pub fn per_endpoint(services: &[(u32, usize)]) -> Vec<u32> {
    let share = |&(w, n): &(u32, usize)| match n {
        0 => 0.0,
        n => f64::from(w) / n as f64,
    };
    let max = services.iter().map(share).fold(0.0_f64, f64::max);
    services
        .iter()
        .map(|s| match (s.0, max > 0.0) {
            (0, _) | (_, false) => 0,
            _ => ((share(s) * 256.0 / max) as u32).max(1),
        })
        .collect()
}

/// A smooth weighted round-robin order over endpoints of `weights` (divided by their common
/// divisor first, so that equal weights give a schedule of one slot each).
pub fn schedule(weights: &[u32]) -> Vec<u32> {
    let divisor = weights.iter().copied().filter(|w| *w > 0).fold(0, gcd);
    if divisor == 0 {
        return Vec::new();
    }
    let reduced: Vec<i64> = weights.iter().map(|w| i64::from(w / divisor)).collect();
    let total: i64 = reduced.iter().sum();
    let mut current = vec![0_i64; reduced.len()];
    let mut order = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(&reduced) {
            *c += w;
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        else {
            break;
        };
        current[best] -= total;
        order.push(best as u32);
    }
    order
}

fn gcd(a: u32, b: u32) -> u32 {
    match b {
        0 => a,
        b => gcd(b, a % b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_example() {
        // A=20 over 2 endpoints, B=10 over 4: A's endpoints 256, B's 64.
        assert_eq!(per_endpoint(&[(20, 2), (10, 4)]), [256, 64]);
        assert_eq!(per_endpoint(&[(3, 1), (1, 1)]), [256, 85]);
        assert_eq!(per_endpoint(&[(100, 1), (0, 1)]), [256, 0]);
        assert_eq!(per_endpoint(&[(0, 1)]), [0]);
        assert_eq!(per_endpoint(&[(1, 1000), (256, 1)]), [1, 256]);
    }

    #[test]
    fn schedules_are_smooth_and_proportional() {
        assert_eq!(schedule(&[256, 256]), [0, 1]);
        let order = schedule(&[3, 1]);
        assert_eq!(order, [0, 0, 1, 0]);
        assert!(schedule(&[0, 0]).is_empty());
        assert_eq!(schedule(&[256, 0]), [0]);
    }
}
