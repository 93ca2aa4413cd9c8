//! The label synchronisation's decisions, without I/O: which namespaces are synchronised,
//! the Pod Security level an SCC allows (judged field by field against the Pod Security
//! Standards: anything a pod admitted under the SCC could do that a level forbids lifts the
//! SCC above that level), and the labels a namespace should carry.

use std::collections::BTreeMap;

pub use api::pod_security::Level;
use api::pod_security::{
    DEFAULT_CAPABILITIES, LABEL_PREFIX, RESTRICTED_ALLOWED_VOLUMES, SELINUX_TYPES,
};
use serde_json::Value;

pub const SYNC_LABEL: &str = "security.openshift.io/scc.podSecurityLabelSync";
pub const UID_RANGE: &str = "openshift.io/sa.scc.uid-range";
/// The field manager the labels are applied with (upstream's controller name).
pub const MANAGER: &str = "pod-security-admission-label-synchronization-controller";
/// The policy version the synchronised labels name, as the label syncer writes it.
pub const VERSION: &str = "v1.24";

/// The modes synchronised: enforce stays the cluster's (or the administrator's).
const MODES: &[&str] = &["audit", "warn"];

/// Namespaces of the platform, never synchronised.
const EXEMPT: &[&str] = &[
    "default",
    "kube-node-lease",
    "kube-public",
    "kube-system",
    "openshift",
    "openshift-config",
    "openshift-config-managed",
    "openshift-infra",
    "openshift-node",
    "openshift-service-ca",
];

/// Whether the namespace's labels are synchronised: not the platform's, not `openshift-*`
/// unless opted in, not opted out.
pub fn controlled(name: &str, labels: &BTreeMap<String, String>) -> bool {
    if EXEMPT.contains(&name) {
        return false;
    }
    let opinion = labels.get(SYNC_LABEL).map(String::as_str);
    if name.starts_with("openshift-") {
        return opinion == Some("true");
    }
    opinion != Some("false")
}

fn strings(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The least privileged level that admits every pod the SCC admits.
pub fn scc_level(scc: &Value) -> Level {
    let yes = |field: &str| scc[field] == true;
    let capabilities: Vec<&str> = strings(&scc["allowedCapabilities"])
        .into_iter()
        .chain(strings(&scc["defaultAddCapabilities"]))
        .collect();
    let volumes = strings(&scc["volumes"]);
    let se_linux = &scc["seLinuxContext"];
    let se_linux_options = &se_linux["seLinuxOptions"];
    let seccomp = strings(&scc["seccompProfiles"]);
    let privileged = yes("allowPrivilegedContainer")
        || yes("allowHostDirVolumePlugin")
        || [
            "allowHostIPC",
            "allowHostPID",
            "allowHostNetwork",
            "allowHostPorts",
        ]
        .iter()
        .any(|f| yes(f))
        || volumes.iter().any(|v| *v == "*" || *v == "hostPath")
        || capabilities
            .iter()
            .any(|c| *c == "*" || !DEFAULT_CAPABILITIES.contains(c))
        || se_linux["type"] != "MustRunAs"
        || !SELINUX_TYPES.contains(&se_linux_options["type"].as_str().unwrap_or_default())
        || !se_linux_options["user"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        || !se_linux_options["role"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        || seccomp.iter().any(|p| *p == "*" || *p == "unconfined")
        || !strings(&scc["allowedUnsafeSysctls"]).is_empty()
        || strings(&scc["allowedProcMountTypes"]).contains(&"Unmasked");
    if privileged {
        return Level::Privileged;
    }
    let run_as_user = &scc["runAsUser"];
    let may_run_as_root = match run_as_user["type"].as_str() {
        Some("MustRunAsNonRoot") => false,
        Some("MustRunAs") => run_as_user["uid"].as_i64().is_none_or(|u| u == 0),
        // Without its own range, the namespace's (never 0).
        Some("MustRunAsRange") => run_as_user["uidRangeMin"].as_i64() == Some(0),
        _ => true,
    };
    let baseline = scc["allowPrivilegeEscalation"] != false
        || !strings(&scc["requiredDropCapabilities"]).contains(&"ALL")
        || capabilities.iter().any(|c| *c != "NET_BIND_SERVICE")
        || may_run_as_root
        || volumes
            .iter()
            .any(|v| !RESTRICTED_ALLOWED_VOLUMES.contains(v))
        || !seccomp
            .first()
            .is_some_and(|p| *p == "runtime/default" || p.starts_with("localhost/"));
    if baseline {
        Level::Baseline
    } else {
        Level::Restricted
    }
}

/// Who holds each label, by the namespace's managed fields.
pub fn label_owners(managed_fields: &Value) -> BTreeMap<String, Vec<String>> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in managed_fields.as_array().into_iter().flatten() {
        let manager = entry["manager"].as_str().unwrap_or_default();
        let labels = entry["fieldsV1"]["f:metadata"]["f:labels"].as_object();
        for key in labels.into_iter().flat_map(|l| l.keys()) {
            if let Some(label) = key.strip_prefix("f:") {
                owners
                    .entry(label.to_string())
                    .or_default()
                    .push(manager.to_string());
            }
        }
    }
    owners
}

/// The labels to apply for `level`: each synchronised mode's level and version, except modes
/// someone else set (their choice is kept). None when the namespace already carries them.
pub fn wanted_labels(
    level: Level,
    labels: &BTreeMap<String, String>,
    owners: &BTreeMap<String, Vec<String>>,
) -> Option<BTreeMap<String, String>> {
    let foreign = |label: &str| {
        owners
            .get(label)
            .is_some_and(|o| o.iter().any(|m| m != MANAGER))
    };
    let mut wanted = BTreeMap::new();
    for mode in MODES {
        let (level_label, version_label) = (
            format!("{LABEL_PREFIX}{mode}"),
            format!("{LABEL_PREFIX}{mode}-version"),
        );
        if foreign(&level_label) || foreign(&version_label) {
            continue;
        }
        wanted.insert(level_label, level.as_str().to_string());
        wanted.insert(version_label, VERSION.to_string());
    }
    let current = wanted.iter().all(|(k, v)| {
        labels.get(k) == Some(v)
            && owners
                .get(k)
                .is_some_and(|o| o.iter().any(|m| m == MANAGER))
    });
    (!current && !wanted.is_empty()).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn platform_namespaces_are_left_alone() {
        assert!(controlled("team", &labels(&[])));
        assert!(!controlled("team", &labels(&[(SYNC_LABEL, "false")])));
        assert!(!controlled("kube-system", &labels(&[(SYNC_LABEL, "true")])));
        assert!(!controlled("openshift-monitoring", &labels(&[])));
        assert!(controlled(
            "openshift-mine",
            &labels(&[(SYNC_LABEL, "true")])
        ));
    }

    fn restricted_v2() -> Value {
        json!({"allowHostDirVolumePlugin": false, "allowHostIPC": false, "allowHostNetwork": false,
               "allowHostPID": false, "allowHostPorts": false, "allowPrivilegeEscalation": false,
               "allowPrivilegedContainer": false, "allowedCapabilities": ["NET_BIND_SERVICE"],
               "requiredDropCapabilities": ["ALL"], "runAsUser": {"type": "MustRunAsRange"},
               "seLinuxContext": {"type": "MustRunAs"}, "seccompProfiles": ["runtime/default"],
               "volumes": RESTRICTED_ALLOWED_VOLUMES})
    }

    fn with(mut scc: Value, field: &str, value: Value) -> Value {
        scc[field] = value;
        scc
    }

    #[test]
    fn sccs_map_to_levels() {
        assert_eq!(scc_level(&restricted_v2()), Level::Restricted);
        // The v1 restricted SCC: escalation allowed, a few capabilities dropped.
        let v1 = with(
            with(restricted_v2(), "allowPrivilegeEscalation", json!(true)),
            "requiredDropCapabilities",
            json!(["KILL", "MKNOD", "SETUID", "SETGID"]),
        );
        assert_eq!(scc_level(&v1), Level::Baseline);
        // anyuid: any user, root included.
        let anyuid = with(restricted_v2(), "runAsUser", json!({"type": "RunAsAny"}));
        assert_eq!(scc_level(&anyuid), Level::Baseline);
        let nonroot = with(
            restricted_v2(),
            "runAsUser",
            json!({"type": "MustRunAsNonRoot"}),
        );
        assert_eq!(scc_level(&nonroot), Level::Restricted);
        let no_seccomp = with(restricted_v2(), "seccompProfiles", Value::Null);
        assert_eq!(scc_level(&no_seccomp), Level::Baseline);
        for (field, value) in [
            ("allowHostNetwork", json!(true)),
            ("allowPrivilegedContainer", json!(true)),
            ("volumes", json!(["*"])),
            ("allowedCapabilities", json!(["SYS_ADMIN"])),
            ("seLinuxContext", json!({"type": "RunAsAny"})),
            ("seccompProfiles", json!(["*"])),
        ] {
            assert_eq!(
                scc_level(&with(restricted_v2(), field, value)),
                Level::Privileged,
                "{field}"
            );
        }
    }

    #[test]
    fn labels_someone_else_set_are_kept() {
        let none = BTreeMap::new();
        let wanted = wanted_labels(Level::Restricted, &labels(&[]), &none).unwrap();
        assert_eq!(
            wanted,
            labels(&[
                ("pod-security.kubernetes.io/audit", "restricted"),
                ("pod-security.kubernetes.io/audit-version", VERSION),
                ("pod-security.kubernetes.io/warn", "restricted"),
                ("pod-security.kubernetes.io/warn-version", VERSION),
            ])
        );
        // Already there, applied by the syncer: nothing to do.
        let mine: BTreeMap<String, Vec<String>> = wanted
            .keys()
            .map(|k| (k.clone(), vec![MANAGER.to_string()]))
            .collect();
        assert_eq!(wanted_labels(Level::Restricted, &wanted, &mine), None);
        // An administrator's warn label stays; audit is still synchronised.
        let owners = label_owners(&json!([{"manager": "kubectl-label",
            "fieldsV1": {"f:metadata": {"f:labels": {"f:pod-security.kubernetes.io/warn": {}}}}}]));
        let wanted = wanted_labels(Level::Baseline, &labels(&[]), &owners).unwrap();
        assert_eq!(
            wanted.keys().collect::<Vec<_>>(),
            [
                "pod-security.kubernetes.io/audit",
                "pod-security.kubernetes.io/audit-version"
            ]
        );
    }
}
