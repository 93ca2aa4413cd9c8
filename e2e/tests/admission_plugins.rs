//! OpenShift's smaller admission plugins as a project admin meets them: the project's node
//! selector and the namespace's `scheduler.alpha.kubernetes.io/node-selector` merged into
//! her pods (a conflicting pod refused by each), owner references that
//! block an owner's deletion refused until she may update the owner's finalizers, her
//! pods' priorities from the cluster's PriorityClasses, and the cluster's own namespaces
//! kept from deletion.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::oc::{alice_in_project, cluster_with_alice};

const PROJECT: &str = "placed";

#[test]
fn node_selectors_owner_references_and_priorities_bound_a_project_admin() {
    let (_dir, c, home) = cluster_with_alice();
    let alice = alice_in_project(&c, &home, PROJECT);
    let as_alice = |name: &str, body: &str| {
        let file = c.file(name, body);
        let out = c.kubectl(&["--kubeconfig", &alice, "-n", PROJECT, "create", "-f", &file]);
        (file, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    c.kubectl_ok(&[
        "annotate",
        "namespace",
        PROJECT,
        "openshift.io/node-selector=region=east",
    ]);
    let pod = |name: &str, selector: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}},
            "spec": {{"nodeSelector": {selector}, "containers": [{{"name": "c", "image": "example.invalid/app:1"}}]}}}}"#
        )
    };
    assert_eq!(
        as_alice("plain.json", &pod("plain", r#"{"disk": "ssd"}"#)).1,
        ""
    );
    let selector = c.kubectl_ok(&[
        "get",
        "pod",
        "plain",
        "-n",
        PROJECT,
        "-o",
        "jsonpath={.spec.nodeSelector}",
    ]);
    assert_eq!(selector, r#"{"disk":"ssd","region":"east"}"#);
    let (file, refused) = as_alice("west.json", &pod("west", r#"{"region": "west"}"#));
    assert_eq!(
        refused,
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": pods \"west\" is forbidden: pod node label selector conflicts with its project node label selector\n"
        )
    );

    // PodNodeSelector: the namespace's scheduler annotation applies too, after the project's.
    c.kubectl_ok(&[
        "annotate",
        "namespace",
        PROJECT,
        "scheduler.alpha.kubernetes.io/node-selector=tier=web",
    ]);
    assert_eq!(
        as_alice("both.json", &pod("both", r#"{"disk": "ssd"}"#)).1,
        ""
    );
    let selector = c.kubectl_ok(&[
        "get",
        "pod",
        "both",
        "-n",
        PROJECT,
        "-o",
        "jsonpath={.spec.nodeSelector}",
    ]);
    assert_eq!(selector, r#"{"disk":"ssd","region":"east","tier":"web"}"#);
    let (file, refused) = as_alice("db.json", &pod("db", r#"{"tier": "db"}"#));
    assert_eq!(
        refused,
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": pods \"db\" is forbidden: pod node label selector conflicts with its namespace node label selector\n"
        )
    );

    // Owner references: setting one is hers, blocking the owner's deletion is not.
    assert_eq!(
        as_alice(
            "owner.json",
            r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}}"#
        )
        .1,
        ""
    );
    let uid = c.kubectl_ok(&[
        "get",
        "configmap",
        "owner",
        "-n",
        PROJECT,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    let dependent = |name: &str, block: bool| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "{name}",
            "ownerReferences": [{{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                "uid": "{uid}", "blockOwnerDeletion": {block}}}]}}}}"#
        )
    };
    assert_eq!(as_alice("loose.json", &dependent("loose", false)).1, "");
    let (file, refused) = as_alice("held.json", &dependent("held", true));
    assert_eq!(
        refused,
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": configmaps \"held\" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>\n"
        )
    );
    let grant = format!(
        r#"{{"apiVersion": "v1", "kind": "List", "items": [
        {{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
          "metadata": {{"name": "finalizers", "namespace": "{PROJECT}"}},
          "rules": [{{"apiGroups": [""], "resources": ["configmaps/finalizers"], "verbs": ["update"]}}]}},
        {{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {{"name": "finalizers", "namespace": "{PROJECT}"}},
          "roleRef": {{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "finalizers"}},
          "subjects": [{{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}}]}}]}}"#
    );
    c.kubectl_ok(&["create", "-f", &c.file("grant.json", &grant)]);
    // The authorizer follows the new binding from its watch: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, err) = as_alice("held.json", &dependent("held", true));
        if err.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{err}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Priority: without classes of her own, a pod gets 0 (the system classes are not
    // defaults); a class the cluster admin made gives its value, and then, once marked the
    // default, also its name to pods that name none.
    let priority = |name: &str| {
        c.kubectl_ok(&[
            "get",
            "pod",
            name,
            "-n",
            PROJECT,
            "-o",
            "jsonpath={.spec.priorityClassName}/{.spec.priority}/{.spec.preemptionPolicy}",
        ])
    };
    assert_eq!(priority("plain"), "/0/PreemptLowerPriority");
    let critical = c.kubectl_ok(&[
        "get",
        "priorityclass",
        "system-node-critical",
        "openshift-user-critical",
        "-o",
        "jsonpath={.items[*].value}",
    ]);
    assert_eq!(critical, "2000001000 1000000000");
    let classed = |name: &str, class: &str| {
        format!(
            r#"{{"apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "{name}"}},
            "spec": {{"priorityClassName": "{class}", "containers": [{{"name": "c", "image": "example.invalid/app:1"}}]}}}}"#
        )
    };
    let (file, refused) = as_alice("gold.json", &classed("gold", "gold"));
    assert_eq!(
        refused,
        format!(
            "Error from server (Forbidden): error when creating \"{file}\": pods \"gold\" is forbidden: no PriorityClass with name gold was found\n"
        )
    );
    c.kubectl_ok(&[
        "create",
        "priorityclass",
        "gold",
        "--value=1000",
        "--preemption-policy=Never",
    ]);
    assert_eq!(as_alice("gold.json", &classed("gold", "gold")).1, "");
    assert_eq!(priority("gold"), "gold/1000/Never");
    c.kubectl_ok(&[
        "create",
        "priorityclass",
        "standard",
        "--value=10",
        "--global-default",
    ]);
    let second = c.kubectl(&[
        "create",
        "priorityclass",
        "other",
        "--value=20",
        "--global-default",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        "error: failed to create priorityclass: priorityclasses.scheduling.k8s.io \"other\" is forbidden: PriorityClass standard is already marked as default. Only one default can exist\n"
    );
    assert_eq!(as_alice("later.json", &pod("later", "{}")).1, "");
    assert_eq!(priority("later"), "standard/10/PreemptLowerPriority");

    // NamespaceLifecycle: the namespaces every cluster needs stay.
    let kept = c.kubectl(&["delete", "namespace", "default"]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stderr),
        "Error from server (Forbidden): namespaces \"default\" is forbidden: this namespace may not be deleted\n"
    );
    let kept = c.kubectl(&["delete", "project", "kube-system"]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stderr),
        "Error from server (Forbidden): namespaces \"kube-system\" is forbidden: this namespace may not be deleted\n"
    );
}
