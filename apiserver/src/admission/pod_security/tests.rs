use serde_json::{Value, json};

use super::checks::evaluate;
use super::namespace::dry_run;
use super::policy::{Level, LevelVersion, Policy, Version};
use crate::testing::Cluster;

/// A pod of one container `c` (security context `sc`) with `spec` merged in.
fn pod(sc: Value, spec: Value) -> Value {
    let mut pod = json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": sc}]}});
    if let (Some(target), Some(extra)) = (pod["spec"].as_object_mut(), spec.as_object()) {
        target.extend(extra.clone());
    }
    pod
}

/// A pod restricted admits.
fn compliant() -> Value {
    json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true,
           "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    base
}

fn details_at(level: Level, version: Version, pod: &Value) -> String {
    evaluate(level, version, &pod["metadata"], &pod["spec"]).details()
}

fn baseline(pod: &Value) -> String {
    details_at(Level::Baseline, Version::LATEST, pod)
}

fn restricted(pod: &Value) -> String {
    details_at(Level::Restricted, Version::LATEST, pod)
}

#[test]
fn a_bare_pod_lacks_four_restricted_settings() {
    let bare = pod(json!(null), json!({}));
    assert_eq!(baseline(&bare), "");
    assert_eq!(
        restricted(&bare),
        "allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
    );
    assert_eq!(restricted(&pod(compliant(), json!({}))), "");
    assert_eq!(details_at(Level::Privileged, Version::LATEST, &bare), "");
}

#[test]
fn host_namespaces_ports_and_paths() {
    let host = pod(
        compliant(),
        json!({"hostNetwork": true, "hostPID": true, "hostIPC": true,
               "volumes": [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "hostPath": {"path": "/b"}}]}),
    );
    assert_eq!(
        baseline(&host),
        "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), hostPath volumes (volumes \"a\", \"b\")"
    );
    // At restricted, the volume check replaces the hostPath one.
    assert_eq!(
        restricted(&host),
        "host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), \
         restricted volume types (volumes \"a\", \"b\" use restricted volume type \"hostPath\")"
    );
    let ports = json!({"containers": [
        {"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}, {"containerPort": 90, "hostPort": 80}]},
        {"name": "b", "ports": [{"containerPort": 1}]}]});
    assert_eq!(
        baseline(&pod(json!(null), ports)),
        "hostPort (container \"a\" uses hostPorts 80, 8080)"
    );
}

#[test]
fn privileged_capabilities_and_proc_mount() {
    let two = json!({"initContainers": [{"name": "i", "securityContext": {"privileged": true, "procMount": "Unmasked"}}],
        "containers": [{"name": "c", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "CHOWN", "SYS_TIME"]}}}]});
    assert_eq!(
        baseline(&pod(json!(null), two)),
        "non-default capabilities (container \"c\" must not include \"NET_ADMIN\", \"SYS_TIME\" in securityContext.capabilities.add), \
         privileged (containers \"i\", \"c\" must not set securityContext.privileged=true), \
         procMount (container \"i\" must not set securityContext.procMount to \"Unmasked\")"
    );
    let adds = with(
        compliant(),
        json!({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CHOWN"]}}),
    );
    assert_eq!(
        restricted(&pod(adds, json!({}))),
        "unrestricted capabilities (container \"c\" must not include \"CHOWN\" in securityContext.capabilities.add)"
    );
    let neither = with(
        compliant(),
        json!({"capabilities": {"drop": ["MKNOD"], "add": ["SYS_ADMIN"]}}),
    );
    assert_eq!(
        restricted(&pod(neither, json!({}))),
        "unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]; \
         container \"c\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add)"
    );
}

#[test]
fn app_armor_se_linux_seccomp_sysctls_and_host_process() {
    let mut p = pod(
        json!({"appArmorProfile": {"type": "Unconfined"}, "seLinuxOptions": {"type": "spc_t", "user": "u"},
               "seccompProfile": {"type": "Unconfined"}, "windowsOptions": {"hostProcess": true}}),
        json!({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                               {"name": "net.ipv4.tcp_rmem", "value": "1 2 3"}],
                                   "seLinuxOptions": {"role": "r"}}}),
    );
    p["metadata"]["annotations"] =
        json!({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"});
    assert_eq!(
        baseline(&p),
        "forbidden AppArmor profiles (container \"c\" and annotation must not set AppArmor profile type to \
         \"Unconfined\", \"container.apparmor.security.beta.kubernetes.io/c=\\\"unconfined\\\"\"), \
         seLinuxOptions (pod and container \"c\" set forbidden securityContext.seLinuxOptions: type \"spc_t\"; user may not be set; role may not be set), \
         seccompProfile (container \"c\" must not set securityContext.seccompProfile.type to \"Unconfined\"), \
         forbidden sysctls (kernel.msgmax), \
         hostProcess (container \"c\" must not set securityContext.windowsOptions.hostProcess=true)"
    );
    // tcp_rmem is safe from 1.32 only; a role without a bad type is named without words,
    // as upstream words it.
    p["spec"]["securityContext"]["seLinuxOptions"] = Value::Null;
    p["spec"]["containers"][0]["securityContext"]["seLinuxOptions"] = json!({"role": "r"});
    let older = details_at(Level::Baseline, Version::minor(31), &p);
    assert!(
        older.contains("forbidden sysctls (kernel.msgmax, net.ipv4.tcp_rmem)"),
        "{older}"
    );
    assert!(
        older.contains(
            "seLinuxOptions (container \"c\" set forbidden securityContext.seLinuxOptions: ), "
        ),
        "{older}"
    );
}

#[test]
fn run_as_user_and_non_root() {
    let root = pod(
        with(compliant(), json!({"runAsUser": 0, "runAsNonRoot": false})),
        json!({"securityContext": {"runAsUser": 0}}),
    );
    assert_eq!(
        restricted(&root),
        "runAsNonRoot != true (container \"c\" must not set securityContext.runAsNonRoot=false), \
         runAsUser=0 (pod and container \"c\" must not set runAsUser=0)"
    );
    // The pod's runAsNonRoot covers containers that leave it unset.
    let mut sc = compliant();
    sc.as_object_mut().map(|o| o.remove("runAsNonRoot"));
    assert_eq!(
        restricted(&pod(sc, json!({"securityContext": {"runAsNonRoot": true}}))),
        ""
    );
    // runAsUser=0 is judged from 1.23 on.
    assert_eq!(
        details_at(
            Level::Restricted,
            Version::minor(22),
            &pod(with(compliant(), json!({"runAsUser": 0})), json!({}))
        ),
        ""
    );
}

#[test]
fn older_versions_judge_what_they_knew() {
    let bare = pod(json!({"capabilities": {"add": ["SYS_ADMIN"]}}), json!({}));
    // Before 1.22, restricted has baseline's capability check; before 1.19 no seccomp field
    // check; before 1.8 no privilege escalation check.
    assert_eq!(
        details_at(Level::Restricted, Version::minor(7), &bare),
        "non-default capabilities (container \"c\" must not include \"SYS_ADMIN\" in securityContext.capabilities.add), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true)"
    );
    let mut annotated = pod(json!(null), json!({}));
    annotated["metadata"]["annotations"] =
        json!({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"});
    assert_eq!(
        details_at(Level::Baseline, Version::minor(18), &annotated),
        "seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
    );
    // Windows pods need neither from 1.25.
    let windows = pod(
        json!({"runAsNonRoot": true}),
        json!({"os": {"name": "windows"}}),
    );
    assert_eq!(restricted(&windows), "");
}

#[test]
fn restricted_volume_types_are_named() {
    let p = pod(
        compliant(),
        json!({"volumes": [{"name": "ok", "emptyDir": {}}, {"name": "n", "nfs": {"server": "s", "path": "/"}},
                           {"name": "g", "gitRepo": {"repository": "r"}}]}),
    );
    assert_eq!(
        restricted(&p),
        "restricted volume types (volumes \"n\", \"g\" use restricted volume types \"gitRepo\", \"nfs\")"
    );
}

#[test]
fn labels_set_the_policy() {
    let parse = |labels: Value| Policy::from_labels(&labels, Policy::OPENSHIFT_DEFAULTS);
    let (p, errors) = parse(json!({}));
    assert_eq!(p, Policy::OPENSHIFT_DEFAULTS);
    assert!(errors.is_empty());
    let (p, errors) = parse(json!({"pod-security.kubernetes.io/enforce": "baseline",
                                   "pod-security.kubernetes.io/enforce-version": "v1.25"}));
    assert!(errors.is_empty());
    assert_eq!(p.enforce.to_string(), "baseline:v1.25");
    // Warn stays at the stricter default.
    assert_eq!(p.warn.to_string(), "restricted:latest");
    // A stricter enforce level than warn's carries warn along.
    let privileged_defaults = Policy {
        warn: LevelVersion {
            level: Level::Privileged,
            version: Version::LATEST,
        },
        ..Policy::OPENSHIFT_DEFAULTS
    };
    let (p, _) = Policy::from_labels(
        &json!({"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30"}),
        privileged_defaults,
    );
    assert_eq!(p.warn.to_string(), "baseline:v1.30");
    let (p, errors) = parse(json!({"pod-security.kubernetes.io/enforce": "strict",
                                   "pod-security.kubernetes.io/warn": "loud",
                                   "pod-security.kubernetes.io/audit-version": "1.2"}));
    assert_eq!(p.enforce.level, Level::Restricted);
    assert_eq!(p.warn.level, Level::Privileged);
    assert_eq!(
        errors.summary(),
        "[metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted, \
         metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"1.2\": must be \"latest\" or \"v1.x\", \
         metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: \"loud\": must be one of privileged, baseline, restricted]"
    );
    for bad in ["v1.01", "v2.0", "v1.", "v1.x"] {
        assert!(Version::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        Version::parse("v1.0").map(|v| v.to_string()),
        Ok("v1.0".into())
    );
}

#[test]
fn the_dry_run_groups_pods_by_reasons() {
    let named = |name: &str, sc: Value| {
        let mut p = pod(sc, json!({}));
        p["metadata"]["name"] = json!(name);
        p
    };
    let pods = [
        named("web-2", json!(null)),
        named("web-1", json!(null)),
        named("ok", compliant()),
        named("root", with(compliant(), json!({"runAsUser": 0}))),
        named("web-3", json!(null)),
    ];
    let enforce = LevelVersion {
        level: Level::Restricted,
        version: Version::LATEST,
    };
    assert_eq!(
        dry_run("team", enforce, &pods),
        [
            "existing pods in namespace \"team\" violate the new PodSecurity enforce level \"restricted:latest\"",
            "root: runAsUser=0",
            "web-1 (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
}

const PODS: &str = "/api/v1/namespaces/team/pods";

async fn labelled(labels: Value) -> Cluster {
    let cluster = Cluster::new();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": labels}});
    cluster.post("/api/v1/namespaces", ns).await.created();
    cluster
}

fn full_pod(name: &str, sc: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": sc}]}})
}

#[tokio::test]
async fn enforce_refuses_and_warn_warns() {
    let cluster = labelled(json!({"pod-security.kubernetes.io/enforce": "baseline"})).await;
    cluster
        .post(PODS, full_pod("p", json!({"privileged": true})))
        .await
        .failure(
            403,
            "Forbidden",
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"c\" must not set securityContext.privileged=true)",
        );
    // Baseline admits it; the default warn level (restricted) warns.
    let created = cluster.post(PODS, full_pod("q", json!(null))).await;
    assert_eq!(
        created.warnings(),
        [
            "299 - \"would violate PodSecurity \\\"restricted:latest\\\": allowPrivilegeEscalation != false (container \\\"c\\\" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \\\"c\\\" must set securityContext.capabilities.drop=[\\\"ALL\\\"]), runAsNonRoot != true (pod or container \\\"c\\\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container \\\"c\\\" must set securityContext.seccompProfile.type to \\\"RuntimeDefault\\\" or \\\"Localhost\\\")\""
        ]
    );
    created.created();
    // A compliant pod draws no warning.
    let quiet = cluster.post(PODS, full_pod("r", compliant())).await;
    assert!(quiet.warnings().is_empty(), "{:?}", quiet.warnings());
    quiet.created();
}

#[tokio::test]
async fn templates_are_warned_of_not_refused() {
    let cluster = labelled(json!({"pod-security.kubernetes.io/enforce": "restricted"})).await;
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}}}});
    let created = cluster
        .post("/apis/apps/v1/namespaces/team/deployments", deployment)
        .await;
    let warnings = created.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("299 - \"would violate PodSecurity \\\"restricted:latest\\\": privileged (container \\\"c\\\" must not set securityContext.privileged=true), allowPrivilegeEscalation != false"),
        "{warnings:?}"
    );
    created.created();
}

#[tokio::test]
async fn namespace_labels_are_checked_and_tightening_tries_the_pods() {
    let cluster = Cluster::new();
    let bad = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "bad", "labels": {"pod-security.kubernetes.io/enforce": "strict"}}});
    cluster.post("/api/v1/namespaces", bad).await.failure(
        422,
        "Invalid",
        "Namespace \"bad\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"strict\": must be one of privileged, baseline, restricted",
    );
    let cluster = labelled(json!({})).await;
    cluster
        .post(
            PODS,
            full_pod("root", json!({"runAsUser": 0, "privileged": true})),
        )
        .await
        .created();
    let tighten = |level: &str| {
        format!(r#"{{"metadata":{{"labels":{{"pod-security.kubernetes.io/enforce":"{level}"}}}}}}"#)
    };
    let patched = cluster
        .patch(
            "/api/v1/namespaces/team",
            "application/merge-patch+json",
            &tighten("baseline"),
        )
        .await;
    assert_eq!(
        patched.warnings(),
        [
            "299 - \"existing pods in namespace \\\"team\\\" violate the new PodSecurity enforce level \\\"baseline:latest\\\"\"",
            "299 - \"root: privileged\""
        ]
    );
    patched.ok();
    // Relaxing tries nothing.
    let relaxed = cluster
        .patch(
            "/api/v1/namespaces/team",
            "application/merge-patch+json",
            &tighten("privileged"),
        )
        .await;
    assert!(relaxed.warnings().is_empty());
    relaxed.ok();
}

#[tokio::test]
async fn system_namespaces_are_exempt() {
    let cluster = Cluster::new();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "kube-system", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    cluster.post("/api/v1/namespaces", ns).await.created();
    let created = cluster
        .post(
            "/api/v1/namespaces/kube-system/pods",
            full_pod("p", json!({"privileged": true})),
        )
        .await;
    assert!(created.warnings().is_empty());
    created.created();
}

#[test]
fn only_image_and_container_changes_are_judged_again() {
    let old = full_pod("p", json!(null));
    let mut labelled = old.clone();
    labelled["metadata"]["labels"] = json!({"a": "b"});
    assert!(!super::significant_update(&labelled, &old));
    let mut image = old.clone();
    image["spec"]["containers"][0]["image"] = json!("busybox:2");
    assert!(super::significant_update(&image, &old));
    let mut debugged = old.clone();
    debugged["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    assert!(super::significant_update(&debugged, &old));
    assert!(!super::significant_update(&debugged, &debugged));
}

/// The `/metrics` lines of a series family, sorted.
async fn samples(cluster: &Cluster, family: &str) -> Vec<String> {
    let text = cluster.server.metrics.render(&cluster.server).await;
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with(family))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn evaluations_and_exemptions_are_counted_as_upstream() {
    let cluster = labelled(json!({"pod-security.kubernetes.io/enforce": "baseline",
                                  "pod-security.kubernetes.io/warn-version": "v1.40"}))
    .await;
    cluster
        .post(PODS, full_pod("p", json!({"privileged": true})))
        .await
        .failure(403, "Forbidden", "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"c\" must not set securityContext.privileged=true)");
    cluster
        .post(PODS, full_pod("q", json!(null)))
        .await
        .created();
    cluster.namespace("kube-system").await;
    cluster
        .post(
            "/api/v1/namespaces/kube-system/pods",
            full_pod("r", json!(null)),
        )
        .await;
    let labels = |d: &str, l: &str, v: &str, m: &str| {
        format!(
            "pod_security_evaluations_total{{decision=\"{d}\",policy_level=\"{l}\",policy_version=\"{v}\",mode=\"{m}\",request_operation=\"create\",resource=\"pod\",subresource=\"\"}}"
        )
    };
    assert_eq!(
        samples(&cluster, "pod_security_evaluations_total{").await,
        [
            format!("{} 1", labels("allow", "baseline", "latest", "enforce")),
            format!("{} 1", labels("deny", "baseline", "latest", "enforce")),
            // A version newer than the checks know is counted as `future`.
            format!("{} 1", labels("deny", "restricted", "future", "warn")),
            format!("{} 2", labels("deny", "restricted", "latest", "audit")),
        ]
    );
    assert_eq!(
        samples(&cluster, "pod_security_exemptions_total{").await,
        [
            "pod_security_exemptions_total{request_operation=\"create\",resource=\"pod\",subresource=\"\"} 1"
        ]
    );
}

fn configured(config: Value) -> crate::admission::Config {
    let plugins =
        crate::admission::config_file::Plugins::Named(vec![(super::NAME.to_string(), config)]);
    crate::admission::Config::disabling(&[crate::admission::scc::NAME.to_string()])
        .and_then(|c| c.configured(&plugins))
        .unwrap_or_default()
}

#[tokio::test]
async fn the_configuration_sets_the_defaults_and_exemptions() {
    let cluster = Cluster::with_admission(configured(json!({
        "apiVersion": "pod-security.admission.config.k8s.io/v1",
        "kind": "PodSecurityConfiguration",
        "defaults": {"enforce": "baseline"},
        "exemptions": {"namespaces": ["ci"], "runtimeClasses": ["kata"]}})));
    cluster.namespace("team").await;
    // Baseline enforced by default, nothing audited or warned of.
    cluster
        .post(PODS, full_pod("p", json!({"privileged": true})))
        .await
        .failure(403, "Forbidden", "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged (container \"c\" must not set securityContext.privileged=true)");
    let quiet = cluster.post(PODS, full_pod("q", json!(null))).await;
    assert!(quiet.warnings().is_empty(), "{:?}", quiet.warnings());
    quiet.created();
    // An exempt runtime class, and an exempt namespace (warned of when labelled).
    let mut kata = full_pod("k", json!({"privileged": true}));
    kata["spec"]["runtimeClassName"] = json!("kata");
    cluster.post(PODS, kata).await.created();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ci",
        "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}});
    let created = cluster.post("/api/v1/namespaces", ns).await;
    assert_eq!(
        created.warnings(),
        [
            "299 - \"namespace \\\"ci\\\" is exempt from Pod Security, and the policy (enforce=restricted:latest) will be ignored\""
        ]
    );
    created.created();
    cluster
        .post(
            "/api/v1/namespaces/ci/pods",
            full_pod("p", json!({"privileged": true})),
        )
        .await
        .created();
    assert_eq!(
        samples(&cluster, "pod_security_exemptions_total{").await,
        [
            "pod_security_exemptions_total{request_operation=\"create\",resource=\"pod\",subresource=\"\"} 2"
        ]
    );
}
