//! A container's `resources` as its cgroup gets them, as the kubelet computes them: the
//! memory limit in bytes (and no swap beyond it, so that a container over its limit is
//! OOM-killed), the CPU limit as a CFS quota per 100 ms period (at least 1 ms), and CPU
//! requests as shares (1024 per CPU, at least 2). Containers without requests get the
//! runtime's default shares rather than the kubelet's 2 for best-effort pods, so that they
//! are not starved by the machine's other work.

use k8s_openapi::api::core::v1::Container;

use crate::runtime::Limits;

/// The CFS period the kubelet uses, in microseconds.
pub const CPU_PERIOD: i64 = 100_000;
const MIN_QUOTA: i64 = 1_000;
const MIN_SHARES: i64 = 2;

fn quantity(container: &Container, list: &str, name: &str) -> Option<i64> {
    let resources = container.resources.as_ref()?;
    let map = match list {
        "limits" => resources.limits.as_ref()?,
        _ => resources.requests.as_ref()?,
    };
    controllers::resources::milli(&map.get(name)?.0)
}

/// The container's limits for the runtime.
pub fn of(container: &Container) -> Limits {
    let memory_bytes = quantity(container, "limits", "memory").map(|m| (m + 999) / 1000);
    let cpu_quota = quantity(container, "limits", "cpu")
        .map(|millis| (millis * CPU_PERIOD / 1000).max(MIN_QUOTA));
    let cpu_shares = quantity(container, "requests", "cpu")
        .or_else(|| quantity(container, "limits", "cpu"))
        .map(|millis| (millis * 1024 / 1000).max(MIN_SHARES));
    Limits {
        memory_bytes: memory_bytes.filter(|m| *m > 0),
        cpu_quota,
        cpu_shares,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    fn container(limits: &[(&str, &str)], requests: &[(&str, &str)]) -> Container {
        let map = |l: &[(&str, &str)]| {
            Some(
                l.iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                    .collect(),
            )
        };
        Container {
            resources: Some(ResourceRequirements {
                limits: map(limits),
                requests: map(requests),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn limits_become_bytes_quotas_and_shares_as_the_kubelet_makes_them() {
        let c = container(&[("memory", "64Mi"), ("cpu", "500m")], &[("cpu", "250m")]);
        assert_eq!(
            of(&c),
            Limits {
                memory_bytes: Some(64 * 1024 * 1024),
                cpu_quota: Some(50_000),
                cpu_shares: Some(256),
            }
        );
        // A limit alone stands for the request; tiny ones get the floors.
        let tiny = container(&[("cpu", "1m"), ("memory", "1k")], &[]);
        assert_eq!(
            of(&tiny),
            Limits {
                memory_bytes: Some(1000),
                cpu_quota: Some(1_000),
                cpu_shares: Some(2),
            }
        );
        assert_eq!(of(&Container::default()), Limits::default());
    }
}
