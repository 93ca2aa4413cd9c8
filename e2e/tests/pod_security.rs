//! Pod Security admission as a project admin meets it after `oc login`: a new project's
//! `audit` and `warn` labels synchronised from the SCCs its service accounts may use (and
//! raised when the cluster admin lets them use `anyuid`), a namespace labelled
//! `enforce=restricted` admitting a bare pod that `restricted-v2`'s defaults make compliant
//! but refusing, with upstream's message, the same pod admitted under `anyuid`, and `warn`
//! answering with kubectl's `Warning:` lines (an administrator's warn label is kept by the
//! synchronisation). Then the admission configuration file
//! (`--admission-control-config-file`): a namespace its `PodSecurityConfiguration` exempts
//! admits what enforce would refuse elsewhere, PodNodeSelector's whitelist refuses a pod
//! asking for another node label, and `/metrics` counts the warned pod and the exemption as
//! upstream's `pod_security_*` series.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, oc_ok as ok, oc_run as run};
use e2e::{Backend, Cluster, wait_until};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// The namespace's Pod Security labels, `mode=level@version` for audit and warn.
fn synced(home: &Path, admin: &str) -> String {
    synced_in(home, admin, "psa")
}

fn synced_in(home: &Path, admin: &str, namespace: &str) -> String {
    let (_, out, _) = run(
        home,
        &[
            "--kubeconfig",
            admin,
            "get",
            "namespace",
            namespace,
            "-o",
            "jsonpath=audit={.metadata.labels.pod-security\\.kubernetes\\.io/audit}@{.metadata.labels.pod-security\\.kubernetes\\.io/audit-version} warn={.metadata.labels.pod-security\\.kubernetes\\.io/warn}@{.metadata.labels.pod-security\\.kubernetes\\.io/warn-version}",
        ],
    );
    out
}

/// A pod that sets nothing about its security: what it may do is the SCC's defaults.
fn bare_pod(home: &Path, name: &str) -> String {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]}});
    let file = home.join(format!("{name}.json"));
    std::fs::write(&file, pod.to_string()).unwrap();
    file.display().to_string()
}

#[test]
fn pod_security_follows_the_namespace_labels_after_the_scc_defaults() {
    let (_dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "psa");
    let admin = c.kubeconfig().display().to_string();

    // The new project's service accounts may use restricted-v2 only: restricted.
    wait_until("the project's synchronised labels", WAIT, || {
        (synced(&home, &admin) == "audit=restricted@v1.24 warn=restricted@v1.24").then_some(())
    });

    // Enforced restricted: a bare pod is admitted under restricted-v2, whose defaults
    // (no privilege escalation, ALL dropped, non-root, RuntimeDefault seccomp) satisfy it.
    ok(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "label",
            "namespace",
            "psa",
            "pod-security.kubernetes.io/enforce=restricted",
        ],
    );
    let defaulted = bare_pod(&home, "defaulted");
    let (created, _, stderr) = run(&home, &["create", "-f", &defaulted]);
    assert!(created, "{stderr}");
    assert!(!stderr.contains("Warning"), "{stderr}");
    assert_eq!(
        ok(
            &home,
            &[
                "get",
                "pod",
                "defaulted",
                "-o",
                "jsonpath={.metadata.annotations.openshift\\.io/scc} {.spec.containers[0].securityContext.allowPrivilegeEscalation}"
            ]
        ),
        "restricted-v2 false"
    );

    // Once the project's service account may use anyuid, the synchronised levels follow,
    // and the same pod, admitted by anyuid without those defaults, is refused.
    ok(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "policy",
            "add-scc-to-user",
            "anyuid",
            "-z",
            "default",
            "-n",
            "psa",
        ],
    );
    wait_until("the labels raised to anyuid's level", WAIT, || {
        (synced(&home, &admin) == "audit=baseline@v1.24 warn=baseline@v1.24").then_some(())
    });
    let refused = bare_pod(&home, "bare");
    let expected = format!(
        "Error from server (Forbidden): error when creating \"{refused}\": pods \"bare\" is forbidden: \
         violates PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")\n"
    );
    // The grant reaches the SCC admission through the RBAC caches: retried until it does.
    let stderr = wait_until("the anyuid pod refused", WAIT, || {
        let (created, _, stderr) = run(&home, &["create", "-f", &refused]);
        if created {
            ok(&home, &["delete", "pod", "bare", "--wait=false"]);
            return None;
        }
        stderr.contains("violates PodSecurity").then_some(stderr)
    });
    assert_eq!(stderr, expected);

    // Baseline enforced and restricted warned of (the administrator's own warn label, which
    // the synchronisation keeps): admitted, with kubectl's warning line.
    ok(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "label",
            "namespace",
            "psa",
            "--overwrite",
            "pod-security.kubernetes.io/enforce=baseline",
            "pod-security.kubernetes.io/warn=restricted",
            "pod-security.kubernetes.io/warn-version=latest",
        ],
    );
    // The label reaches admission through the namespaces' cache: tried until it warns.
    let mut attempt = 0;
    let (stdout, stderr) = wait_until("the restricted warning", WAIT, || {
        attempt += 1;
        let name = format!("warned-{attempt}");
        let (created, stdout, stderr) = run(&home, &["create", "-f", &bare_pod(&home, &name)]);
        assert!(created, "{stderr}");
        stderr
            .contains("Warning")
            .then(|| (stdout.replace(&name, "warned"), stderr))
    });
    assert_eq!(stdout, "pod/warned created\n");
    assert_eq!(
        stderr,
        "Warning: would violate PodSecurity \"restricted:latest\": \
         allowPrivilegeEscalation != false (container \"c\" must set securityContext.allowPrivilegeEscalation=false), \
         unrestricted capabilities (container \"c\" must set securityContext.capabilities.drop=[\"ALL\"]), \
         runAsNonRoot != true (pod or container \"c\" must set securityContext.runAsNonRoot=true), \
         seccompProfile (pod or container \"c\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")\n"
    );

    // Without anyuid again, the synchronised audit level goes back to restricted while the
    // administrator's warn label stays as set.
    ok(
        &home,
        &[
            "--kubeconfig",
            &admin,
            "adm",
            "policy",
            "remove-scc-from-user",
            "anyuid",
            "-z",
            "default",
            "-n",
            "psa",
        ],
    );
    wait_until("audit back to restricted, warn kept", WAIT, || {
        (synced(&home, &admin) == "audit=restricted@v1.24 warn=restricted@latest").then_some(())
    });
}

/// The admission configuration file: PodSecurity with OpenShift's defaults and the namespace
/// `exempt` exempt; PodNodeSelector with a whitelist for `counted`.
const ADMISSION_CONFIG: &str = r#"apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: privileged
      audit: restricted
      warn: restricted
    exemptions:
      namespaces: [exempt]
- name: PodNodeSelector
  path: node-selectors.yaml
"#;

/// A pod the SCC admits (AppArmor is not the SCCs' concern) but baseline refuses.
fn unconfined_pod(home: &Path, name: &str) -> String {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name,
        "annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1"}]}});
    let file = home.join(format!("{name}.json"));
    std::fs::write(&file, pod.to_string()).unwrap();
    file.display().to_string()
}

/// The value of one `/metrics` sample (0 when the series does not exist yet).
fn sample(c: &Cluster, series: &str) -> u64 {
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_admission_configuration_file_exempts_whitelists_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let passwords = e2e::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let config = dir.path().join("admission.yaml");
    std::fs::write(&config, ADMISSION_CONFIG).unwrap();
    std::fs::write(
        dir.path().join("node-selectors.yaml"),
        "podNodeSelectorPluginConfig:\n  counted: tier=web\n",
    )
    .unwrap();
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--htpasswd",
            passwords.to_str().unwrap(),
            "--admission-control-config-file",
            config.to_str().unwrap(),
        ],
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    alice_in_project(&c, &home, "counted");
    ok(&home, &["new-project", "exempt"]);
    let admin = c.kubeconfig().display().to_string();
    for ns in ["counted", "exempt"] {
        wait_until("the projects' synchronised labels", WAIT, || {
            (synced_in(&home, &admin, ns) == "audit=restricted@v1.24 warn=restricted@v1.24")
                .then_some(())
        });
    }

    // Warned of: the synchronised warn level, restricted at v1.24, and counted as upstream
    // counts it. Tried until the namespace's labels reach admission through its cache.
    let warned = "pod_security_evaluations_total{decision=\"deny\",policy_level=\"restricted\",policy_version=\"v1.24\",mode=\"warn\",request_operation=\"create\",resource=\"pod\",subresource=\"\"}";
    let before = sample(&c, warned);
    let mut attempt = 0;
    let stderr = wait_until("the v1.24 warning", WAIT, || {
        attempt += 1;
        let file = unconfined_pod(&home, &format!("warned-{attempt}"));
        let (created, _, stderr) = run(&home, &["create", "-n", "counted", "-f", &file]);
        assert!(created, "{stderr}");
        stderr.contains("\"restricted:v1.24\"").then_some(stderr)
    });
    assert!(
        stderr.starts_with(
            "Warning: would violate PodSecurity \"restricted:v1.24\": forbidden AppArmor profile"
        ),
        "{stderr}"
    );
    assert_eq!(sample(&c, warned), before + 1);

    // Enforced restricted in both: the configured exemption is warned of when labelled, and
    // admits what `counted` refuses.
    let label = |ns: &str| {
        run(
            &home,
            &[
                "--kubeconfig",
                &admin,
                "label",
                "namespace",
                ns,
                "pod-security.kubernetes.io/enforce=restricted",
            ],
        )
    };
    let (labelled, _, stderr) = label("exempt");
    assert!(labelled, "{stderr}");
    assert_eq!(
        stderr,
        "Warning: namespace \"exempt\" is exempt from Pod Security, and the policy \
         (enforce=restricted:latest, audit=restricted:v1.24, warn=restricted:v1.24) will be ignored\n"
    );
    assert!(label("counted").0);
    let refused = wait_until("the unconfined pod refused", WAIT, || {
        let file = unconfined_pod(&home, "refused");
        let (created, _, stderr) = run(&home, &["create", "-n", "counted", "-f", &file]);
        if created {
            ok(
                &home,
                &["delete", "pod", "refused", "-n", "counted", "--wait=false"],
            );
            return None;
        }
        Some(stderr)
    });
    assert!(
        refused.contains("pods \"refused\" is forbidden: violates PodSecurity \"restricted:latest\": forbidden AppArmor profile"),
        "{refused}"
    );
    let exempted = "pod_security_exemptions_total{request_operation=\"create\",resource=\"pod\",subresource=\"\"}";
    let before = sample(&c, exempted);
    let file = unconfined_pod(&home, "unconfined");
    let (created, stdout, stderr) = run(&home, &["create", "-n", "exempt", "-f", &file]);
    assert!(created, "{stderr}");
    assert_eq!(
        (stdout.as_str(), stderr.as_str()),
        ("pod/unconfined created\n", "")
    );
    assert_eq!(sample(&c, exempted), before + 1);

    // PodNodeSelector's whitelist for `counted`: tier=web only.
    let web = bare_pod_selecting(&home, "web", json!({"tier": "web"}));
    ok(&home, &["create", "-n", "counted", "-f", &web]);
    let db = bare_pod_selecting(&home, "db", json!({"tier": "db"}));
    let (created, _, stderr) = run(&home, &["create", "-n", "counted", "-f", &db]);
    assert!(!created);
    assert_eq!(
        stderr,
        format!(
            "Error from server (Forbidden): error when creating \"{db}\": pods \"db\" is forbidden: \
             pod node label selector labels conflict with its namespace whitelist\n"
        )
    );
}

/// A bare pod asking for nodes labelled `selector`.
fn bare_pod_selecting(home: &Path, name: &str, selector: serde_json::Value) -> String {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeSelector": selector,
                 "containers": [{"name": "c", "image": "example.invalid/app:1"}]}});
    let file = home.join(format!("{name}.json"));
    std::fs::write(&file, pod.to_string()).unwrap();
    file.display().to_string()
}
