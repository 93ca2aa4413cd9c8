//! What a container's security context asks of the runtime, from the pod's and the
//! container's `securityContext` as the kubelet merges them (the container's fields win):
//! the user and group to run as, the pod's supplemental groups and fsGroup as extra groups,
//! privileged mode, a read-only root filesystem, no privilege escalation, and capabilities
//! added and dropped. Admission (the SCC plugin) fills these in; the node makes them real.

use k8s_openapi::api::core::v1::{Container, Pod};

use crate::runtime::Security;

/// The runtime's view of `container`'s security context in `pod`.
pub fn of(pod: &Pod, container: &Container) -> Security {
    let pod_sc = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let sc = container.security_context.as_ref();
    let user = sc
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_sc.and_then(|p| p.run_as_user));
    let group = sc
        .and_then(|s| s.run_as_group)
        .or_else(|| pod_sc.and_then(|p| p.run_as_group));
    let mut groups: Vec<i64> = pod_sc
        .and_then(|p| p.supplemental_groups.clone())
        .unwrap_or_default();
    if let Some(fs_group) = pod_sc.and_then(|p| p.fs_group)
        && !groups.contains(&fs_group)
    {
        groups.push(fs_group);
    }
    let caps = sc.and_then(|s| s.capabilities.as_ref());
    let privileged = sc.and_then(|s| s.privileged).unwrap_or(false);
    Security {
        user,
        group,
        groups,
        privileged,
        read_only_root: sc
            .and_then(|s| s.read_only_root_filesystem)
            .unwrap_or(false),
        // Privileged containers may always escalate, as the kubelet has it.
        no_new_privileges: !privileged
            && sc.and_then(|s| s.allow_privilege_escalation) == Some(false),
        cap_add: caps.and_then(|c| c.add.clone()).unwrap_or_default(),
        cap_drop: caps.and_then(|c| c.drop.clone()).unwrap_or_default(),
    }
}

/// The pod's fsGroup: the group that owns its volumes.
pub fn fs_group(pod: &Pod) -> Option<i64> {
    pod.spec
        .as_ref()
        .and_then(|s| s.security_context.as_ref())
        .and_then(|p| p.fs_group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_fields_win_and_the_pod_groups_are_added() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 7, "fsGroup": 2000, "supplementalGroups": [5]},
                "containers": [{"name": "c", "securityContext": {"runAsUser": 1000680000,
                    "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}]}
        }))
        .unwrap();
        let container = &pod.spec.as_ref().unwrap().containers[0];
        let s = of(&pod, container);
        assert_eq!((s.user, s.group), (Some(1000680000), Some(7)));
        assert_eq!(s.groups, [5, 2000]);
        assert!(s.no_new_privileges && !s.privileged && !s.read_only_root);
        assert_eq!(
            (s.cap_add, s.cap_drop),
            (
                vec!["NET_BIND_SERVICE".to_string()],
                vec!["ALL".to_string()]
            )
        );
        assert_eq!(fs_group(&pod), Some(2000));
    }

    #[test]
    fn a_pod_without_a_security_context_asks_nothing() {
        let pod: Pod = serde_json::from_value(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}),
        )
        .unwrap();
        let s = of(&pod, &pod.spec.as_ref().unwrap().containers[0]);
        assert_eq!(s, Security::default());
    }
}
