//! RBAC with kubectl: the default policy, upstream's Forbidden messages, `auth whoami` and
//! `auth can-i` (protobuf reviews), and a role binding taking effect.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::{Backend, Cluster};

fn as_user(c: &Cluster, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
    all.extend_from_slice(args);
    c.kubectl(&all)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn rbac_with_kubectl() {
    let c = Cluster::start(Backend::Embedded);
    let whoami = c.kubectl_ok(&["auth", "whoami"]);
    assert!(
        whoami.contains("Username    system:admin")
            && whoami.contains("[system:masters system:authenticated]"),
        "{whoami}"
    );
    assert_eq!(c.kubectl_ok(&["auth", "can-i", "delete", "nodes"]), "yes\n");

    // A user nobody granted anything: only the defaults (discovery, self reviews).
    let bob = c.user_kubeconfig("bob", &["devs"]);
    let out = as_user(&c, &bob, &["auth", "whoami"]);
    assert!(stdout(&out).contains("Username    bob"), "{}", stderr(&out));
    assert!(stdout(&out).contains("[devs system:authenticated]"));
    let out = as_user(&c, &bob, &["get", "configmaps"]);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out),
        "Error from server (Forbidden): configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"\n"
    );
    let out = as_user(&c, &bob, &["get", "deployment", "web", "-n", "team"]);
    assert!(
        stderr(&out).contains("deployments.apps \"web\" is forbidden: User \"bob\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"team\""),
        "{}",
        stderr(&out)
    );
    let out = as_user(&c, &bob, &["get", "nodes"]);
    assert!(
        stderr(&out).contains("at the cluster scope"),
        "{}",
        stderr(&out)
    );
    let out = as_user(&c, &bob, &["auth", "can-i", "list", "configmaps"]);
    assert_eq!(
        (stdout(&out).as_str(), out.status.code()),
        ("no\n", Some(1))
    );

    // Granted view in default (to the group): reads work there, writes and other namespaces
    // stay forbidden.
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "devs-view",
        "--clusterrole=view",
        "--group=devs",
    ]);
    c.kubectl_ok(&["create", "configmap", "shared", "--from-literal=a=1"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = as_user(&c, &bob, &["get", "configmap", "shared", "-o", "name"]);
        if out.status.success() {
            assert_eq!(stdout(&out), "configmap/shared\n");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "binding not effective: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = as_user(
        &c,
        &bob,
        &[
            "auth",
            "can-i",
            "watch",
            "deploymentconfigs.apps.openshift.io",
        ],
    );
    assert_eq!(stdout(&out), "yes\n");
    let out = as_user(&c, &bob, &["auth", "can-i", "get", "secrets"]);
    assert_eq!(stdout(&out), "no\n");
    let out = as_user(&c, &bob, &["delete", "configmap", "shared"]);
    assert!(
        stderr(&out).contains("cannot delete resource \"configmaps\""),
        "{}",
        stderr(&out)
    );
    let out = as_user(&c, &bob, &["get", "configmaps", "-n", "kube-system"]);
    assert!(stderr(&out).contains("in the namespace \"kube-system\""));
    // Impersonation: the administrator acts as bob; bob may not act as anyone.
    let whoami = c.kubectl_ok(&["auth", "whoami", "--as=bob", "--as-group=devs"]);
    assert!(
        whoami.contains("Username    bob") && whoami.contains("[devs system:authenticated]"),
        "{whoami}"
    );
    assert_eq!(
        c.kubectl_ok(&[
            "auth",
            "can-i",
            "list",
            "configmaps",
            "--as=bob",
            "--as-group=devs"
        ]),
        "yes\n"
    );
    let err = c.kubectl_err(&["get", "secrets", "--as=bob"]);
    assert!(
        err.contains("User \"bob\" cannot list resource \"secrets\""),
        "{err}"
    );
    let out = as_user(&c, &bob, &["get", "configmaps", "--as=alice"]);
    assert_eq!(
        stderr(&out),
        "Error from server (Forbidden): users \"alice\" is forbidden: User \"bob\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope\n"
    );
    // An administrator asks about bob (SubjectAccessReview, LocalSubjectAccessReview).
    let sar = c.file(
        "sar.json",
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"bob","groups":["devs"],"resourceAttributes":{"namespace":"default","verb":"get","resource":"configmaps"}}}"#,
    );
    let allowed = c.kubectl_ok(&[
        "create",
        "-f",
        &sar,
        "-o",
        "jsonpath={.status.allowed}/{.status.reason}",
    ]);
    assert_eq!(
        allowed,
        r#"true/RBAC: allowed by RoleBinding "devs-view/default" of ClusterRole "view" to Group "devs""#
    );
    let lsar = c.file(
        "lsar.json",
        r#"{"apiVersion":"authorization.k8s.io/v1","kind":"LocalSubjectAccessReview","metadata":{"namespace":"kube-system"},"spec":{"user":"bob","groups":["devs"],"resourceAttributes":{"verb":"get","resource":"configmaps"}}}"#,
    );
    let allowed = c.kubectl_ok(&["create", "-f", &lsar, "-o", "jsonpath={.status.allowed}"]);
    assert_eq!(allowed, "false");
    // Who can (OpenShift's ResourceAccessReview, `oc policy who-can`).
    let rar = c.file(
        "rar.json",
        r#"{"apiVersion":"authorization.openshift.io/v1","kind":"ResourceAccessReview","namespace":"default","verb":"list","resource":"configmaps","resourceAPIGroup":""}"#,
    );
    let who = c.kubectl_ok(&["create", "-f", &rar, "-o", "jsonpath={.groups}"]);
    assert!(
        who.contains(r#""devs""#) && who.contains(r#""system:masters""#),
        "{who}"
    );
    let list = stdout(&as_user(&c, &bob, &["auth", "can-i", "--list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("configmaps ") && l.contains("[get list watch]")),
        "{list}"
    );

    // Escalation: an admin of one namespace grants what they hold, nothing more.
    c.kubectl_ok(&["create", "namespace", "team"]);
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "bob-admin",
        "--clusterrole=admin",
        "--user=bob",
        "-n",
        "team",
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stdout(&as_user(
        &c,
        &bob,
        &["auth", "can-i", "create", "roles", "-n", "team"],
    ))
    .starts_with("yes")
    {
        assert!(Instant::now() < deadline, "admin binding not effective");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = as_user(
        &c,
        &bob,
        &[
            "create",
            "role",
            "cm-reader",
            "--verb=get",
            "--resource=configmaps",
            "-n",
            "team",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let out = as_user(
        &c,
        &bob,
        &[
            "create",
            "role",
            "node-reader",
            "--verb=get",
            "--resource=nodes",
            "-n",
            "team",
        ],
    );
    assert_eq!(
        stderr(&out),
        "Error from server (Forbidden): roles.rbac.authorization.k8s.io \"node-reader\" is forbidden: user \"bob\" (groups=[\"devs\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}\n"
    );
    let out = as_user(
        &c,
        &bob,
        &[
            "create",
            "rolebinding",
            "mine",
            "--clusterrole=cluster-admin",
            "--user=bob",
            "-n",
            "team",
        ],
    );
    assert!(
        stderr(&out).contains("is attempting to grant RBAC permissions not currently held"),
        "{}",
        stderr(&out)
    );
    let ok = as_user(
        &c,
        &bob,
        &[
            "create",
            "rolebinding",
            "alice-view",
            "--clusterrole=view",
            "--user=alice",
            "-n",
            "team",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn service_account_tokens() {
    let c = Cluster::start(Backend::Embedded);
    c.kubectl_ok(&["create", "serviceaccount", "robot"]);
    let token = c.kubectl_ok(&["create", "token", "robot"]);
    let robot = c.token_kubeconfig("robot", token.trim());
    let out = as_user(&c, &robot, &["auth", "whoami"]);
    assert!(
        stdout(&out).contains("Username    system:serviceaccount:default:robot")
            && stdout(&out).contains(
                "[system:serviceaccounts system:serviceaccounts:default system:authenticated]"
            ),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = as_user(&c, &robot, &["get", "configmaps"]);
    assert!(
        stderr(&out).contains(
            "User \"system:serviceaccount:default:robot\" cannot list resource \"configmaps\""
        ),
        "{}",
        stderr(&out)
    );
    c.kubectl_ok(&[
        "create",
        "rolebinding",
        "robot-view",
        "--clusterrole=view",
        "--serviceaccount=default:robot",
    ]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !as_user(&c, &robot, &["get", "configmaps"]).status.success() {
        assert!(Instant::now() < deadline, "binding not effective");
        std::thread::sleep(Duration::from_millis(50));
    }
    // TokenReview: whose is this token?
    let review = c.file(
        "tokenreview.json",
        &format!(
            r#"{{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{{"token":"{}"}}}}"#,
            token.trim()
        ),
    );
    assert_eq!(
        c.kubectl_ok(&[
            "create",
            "-f",
            &review,
            "-o",
            "jsonpath={.status.authenticated}/{.status.user.username}"
        ]),
        "true/system:serviceaccount:default:robot"
    );
    // Too short a lifetime, a made-up token, and a token whose service account is gone.
    let err = c.kubectl_err(&["create", "token", "robot", "--duration=1m"]);
    assert!(
        err.contains("may not specify a duration less than 10 minutes"),
        "{err}"
    );
    let bogus = c.token_kubeconfig("bogus", "not-a-token");
    let out = as_user(&c, &bogus, &["get", "configmaps"]);
    assert_eq!(
        stderr(&out),
        "error: You must be logged in to the server (Unauthorized)\n"
    );
    c.kubectl_ok(&["delete", "serviceaccount", "robot"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while as_user(&c, &robot, &["auth", "whoami"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "token still accepted after its service account went"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A new service account of the same name does not revive the old token (another uid).
    // Once a token of the new account is accepted, the server demonstrably sees that
    // account: the old token is checked against it.
    c.kubectl_ok(&["create", "serviceaccount", "robot"]);
    let renewed = c.kubectl_ok(&["create", "token", "robot"]);
    let renewed = c.token_kubeconfig("renewed", renewed.trim());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !as_user(&c, &renewed, &["auth", "whoami"]).status.success() {
        assert!(
            Instant::now() < deadline,
            "the new service account's token not accepted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        stderr(&as_user(&c, &robot, &["auth", "whoami"])),
        "error: You must be logged in to the server (Unauthorized)\n"
    );
}

#[test]
fn projects_are_the_namespaces_a_user_may_see() {
    let c = Cluster::start(Backend::Embedded);
    let request = c.file(
        "pr.json",
        r#"{"apiVersion":"project.openshift.io/v1","kind":"ProjectRequest","metadata":{"name":"demo"},"displayName":"Demo project","description":"for testing"}"#,
    );
    // Self-provisioning is for users who logged in through OAuth.
    let err = c.kubectl_err(&["create", "-f", &request, "--as=alice"]);
    assert!(
        err.contains("cannot create resource \"projectrequests\""),
        "{err}"
    );
    let oauth_alice = ["--as=alice", "--as-group=system:authenticated:oauth"];
    let mut args = vec!["create", "-f", &request];
    args.extend(oauth_alice);
    assert_eq!(
        c.kubectl_ok(&args),
        "project.project.openshift.io/demo created\n"
    );
    let annotations = c.kubectl_ok(&[
        "get",
        "namespace",
        "demo",
        "-o",
        "jsonpath={.metadata.annotations}",
    ]);
    assert!(
        annotations.contains(r#""openshift.io/requester":"alice""#)
            && annotations.contains(r#""openshift.io/display-name":"Demo project""#),
        "{annotations}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let alice_projects = loop {
        let mut args = vec!["get", "projects"];
        args.extend(oauth_alice);
        let out = c.kubectl(&args);
        if stdout(&out).contains("demo") {
            break stdout(&out);
        }
        assert!(Instant::now() < deadline, "{}", stderr(&out));
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        alice_projects,
        "NAME   DISPLAY NAME   STATUS\ndemo   Demo project   Active\n"
    );
    let all = c.kubectl_ok(&["get", "projects", "-o", "name"]);
    assert!(
        all.contains("project.project.openshift.io/default") && all.contains("/demo"),
        "{all}"
    );
    let err = c.kubectl_err(&["get", "project", "demo", "--as=bob"]);
    assert!(
        err.contains("projects.project.openshift.io \"demo\" is forbidden: User \"bob\" cannot get resource \"projects\" in API group \"project.openshift.io\" in the namespace \"demo\""),
        "{err}"
    );
    let mut args = vec!["delete", "project", "demo"];
    args.extend(oauth_alice);
    c.kubectl_ok(&args);
    // The project terminates (its content goes first), then it is gone.
    c.kubectl_ok(&["wait", "--for=delete", "namespace/demo", "--timeout=20s"]);
    let err = c.kubectl_err(&["get", "namespace", "demo"]);
    assert!(err.contains("NotFound"), "{err}");
}

/// What `oc login` asks after the token exchange when the user has no project yet: whether
/// they may request one, as OpenShift's personal access reviews (no user, no groups), which
/// every user may make; a review about someone else still needs the right to ask.
#[test]
fn a_user_without_projects_may_ask_personal_access_reviews() {
    let c = Cluster::start(Backend::Embedded);
    let carol = c.user_kubeconfig("carol", &[]);
    let review_of = |verb: &str, user: &str| {
        c.file(
            "review.json",
            &format!(
                r#"{{"kind":"SubjectAccessReview","apiVersion":"authorization.openshift.io/v1","namespace":"default","verb":"{verb}","resourceAPIGroup":"","resourceAPIVersion":"","resource":"projectrequests","resourceName":"","path":"","isNonResourceURL":false,"user":"{user}","groups":null,"scopes":null}}"#
            ),
        )
    };
    let review = |user: &str| review_of("list", user);
    let path = "/apis/authorization.openshift.io/v1/subjectaccessreviews";
    let personal = as_user(&c, &carol, &["create", "--raw", path, "-f", &review("")]);
    assert!(personal.status.success(), "{}", stderr(&personal));
    let answer: serde_json::Value = serde_json::from_slice(&personal.stdout).unwrap();
    assert_eq!(answer["kind"], "SubjectAccessReviewResponse");
    assert_eq!(answer["allowed"], true, "{answer}");
    // Only OAuth users may self-provision projects: the answer is asked for the caller.
    let create = as_user(
        &c,
        &carol,
        &["create", "--raw", path, "-f", &review_of("create", "")],
    );
    let answer: serde_json::Value = serde_json::from_slice(&create.stdout).unwrap();
    assert_eq!(answer["allowed"], false, "{answer}");
    let local = as_user(
        &c,
        &carol,
        &[
            "create",
            "--raw",
            "/apis/authorization.openshift.io/v1/namespaces/default/localsubjectaccessreviews",
            "-f",
            &c.file(
                "local.json",
                &std::fs::read_to_string(review(""))
                    .unwrap()
                    .replace("\"SubjectAccessReview\"", "\"LocalSubjectAccessReview\""),
            ),
        ],
    );
    assert!(local.status.success(), "{}", stderr(&local));
    let about_bob = as_user(&c, &carol, &["create", "--raw", path, "-f", &review("bob")]);
    assert!(!about_bob.status.success());
    assert!(
        stderr(&about_bob).contains("forbidden"),
        "{}",
        stderr(&about_bob)
    );
}
