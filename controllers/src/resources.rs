//! Resource quantities as numbers, and what a pod asks of a node: the scheduler's and the
//! node lifecycle's arithmetic on `requests` and `allocatable`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// A quantity in thousandths of its unit ("500m" → 500, "1Ki" → 1 024 000), saturating;
/// `None` for text that is not a quantity.
pub fn milli(q: &str) -> Option<i64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale: f64 = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    // Upstream rounds a fraction of a milli-unit up.
    Some(
        (value * scale * 1000.0)
            .ceil()
            .clamp(i64::MIN as f64, i64::MAX as f64) as i64,
    )
}

/// Amounts by resource name, in milli-units.
pub type Amounts = BTreeMap<String, i64>;

pub fn amounts(list: Option<&BTreeMap<String, Quantity>>) -> Amounts {
    list.into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), milli(&v.0)?)))
        .collect()
}

fn add(total: &mut Amounts, more: &Amounts) {
    for (k, v) in more {
        let t = total.entry(k.clone()).or_default();
        *t = t.saturating_add(*v);
    }
}

/// What a pod requests (upstream's `PodRequests`): the sum of its containers' requests (with
/// restartable init containers), at least each plain init container's, plus the overhead.
pub fn pod_requests(spec: &PodSpec) -> Amounts {
    let requests = |c: &k8s_openapi::api::core::v1::Container| {
        amounts(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
    };
    let mut total = Amounts::new();
    for c in &spec.containers {
        add(&mut total, &requests(c));
    }
    let mut sidecars = Amounts::new();
    for c in spec.init_containers.iter().flatten() {
        let r = requests(c);
        if c.restart_policy.as_deref() == Some("Always") {
            add(&mut total, &r);
            add(&mut sidecars, &r);
            continue;
        }
        // A plain init container runs alone, beside the sidecars started before it.
        let mut during = sidecars.clone();
        add(&mut during, &r);
        for (k, v) in during {
            let t = total.entry(k).or_default();
            *t = (*t).max(v);
        }
    }
    add(&mut total, &amounts(spec.overhead.as_ref()));
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(milli("500m"), Some(500));
        assert_eq!(milli("2"), Some(2000));
        assert_eq!(milli("1Ki"), Some(1_024_000));
        assert_eq!(milli("1.5"), Some(1500));
        assert_eq!(milli("1e3"), Some(1_000_000));
        assert_eq!(milli("1G"), Some(1_000_000_000_000));
        assert_eq!(milli("x"), None);
        assert_eq!(milli("1Zi"), None);
    }

    #[test]
    fn requests_of_a_pod() {
        let spec: PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "1Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1"}}}],
        }))
        .unwrap();
        let r = pod_requests(&spec);
        assert_eq!(r["cpu"], 1000);
        assert_eq!(r["memory"], 1024 * 1024 * 1000);
    }
}
