use serde_json::{Value, json};

use super::*;
use crate::registry::security::default_sccs;

fn scc(name: &str) -> Scc {
    default_sccs::objects()
        .iter()
        .filter_map(Scc::from_value)
        .find(|s| s.name() == name)
        .unwrap_or_default()
}

fn namespace() -> Allocation {
    Allocation::of(&json!({"metadata": {"annotations": {
        UID_RANGE: "1000680000/10000", MCS: "s0:c26,c15",
        "openshift.io/sa.scc.supplemental-groups": "1000680000/10000"}}}))
}

fn admit(name: &str, mut pod: Value) -> (Value, Vec<String>) {
    let scc = scc(name);
    let provider = Provider::new(&scc, &namespace()).map_err(|e| vec![e]);
    match provider {
        Ok(p) => {
            p.apply_defaults(&mut pod);
            let errors = p.validate(&pod);
            (pod, errors)
        }
        Err(e) => (pod, e),
    }
}

fn plain() -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
}

#[test]
fn restricted_v2_fills_in_the_namespace_values() {
    let (pod, errors) = admit("restricted-v2", plain());
    assert!(errors.is_empty(), "{errors:?}");
    let sc = &pod["spec"]["containers"][0]["securityContext"];
    assert_eq!(sc["runAsUser"], 1000680000);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    let pod_sc = &pod["spec"]["securityContext"];
    assert_eq!(pod_sc["fsGroup"], 1000680000);
    assert_eq!(pod_sc["seLinuxOptions"]["level"], "s0:c26,c15");
    assert_eq!(pod_sc["seccompProfile"]["type"], "RuntimeDefault");
}

#[test]
fn restricted_v2_refuses_root_privilege_and_host_features() {
    let mut pod = plain();
    pod["spec"]["hostNetwork"] = json!(true);
    pod["spec"]["volumes"] = json!([{"name": "h", "hostPath": {"path": "/"}}]);
    pod["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 0, "privileged": true, "capabilities": {"add": ["SYS_ADMIN", "NET_BIND_SERVICE"]}});
    let (_, errors) = admit("restricted-v2", pod);
    assert_eq!(
        errors,
        [
            ".spec.securityContext.hostNetwork: Invalid value: true: Host network is not allowed to be used",
            ".spec.volumes[0]: Invalid value: \"hostPath\": hostPath volumes are not allowed to be used",
            ".containers[0].privileged: Invalid value: true: Privileged containers are not allowed",
            ".containers[0].runAsUser: Invalid value: 0: must be in the ranges: [1000680000, 1000689999]",
            ".containers[0].capabilities.add: Invalid value: \"SYS_ADMIN\": capability may not be added",
        ]
    );
}

#[test]
fn anyuid_takes_root_and_privileged_takes_everything() {
    let mut pod = plain();
    pod["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 0});
    let (pod, errors) = admit("anyuid", pod);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"],
        json!(["MKNOD"])
    );
    let mut pod = plain();
    pod["spec"]["hostPID"] = json!(true);
    pod["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
    let (_, errors) = admit("privileged", pod);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn nonroot_refuses_uid_zero_and_groups_outside_the_ranges_are_refused() {
    let mut pod = plain();
    pod["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": 0});
    let (_, errors) = admit("nonroot-v2", pod);
    assert_eq!(
        errors,
        [".containers[0].runAsUser: Invalid value: 0: running with the root UID is forbidden"]
    );
    let mut pod = plain();
    pod["spec"]["securityContext"] = json!({"fsGroup": 999});
    let (_, errors) = admit("restricted-v2", pod);
    assert_eq!(
        errors,
        [".spec.securityContext.fsGroup: Invalid value: []int64{999}: 999 is not an allowed group"]
    );
}

#[test]
fn a_namespace_without_an_allocation_cannot_be_judged_by_range_strategies() {
    let restricted = scc("restricted-v2");
    let err = Provider::new(&restricted, &Allocation::default()).err();
    assert_eq!(
        err.as_deref(),
        Some("unable to find annotation openshift.io/sa.scc.uid-range")
    );
    // anyuid still needs the namespace's MCS level.
    let anyuid = scc("anyuid");
    let err = Provider::new(&anyuid, &Allocation::default()).err();
    assert_eq!(
        err.as_deref(),
        Some("unable to find annotation openshift.io/sa.scc.mcs")
    );
}

#[test]
fn a_refusing_sccs_defaults_are_taken_back_exactly() {
    let pods = [
        plain(),
        json!({"metadata": {"name": "p"}}),
        json!({"metadata": {"name": "p"}, "spec": {
            "securityContext": {"runAsUser": 0},
            "initContainers": [{"name": "i", "image": "x", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
            "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": true}}, {"name": "d", "image": "y"}]}}),
    ];
    for pod in pods {
        for name in ["restricted-v2", "nonroot-v2", "anyuid", "privileged"] {
            let scc = scc(name);
            let Ok(provider) = Provider::new(&scc, &namespace()) else {
                continue;
            };
            let mut tried = pod.clone();
            let saved = Saved::of(&tried);
            provider.apply_defaults(&mut tried);
            saved.restore(&mut tried);
            // The same values in the same order, as if no SCC had been tried.
            assert_eq!(tried.to_string(), pod.to_string(), "{name}");
        }
    }
}
