//! The order SCCs are tried in, as upstream's: highest priority first (none counts as 0),
//! then the most restrictive (lowest point value), then by name.

use crate::registry::security::model::Scc;

/// How permissive an SCC is; upstream's weights, so the defaults sort as they do on OpenShift.
pub fn points(scc: &Scc) -> i64 {
    let mut points = 0;
    if scc.allow_privileged_container {
        points += 1_000_000;
    }
    if scc.allow_host_network {
        points += 200_000;
    }
    if scc.allow_host_ports {
        points += 400_000;
    }
    points += volume_points(scc);
    points += match scc.se_linux_context.kind.as_str() {
        "RunAsAny" => 40_000,
        _ => 10_000,
    };
    points += match scc.run_as_user.kind.as_str() {
        "RunAsAny" => 40_000,
        "MustRunAsNonRoot" => 30_000,
        "MustRunAsRange" => 20_000,
        _ => 10_000,
    };
    points + capability_points(scc)
}

fn volume_points(scc: &Scc) -> i64 {
    let trivial = [
        "configMap",
        "downwardAPI",
        "emptyDir",
        "projected",
        "secret",
        "none",
    ];
    let volumes = scc.volumes.iter().flatten();
    if scc.allow_host_dir_volume_plugin
        || scc
            .volumes
            .iter()
            .flatten()
            .any(|v| v == "*" || v == "hostPath")
    {
        100_000
    } else if volumes.clone().any(|v| !trivial.contains(&v.as_str())) {
        50_000
    } else {
        0
    }
}

fn capability_points(scc: &Scc) -> i64 {
    let mut points: i64 = 5_000;
    points += 300 * scc.default_add_capabilities.iter().flatten().count() as i64;
    let allowed = scc.allowed_capabilities.iter().flatten();
    if allowed
        .clone()
        .any(|c| c == "*" || c.eq_ignore_ascii_case("ALL"))
    {
        points += 4_000;
    } else {
        points += 10 * allowed.count() as i64;
    }
    let dropped = scc.required_drop_capabilities.iter().flatten();
    if dropped.clone().any(|c| c.eq_ignore_ascii_case("ALL")) {
        points -= 3_000;
    } else {
        points -= 50 * dropped.count() as i64;
    }
    points.clamp(0, 9_999)
}

/// Sorts SCCs into the order admission tries them.
pub fn sort(sccs: &mut [Scc]) {
    sccs.sort_by_cached_key(|s| {
        (
            -(s.priority.unwrap_or(0) as i64),
            points(s),
            s.name().to_string(),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::security::default_sccs;

    #[test]
    fn the_defaults_sort_as_on_openshift() {
        let mut sccs: Vec<Scc> = default_sccs::objects()
            .iter()
            .filter_map(Scc::from_value)
            .collect();
        sort(&mut sccs);
        let names: Vec<&str> = sccs.iter().map(Scc::name).collect();
        assert_eq!(
            names,
            [
                "anyuid",
                "restricted-v2",
                "restricted",
                "nonroot-v2",
                "nonroot",
                "hostmount-anyuid",
                "hostnetwork-v2",
                "hostnetwork",
                "hostaccess",
                "privileged"
            ]
        );
    }
}
