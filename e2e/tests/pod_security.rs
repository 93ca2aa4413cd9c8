//! Pod Security admission as a project admin meets it after `oc login`: a new project's
//! `audit` and `warn` labels synchronised from the SCCs its service accounts may use (and
//! raised when the cluster admin lets them use `anyuid`), a namespace labelled
//! `enforce=restricted` admitting a bare pod that `restricted-v2`'s defaults make compliant
//! but refusing, with upstream's message, the same pod admitted under `anyuid`, and `warn`
//! answering with kubectl's `Warning:` lines (an administrator's warn label is kept by the
//! synchronisation).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, oc};
use e2e::wait_until;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn run(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = oc(home, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = run(home, args);
    assert!(success, "oc {args:?}: {stdout}{stderr}");
    stdout
}

/// The namespace's Pod Security labels, `mode=level@version` for audit and warn.
fn synced(home: &Path, admin: &str) -> String {
    let (_, out, _) = run(
        home,
        &[
            "--kubeconfig",
            admin,
            "get",
            "namespace",
            "psa",
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
