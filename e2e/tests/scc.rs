//! SecurityContextConstraints as a project admin meets them after `oc login`: the default
//! SCCs listed, a Deployment's pods admitted under `restricted-v2` with the project's UID,
//! a root pod and a privileged pod refused with upstream's message (and the grant that would
//! admit them), the root pod admitted once the cluster admin lets the project's service
//! account use `anyuid` with `oc adm policy add-scc-to-user`, the reviews that say so, and the
//! SCC a pod was admitted under kept on updates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::oc::{alice_in_project, cluster_with_alice, oc_ok as ok, oc_run as run};
use e2e::wait_until;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn pod(name: &str, security: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "example.invalid/app:1", "securityContext": security}]}})
}

/// Every default SCC after `restricted-v2`, as the refusal lists them.
const AFTER_RESTRICTED_V2: &[&str] = &[
    "restricted",
    "nonroot-v2",
    "nonroot",
    "hostmount-anyuid",
    "hostnetwork-v2",
    "hostnetwork",
    "hostaccess",
];

#[test]
fn pods_are_admitted_under_the_sccs_their_service_account_may_use() {
    let (_dir, c, home) = cluster_with_alice();
    alice_in_project(&c, &home, "secure");
    let admin = c.kubeconfig().display().to_string();

    // The default SCCs, as `oc get scc` shows them to the cluster admin.
    let listed = ok(&home, &["--kubeconfig", &admin, "get", "scc"]);
    let header: Vec<&str> = listed.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "PRIV",
            "CAPS",
            "SELINUX",
            "RUNASUSER",
            "FSGROUP",
            "SUPGROUP",
            "PRIORITY",
            "READONLYROOTFS",
            "VOLUMES"
        ]
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("restricted-v2 ") && l.contains("MustRunAsRange")),
        "{listed}"
    );

    // The project's allocation, which restricted-v2 assigns from.
    let uid_range = wait_until("the project's UID range", WAIT, || {
        let (_, out, _) = run(
            &home,
            &[
                "get",
                "project",
                "secure",
                "-o",
                "jsonpath={.metadata.annotations.openshift\\.io/sa\\.scc\\.uid-range}",
            ],
        );
        (!out.is_empty()).then_some(out)
    });
    let first: i64 = uid_range.split('/').next().unwrap().parse().unwrap();
    let last = first + uid_range.split('/').nth(1).unwrap().parse::<i64>().unwrap() - 1;

    // A Deployment's pods, created by the controllers, are judged for the default service
    // account: restricted-v2, with the project's first UID.
    ok(
        &home,
        &[
            "create",
            "deployment",
            "web",
            "--image=example.invalid/app:1",
        ],
    );
    let (scc, uid) = wait_until("the deployment's pod", WAIT, || {
        let (_, out, _) = run(
            &home,
            &[
                "get",
                "pods",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[0].metadata.annotations.openshift\\.io/scc} {.items[0].spec.containers[0].securityContext.runAsUser}",
            ],
        );
        let (scc, uid) = out.split_once(' ')?;
        (!scc.is_empty()).then(|| (scc.to_string(), uid.to_string()))
    });
    assert_eq!((scc.as_str(), uid), ("restricted-v2", first.to_string()));

    // A pod asking for root is refused, with every SCC tried and the grant that would admit it.
    let root = c.file(
        "root.json",
        &pod("root", json!({"runAsUser": 0})).to_string(),
    );
    let (success, _, stderr) = run(&home, &["create", "-f", &root]);
    assert!(!success);
    let not_usable =
        |name: &str| format!("provider {name:?}: Forbidden: not usable by user or serviceaccount");
    let mut tried = vec![
        not_usable("anyuid"),
        format!(
            "provider restricted-v2: .containers[0].runAsUser: Invalid value: 0: must be in the ranges: [{first}, {last}]"
        ),
    ];
    tried.extend(AFTER_RESTRICTED_V2.iter().map(|n| not_usable(n)));
    tried.push(not_usable("privileged"));
    let expected = format!(
        "Error from server (Forbidden): error when creating \"{root}\": pods \"root\" is forbidden: \
         unable to validate against any security context constraint: [{}]; the pod would be admitted \
         under SCC \"anyuid\" if its service account could use it: oc adm policy add-scc-to-user anyuid -z default -n secure\n",
        tried.join(", ")
    );
    assert_eq!(stderr, expected);

    // A privileged pod: anyuid would not admit it either, so the hint names privileged.
    let privileged = c.file(
        "privileged.json",
        &pod("privileged", json!({"privileged": true})).to_string(),
    );
    let (success, _, stderr) = run(&home, &["create", "-f", &privileged]);
    assert!(!success);
    assert!(
        stderr.contains("provider restricted-v2: .containers[0].privileged: Invalid value: true: Privileged containers are not allowed")
            && stderr.ends_with("under SCC \"privileged\" if its service account could use it: oc adm policy add-scc-to-user privileged -z default -n secure\n"),
        "{stderr}"
    );

    // The project admin may not grant an SCC; the cluster admin may.
    let (success, _, _) = run(
        &home,
        &[
            "adm",
            "policy",
            "add-scc-to-user",
            "anyuid",
            "-z",
            "default",
        ],
    );
    assert!(!success, "a project admin granted an SCC");
    let granted = ok(
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
            "secure",
        ],
    );
    assert_eq!(
        granted,
        "clusterrole.rbac.authorization.k8s.io/system:openshift:scc:anyuid added: \"default\"\n"
    );
    let created = wait_until("the root pod admitted under anyuid", WAIT, || {
        let (success, out, _) = run(&home, &["create", "-f", &root]);
        success.then_some(out)
    });
    assert_eq!(created, "pod/root created\n");
    let (_, annotated, _) = run(
        &home,
        &[
            "get",
            "pod",
            "root",
            "-o",
            "jsonpath={.metadata.annotations.openshift\\.io/scc}",
        ],
    );
    assert_eq!(annotated, "anyuid");

    // The reviews: alice herself may not run the root pod; of the project's service accounts,
    // only the default one may, through anyuid.
    let self_review = ok(&home, &["adm", "policy", "scc-subject-review", "-f", &root]);
    assert_eq!(
        self_review,
        "RESOURCE   ALLOWED BY   \nPod/root   <none>       \n"
    );
    let review = wait_until("the service accounts in the review", WAIT, || {
        let out = ok(&home, &["adm", "policy", "scc-review", "-f", &root]);
        out.contains("default").then_some(out)
    });
    assert_eq!(
        review,
        "RESOURCE   SERVICE ACCOUNT   ALLOWED BY   \nPod/root   default           anyuid       \n"
    );

    // The SCC a pod was admitted under stays.
    let (success, _, stderr) = run(
        &home,
        &[
            "annotate",
            "pod",
            "root",
            "--overwrite",
            "openshift.io/scc=privileged",
        ],
    );
    assert!(!success);
    assert!(
        stderr.contains("openshift.io/scc annotation may not be changed"),
        "{stderr}"
    );
    // And the grant is taken back as it was given.
    let removed = ok(
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
            "secure",
        ],
    );
    assert_eq!(
        removed,
        "clusterrole.rbac.authorization.k8s.io/system:openshift:scc:anyuid removed: \"default\"\n"
    );
}
