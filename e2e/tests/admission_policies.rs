//! ValidatingAdmissionPolicies: the cluster admin registers a policy limiting Deployments to
//! five replicas (its limit from a ConfigMap parameter) and binds it with Deny, then with
//! Warn; alice (a project admin after `oc login`) creates Deployments and sees kubectl print
//! the denial and the warning in upstream's words. A policy that does not compile is refused
//! at creation. A policy asking the `authorizer` lets alice create labelled ConfigMaps only
//! once the cluster admin grants her the permission it checks. A policy naming a field
//! Deployments lack shows the type check's warning in its status; a policy with a CIDR and a
//! quantity in its variables denies and admits alice's ConfigMaps by their addresses and
//! memory, and a binding with a bad selector operator is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use e2e::Cluster;
use e2e::oc::{alice_in_project, cluster_with_alice};
use serde_json::{Value, json};

fn apply(c: &Cluster, obj: &Value) {
    let file = c.file("policy.json", &obj.to_string());
    c.kubectl_ok(&["apply", "-f", &file]);
}

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "quay.io/example/web:1"}]}}}})
}

/// `kubectl create -f` of `obj` as alice: (success, stdout, stderr).
fn alice_creates(c: &Cluster, kubeconfig: &str, obj: &Value) -> (bool, String, String) {
    let file = c.file("deployment.json", &obj.to_string());
    let out = c
        .kubectl_command(&[])
        .args(["--kubeconfig", kubeconfig, "create", "-f", &file])
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Runs `probe` until it returns something, failing after 30 s (policies reach the server
/// through its watch, a moment after they are written).
fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn binding(actions: &[&str]) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "replicas-in-policies"},
        "spec": {"policyName": "replica-limit", "validationActions": actions,
            "paramRef": {"name": "replica-limit", "namespace": "policies",
                "parameterNotFoundAction": "Deny"},
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "policies"}}}}})
}

#[test]
fn a_policy_denies_then_warns_about_too_many_replicas() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "policies");
    c.kubectl_ok(&[
        "label",
        "namespace",
        "policies",
        "kubernetes.io/metadata.name=policies",
        "--overwrite",
    ]);
    c.kubectl_ok(&[
        "create",
        "configmap",
        "replica-limit",
        "-n",
        "policies",
        "--from-literal=max=5",
    ]);

    // An expression that does not compile is refused with upstream's field error.
    let broken = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "broken"},
        "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <="}]}});
    let file = c.file("broken.json", &broken.to_string());
    let out = c.kubectl(&["create", "-f", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("spec.validations[0].expression: Invalid value: \"object.spec.replicas <=\": compilation failed: "),
        "{stderr}"
    );

    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "replica-limit"},
            "spec": {"failurePolicy": "Fail",
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
                "variables": [{"name": "limit", "expression": "int(params.data.max)"}],
                "validations": [{"expression": "object.spec.replicas <= variables.limit",
                    "messageExpression": "'replicas must be no greater than ' + string(variables.limit)",
                    "reason": "Invalid"}]}}),
    );
    let policy: Value = serde_json::from_str(&c.kubectl_ok(&[
        "get",
        "validatingadmissionpolicy",
        "replica-limit",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        policy["spec"]["matchConstraints"]["matchPolicy"],
        "Equivalent"
    );
    assert_eq!(policy["status"]["observedGeneration"], 1);
    assert!(policy["status"]["typeChecking"].is_object(), "{policy}");

    // Deny: kubectl prints upstream's refusal; a deployment within the limit is created.
    apply(&c, &binding(&["Deny"]));
    let mut n = 0;
    let stderr = eventually("the policy to deny", || {
        n += 1;
        let (ok, _, stderr) = alice_creates(&c, &kubeconfig, &deployment(&format!("big-{n}"), 7));
        (!ok).then_some(stderr)
    });
    assert_eq!(
        stderr,
        format!(
            "The deployments \"big-{n}\" is invalid: : ValidatingAdmissionPolicy 'replica-limit' with binding 'replicas-in-policies' denied request: replicas must be no greater than 5\n"
        )
    );
    let (ok, stdout, stderr) = alice_creates(&c, &kubeconfig, &deployment("small", 3));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "deployment.apps/small created\n");

    // Warn: the deployment is created and kubectl prints the warning.
    apply(&c, &binding(&["Warn", "Audit"]));
    let mut n = 0;
    let stderr = eventually("the policy to warn", || {
        n += 1;
        let (ok, _, stderr) =
            alice_creates(&c, &kubeconfig, &deployment(&format!("warned-{n}"), 8));
        ok.then_some(stderr)
    });
    // The project's Pod Security warn level (restricted, as OpenShift's label
    // synchronisation sets it) adds its own warning for this pod template.
    let policy_warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("Warning: would violate PodSecurity"))
        .collect();
    assert_eq!(
        policy_warnings,
        [
            "Warning: Validation failed for ValidatingAdmissionPolicy 'replica-limit' with binding 'replicas-in-policies': replicas must be no greater than 5"
        ]
    );

    // Without its parameter the binding denies (parameterNotFoundAction Deny).
    c.kubectl_ok(&["delete", "configmap", "replica-limit", "-n", "policies"]);
    apply(&c, &binding(&["Deny"]));
    let mut n = 0;
    let stderr = eventually("the missing parameter to deny", || {
        n += 1;
        let (ok, _, stderr) = alice_creates(&c, &kubeconfig, &deployment(&format!("tiny-{n}"), 1));
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains(
            "denied request: no params found for policy binding with `Deny` parameterNotFoundAction"
        ),
        "{stderr}"
    );
}

/// `kubectl create configmap` as alice, labelled for the approval policy.
fn alice_creates_approved(c: &Cluster, kubeconfig: &str, name: &str) -> (bool, String) {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"approved": "true"}}, "data": {"k": "v"}});
    let (ok, _, stderr) = alice_creates(c, kubeconfig, &cm);
    (ok, stderr)
}

#[test]
fn a_policy_asks_the_authorizer_what_the_user_may_do() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "approvals");
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "approvers-only"},
            "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]}],
                    "objectSelector": {"matchLabels": {"approved": "true"}}},
                "variables": [{"name": "may", "expression":
                    "authorizer.group('example.com').resource('approvals').namespace(request.namespace).check('approve').allowed()"}],
                "validations": [{"expression": "variables.may",
                    "messageExpression": "'user ' + request.userInfo.username + ' may not approve in ' + request.namespace"},
                    {"expression": "authorizer.requestResource.check('create').allowed()"}]}}),
    );
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "approvers-only"},
            "spec": {"policyName": "approvers-only", "validationActions": ["Deny"]}}),
    );
    let mut n = 0;
    let stderr = eventually("the policy to deny alice", || {
        n += 1;
        let (ok, stderr) = alice_creates_approved(&c, &kubeconfig, &format!("first-{n}"));
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains("ValidatingAdmissionPolicy 'approvers-only' with binding 'approvers-only' denied request: user alice may not approve in approvals"),
        "{stderr}"
    );

    // The cluster admin grants alice `approve` on approvals in her project: RBAC now allows
    // what the policy checks, and the policy lets her create.
    let grant = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "approver", "namespace": "approvals"},
         "rules": [{"apiGroups": ["example.com"], "resources": ["approvals"], "verbs": ["approve"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "alice-approves", "namespace": "approvals"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "approver"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]}]});
    apply(&c, &grant);
    let mut n = 0;
    eventually("the grant to let alice create", || {
        n += 1;
        alice_creates_approved(&c, &kubeconfig, &format!("granted-{n}"))
            .0
            .then_some(())
    });
    // Removing the grant denies again.
    c.kubectl_ok(&["delete", "rolebinding", "alice-approves", "-n", "approvals"]);
    let mut n = 0;
    eventually("the revocation to deny alice", || {
        n += 1;
        (!alice_creates_approved(&c, &kubeconfig, &format!("revoked-{n}")).0).then_some(())
    });
}

/// `kubectl create` of a ConfigMap with `data` as alice: (success, stderr).
fn alice_creates_config(c: &Cluster, kubeconfig: &str, name: &str, data: Value) -> (bool, String) {
    let cm =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
    let (ok, _, stderr) = alice_creates(c, kubeconfig, &cm);
    (ok, stderr)
}

#[test]
fn policies_are_type_checked_and_use_the_network_and_quantity_libraries() {
    let (_dir, c, home) = cluster_with_alice();
    let kubeconfig = alice_in_project(&c, &home, "networks");

    // A field Deployments do not have is reported in the status, against the built-in schema;
    // the policy is still stored.
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "mistyped"},
            "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= 5"},
                    {"expression": "object.spec.replicsa <= 5",
                     "messageExpression": "object.spec.template.spec.containers[0].image > 1"}]}}),
    );
    let policy: Value = serde_json::from_str(&c.kubectl_ok(&[
        "get",
        "validatingadmissionpolicy",
        "mistyped",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(policy["status"]["observedGeneration"], 1);
    assert_eq!(
        policy["status"]["typeChecking"]["expressionWarnings"],
        json!([
            {"fieldRef": "spec.validations[1].expression",
             "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:12: undefined field 'replicsa'\n | object.spec.replicsa <= 5\n | ...........^"},
            {"fieldRef": "spec.validations[1].messageExpression",
             "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:47: found no matching overload for '_>_' applied to '(string, int)'\n | object.spec.template.spec.containers[0].image > 1\n | ..............................................^"}
        ]),
        "{policy}"
    );

    // `request` is an AdmissionRequest: a field it lacks does not compile, in cel-go's words.
    let misnamed = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "misnamed"},
        "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": "request.userInfo.usernam != 'mallory'"}]}});
    let file = c.file("misnamed.json", &misnamed.to_string());
    let out = c.kubectl(&["create", "-f", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("spec.validations[0].expression: Invalid value: \"request.userInfo.usernam != 'mallory'\": compilation failed: ERROR: <input>:1:17: undefined field 'usernam'"),
        "{stderr}"
    );

    // `params` is of `paramKind`'s kind: a ConfigMap has no `spec`.
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "mistyped-params"},
            "spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= int(params.data.max)"},
                    {"expression": "object.spec.replicas <= params.spec.max"}]}}),
    );
    let policy: Value = serde_json::from_str(&c.kubectl_ok(&[
        "get",
        "validatingadmissionpolicy",
        "mistyped-params",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        policy["status"]["typeChecking"]["expressionWarnings"],
        json!([{"fieldRef": "spec.validations[1].expression",
             "warning": "apps/v1, Kind=Deployment: ERROR: <input>:1:31: undefined field 'spec'\n | object.spec.replicas <= params.spec.max\n | ..............................^"}]),
        "{policy}"
    );

    // A binding's selector with an operator upstream does not know is refused.
    let bad = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "bad-selector"},
        "spec": {"policyName": "mistyped", "validationActions": ["Deny"],
            "matchResources": {"objectSelector": {"matchExpressions": [
                {"key": "app", "operator": "in", "values": ["web"]}]}}}});
    let file = c.file("bad-binding.json", &bad.to_string());
    let out = c.kubectl(&["create", "-f", &file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("spec.matchResources.objectSelector.matchExpressions[0].operator: Invalid value: \"in\": not a valid selector operator"),
        "{stderr}"
    );

    // Addresses must be in 10.0.0.0/8 and memory below 1Gi; the variables hold a CIDR and a
    // quantity, and one that cannot be computed fails what reads it (failurePolicy Fail).
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "network-limits"},
            "spec": {"failurePolicy": "Fail",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["configmaps"]}]},
                "matchConditions": [{"name": "limited",
                    "expression": "has(object.data) && ('address' in object.data || 'memory' in object.data)"}],
                "variables": [{"name": "network", "expression": "cidr('10.0.0.0/8')"},
                    {"name": "memory", "expression": "quantity(object.data.memory)"}],
                "validations": [
                    {"expression": "!('address' in object.data) || (isIP(object.data.address) && variables.network.containsIP(ip(object.data.address)) && !ip(object.data.address).isLoopback())",
                     "messageExpression": "'address ' + object.data.address + ' is not in ' + string(variables.network)"},
                    {"expression": "!('memory' in object.data) || variables.memory.isLessThan(quantity('1Gi'))",
                     "message": "memory must be below 1Gi"}]}}),
    );
    apply(
        &c,
        &json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "network-limits"},
            "spec": {"policyName": "network-limits", "validationActions": ["Deny"],
                "matchResources": {"namespaceSelector": {"matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["networks"]}]}}}}),
    );
    let denial =
        "ValidatingAdmissionPolicy 'network-limits' with binding 'network-limits' denied request: ";
    let mut n = 0;
    let stderr = eventually("the policy to deny an address outside the network", || {
        n += 1;
        let (ok, stderr) = alice_creates_config(
            &c,
            &kubeconfig,
            &format!("outside-{n}"),
            json!({"address": "192.168.1.1"}),
        );
        (!ok).then_some(stderr)
    });
    assert!(
        stderr.contains(&format!("{denial}address 192.168.1.1 is not in 10.0.0.0/8")),
        "{stderr}"
    );
    let (ok, stderr) = alice_creates_config(
        &c,
        &kubeconfig,
        "inside",
        json!({"address": "10.1.2.3", "memory": "512Mi"}),
    );
    assert!(ok, "{stderr}");
    let (ok, stderr) = alice_creates_config(&c, &kubeconfig, "big", json!({"memory": "2Gi"}));
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{denial}memory must be below 1Gi")),
        "{stderr}"
    );
    let (ok, stderr) =
        alice_creates_config(&c, &kubeconfig, "unreadable", json!({"memory": "lots"}));
    assert!(!ok);
    assert!(
        stderr.contains(&format!("{denial}expression '!('memory' in object.data) || variables.memory.isLessThan(quantity('1Gi'))' resulted in error: composited variable \"memory\" fails to evaluate: quantities must match the regular expression")),
        "{stderr}"
    );
    // Configuration without either key is not the policy's concern.
    let (ok, stderr) = alice_creates_config(&c, &kubeconfig, "other", json!({"colour": "blue"}));
    assert!(ok, "{stderr}");
}
