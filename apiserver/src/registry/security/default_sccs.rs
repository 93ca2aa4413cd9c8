//! The SecurityContextConstraints every OpenShift 4.19 cluster has, as data: `restricted-v2`
//! (used by every authenticated user through the `system:openshift:scc:restricted-v2` role,
//! see the bootstrap policy), its older and looser siblings, and `privileged`. Created at start
//! when missing and never overwritten: administrators may tune them, as upstream allows.

use serde_json::{Value, json};

/// The volume types of the restricted family (4.19 adds `csi` and `ephemeral`).
const BASE_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Capabilities the v1 SCCs drop.
const V1_DROPS: &[&str] = &["KILL", "MKNOD", "SETUID", "SETGID"];

/// One SCC with the restrictive values and the given strategies; callers open it up.
fn base(name: &str, description: &str, run_as_user: &str, fs_group: &str, sup: &str) -> Value {
    json!({
        "apiVersion": "security.openshift.io/v1",
        "kind": "SecurityContextConstraints",
        "metadata": {"name": name, "annotations": {"kubernetes.io/description": description}},
        "allowHostDirVolumePlugin": false,
        "allowHostIPC": false,
        "allowHostNetwork": false,
        "allowHostPID": false,
        "allowHostPorts": false,
        "allowPrivilegeEscalation": true,
        "allowPrivilegedContainer": false,
        "allowedCapabilities": null,
        "defaultAddCapabilities": null,
        "fsGroup": {"type": fs_group},
        "groups": [],
        "priority": null,
        "readOnlyRootFilesystem": false,
        "requiredDropCapabilities": V1_DROPS,
        "runAsUser": {"type": run_as_user},
        "seLinuxContext": {"type": "MustRunAs"},
        "supplementalGroups": {"type": sup},
        "users": [],
        "volumes": BASE_VOLUMES,
    })
}

/// The v2 variant: no privilege escalation, every capability dropped but NET_BIND_SERVICE
/// allowed, the runtime's default seccomp profile.
fn v2(mut scc: Value) -> Value {
    scc["allowPrivilegeEscalation"] = json!(false);
    scc["allowedCapabilities"] = json!(["NET_BIND_SERVICE"]);
    scc["requiredDropCapabilities"] = json!(["ALL"]);
    scc["seccompProfiles"] = json!(["runtime/default"]);
    scc
}

fn with(mut scc: Value, fields: Value) -> Value {
    if let (Some(target), Some(fields)) = (scc.as_object_mut(), fields.as_object()) {
        for (k, v) in fields {
            target.insert(k.clone(), v.clone());
        }
    }
    scc
}

/// Every default SCC.
pub fn objects() -> Vec<Value> {
    let host_volumes = |extra: &[&str]| {
        let mut v: Vec<&str> = BASE_VOLUMES.to_vec();
        v.extend_from_slice(extra);
        v.sort_unstable();
        json!(v)
    };
    vec![
        with(
            base(
                "anyuid",
                "anyuid provides all features of the restricted SCC but allows users to run with any UID and any GID.",
                "RunAsAny",
                "RunAsAny",
                "RunAsAny",
            ),
            json!({"priority": 10, "groups": ["system:cluster-admins"], "requiredDropCapabilities": ["MKNOD"]}),
        ),
        with(
            base(
                "hostaccess",
                "hostaccess allows access to all host namespaces but still requires pods to be run with a UID and SELinux context that are allocated to the namespace.",
                "MustRunAsRange",
                "MustRunAs",
                "RunAsAny",
            ),
            json!({"allowHostDirVolumePlugin": true, "allowHostIPC": true, "allowHostNetwork": true,
                "allowHostPID": true, "allowHostPorts": true, "volumes": host_volumes(&["hostPath"])}),
        ),
        with(
            base(
                "hostmount-anyuid",
                "hostmount-anyuid provides all the features of the restricted SCC but allows host mounts and any UID by a pod.  This is primarily used by the persistent volume recycler.",
                "RunAsAny",
                "RunAsAny",
                "RunAsAny",
            ),
            json!({"allowHostDirVolumePlugin": true, "requiredDropCapabilities": ["MKNOD"],
                "users": ["system:serviceaccount:openshift-infra:pv-recycler-controller"],
                "volumes": host_volumes(&["hostPath", "nfs"])}),
        ),
        with(
            base(
                "hostnetwork",
                "hostnetwork allows using host networking and host ports but still requires pods to be run with a UID and SELinux context that are allocated to the namespace.",
                "MustRunAsRange",
                "MustRunAs",
                "MustRunAs",
            ),
            json!({"allowHostNetwork": true, "allowHostPorts": true}),
        ),
        with(
            v2(base(
                "hostnetwork-v2",
                "hostnetwork allows using host networking and host ports but still requires pods to be run with a UID and SELinux context that are allocated to the namespace.",
                "MustRunAsRange",
                "MustRunAs",
                "MustRunAs",
            )),
            json!({"allowHostNetwork": true, "allowHostPorts": true}),
        ),
        base(
            "nonroot",
            "nonroot provides all features of the restricted SCC but allows users to run with any non-root UID.  The user must specify the UID or it must be specified on the by the manifest of the container runtime.",
            "MustRunAsNonRoot",
            "RunAsAny",
            "RunAsAny",
        ),
        v2(base(
            "nonroot-v2",
            "nonroot provides all features of the restricted SCC but allows users to run with any non-root UID.  The user must specify the UID or it must be specified on the by the manifest of the container runtime. On top of the legacy 'nonroot' SCC, it also requires to drop ALL capabilities and does not allow privilege escalation binaries. It will also default the seccomp profile to runtime/default if unset, otherwise this seccomp profile is required.",
            "MustRunAsNonRoot",
            "RunAsAny",
            "RunAsAny",
        )),
        with(
            base(
                "privileged",
                "privileged allows access to all privileged and host features and the ability to run as any user, any group, any fsGroup, and with any SELinux context.  WARNING: this is the most relaxed SCC and should be used only for cluster administration. Grant with caution.",
                "RunAsAny",
                "RunAsAny",
                "RunAsAny",
            ),
            json!({"allowHostDirVolumePlugin": true, "allowHostIPC": true, "allowHostNetwork": true,
                "allowHostPID": true, "allowHostPorts": true, "allowPrivilegedContainer": true,
                "allowedCapabilities": ["*"], "allowedUnsafeSysctls": ["*"],
                "groups": ["system:cluster-admins", "system:nodes", "system:masters"],
                "requiredDropCapabilities": null, "seLinuxContext": {"type": "RunAsAny"},
                "seccompProfiles": ["*"],
                "users": ["system:admin", "system:serviceaccount:openshift-infra:build-controller"],
                "volumes": ["*"]}),
        ),
        base(
            "restricted",
            "restricted denies access to all host features and requires pods to be run with a UID, and SELinux context that are allocated to the namespace.",
            "MustRunAsRange",
            "MustRunAs",
            "RunAsAny",
        ),
        v2(base(
            "restricted-v2",
            "restricted-v2 denies access to all host features and requires pods to be run with a UID, and SELinux context that are allocated to the namespace. On top of the legacy 'restricted' SCC, it also requires to drop ALL capabilities and does not allow privilege escalation binaries. It will also default the seccomp profile to runtime/default if unset, otherwise this seccomp profile is required.",
            "MustRunAsRange",
            "MustRunAs",
            "RunAsAny",
        )),
    ]
}

/// The names of the default SCCs (each has a `system:openshift:scc:<name>` ClusterRole).
pub const NAMES: &[&str] = &[
    "anyuid",
    "hostaccess",
    "hostmount-anyuid",
    "hostnetwork",
    "hostnetwork-v2",
    "nonroot",
    "nonroot-v2",
    "privileged",
    "restricted",
    "restricted-v2",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_named_once() {
        let names: Vec<String> = objects()
            .iter()
            .map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(names, NAMES);
    }
}
