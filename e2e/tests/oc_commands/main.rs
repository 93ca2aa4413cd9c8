//! `oc`'s inspection and editing commands against `oxshift start`, each compared with
//! kubectl 1.32 where kubectl has the command (describe, explain, output formats, patch,
//! replace, edit, create token, auth, config, watch), and checked by its effect where only
//! `oc` has it (policy, status, login prompts).
//! (Long on purpose: one comparison with kubectl per command family, sharing their helpers.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::oc::{cluster, cluster_with_alice, oc, oc_with, outcome, same_as_kubectl, tool};
use e2e::{Cluster, e2e_dir, oc_binary, python};

// describe, explain and the output formats.
mod describe;
mod describe_pods;
// oc set volume.
mod set_volume;

fn step_alike(c: &Cluster, home: &std::path::Path, kubeconfig: &str, step: &[&str]) {
    let run = |name: &str| {
        let mut all = vec!["--kubeconfig".to_string(), kubeconfig.to_string()];
        all.extend(step.iter().map(|a| a.replace("NAME", name)));
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        outcome(&tool(c, home, name, &args), name, "NAME")
    };
    assert_eq!(run("oc"), run("kubectl"), "{step:?}");
}

#[test]
fn patch_replace_and_edit_change_objects_as_kubectl() {
    let (c, home, kubeconfig) = cluster();
    for name in ["oc", "kubectl"] {
        c.kubectl_ok(&["create", "configmap", name, "--from-literal=k=v"]);
    }
    let steps: [&[&str]; 8] = [
        &["patch", "configmap", "NAME", "-p", r#"{"data":{"k":"v2"}}"#],
        &["patch", "configmap", "NAME", "-p", r#"{"data":{"k":"v2"}}"#],
        &[
            "patch",
            "configmap/NAME",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"z":"1"}}"#,
        ],
        &[
            "patch",
            "configmap",
            "NAME",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/z"}]"#,
        ],
        &[
            "patch",
            "configmap",
            "NAME",
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/z"}]"#,
        ],
        &["patch", "configmap", "NAME", "--type", "foo", "-p", "{}"],
        &["patch", "configmap", "NAME"],
        &[
            "patch",
            "configmap",
            "NAME",
            "-p",
            r#"{"data":{"k":"v3"}}"#,
            "-o",
            "name",
        ],
    ];
    for step in steps {
        step_alike(&c, &home, &kubeconfig, step);
    }
    // replace: the object as read, changed, put back; then --force.
    for name in ["oc", "kubectl"] {
        let current = c.kubectl_ok(&["get", "configmap", name, "-o", "yaml"]);
        c.file(&format!("{name}.yaml"), &current.replace("v3", "v4"));
    }
    let file = |name: &str| c.scratch(&format!("{name}.yaml")).display().to_string();
    for step in [
        vec!["replace", "-f", "FILE"],
        vec!["replace", "-f", "FILE"],
        vec!["replace", "--force", "-f", "FILE"],
    ] {
        let run = |name: &str| {
            let mut all = vec!["--kubeconfig".to_string(), kubeconfig.clone()];
            all.extend(step.iter().map(|a| a.replace("FILE", &file(name))));
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            let out = tool(&c, &home, name, &args);
            let clean = |s: &[u8]| {
                String::from_utf8_lossy(s)
                    .replace(&file(name), "FILE")
                    .replace(&format!("\"{name}\""), "\"NAME\"")
                    .replace(&format!("/{name} "), "/NAME ")
            };
            (clean(&out.stdout), clean(&out.stderr), out.status.code())
        };
        assert_eq!(run("oc"), run("kubectl"), "{step:?}");
    }
    assert_eq!(
        c.kubectl_ok(&["get", "configmap", "oc", "-o", "jsonpath={.data.k}"]),
        "v4"
    );

    // edit: the editor changes a value; then leaves the file alone; then renames the object.
    let editor = |name: &str, script: &str| {
        let path = c.scratch(&format!("editor-{name}.sh"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    };
    for (n, script) in [
        (1, r#"sed -i 's/v4/v5/' "$1""#),
        (2, r#"stat -c %a "$1" >> "$(dirname "$0")/modes""#),
        (
            3,
            r#"sed -i 's/^  name: \(oc\|kubectl\)$/  name: renamed/' "$1""#,
        ),
    ] {
        let script = editor(&n.to_string(), script);
        let ours = oc_with(
            &home,
            &["--kubeconfig", &kubeconfig, "edit", "configmap", "oc"],
            &[("OC_EDITOR", &script)],
        );
        let theirs = {
            let mut k = c.kubectl_command(&["edit", "configmap", "kubectl"]);
            k.env("KUBE_EDITOR", &script);
            k.output().unwrap()
        };
        // Kept copies are named differently by each tool.
        let strip = |o: &std::process::Output, name: &str| {
            let (out, err, code) = outcome(o, name, "NAME");
            let err: Vec<&str> = err
                .lines()
                .filter(|l| !l.starts_with("A copy of your changes"))
                .collect();
            (out, err.join("\n"), code)
        };
        assert_eq!(strip(&ours, "oc"), strip(&theirs, "kubectl"), "edit {n}");
    }
    assert_eq!(
        c.kubectl_ok(&["get", "configmap", "oc", "-o", "jsonpath={.data.k}"]),
        "v5"
    );
    // Several objects are edited in one List.
    for name in ["oc2", "kubectl2"] {
        c.kubectl_ok(&["create", "configmap", name, "--from-literal=k=v5"]);
    }
    let script = editor("list", r#"sed -i 's/k: v5/k: v6/' "$1""#);
    let ours = oc_with(
        &home,
        &[
            "--kubeconfig",
            &kubeconfig,
            "edit",
            "configmap",
            "oc",
            "oc2",
        ],
        &[("OC_EDITOR", &script)],
    );
    let theirs = {
        let mut k = c.kubectl_command(&["edit", "configmap", "kubectl", "kubectl2"]);
        k.env("KUBE_EDITOR", &script);
        k.output().unwrap()
    };
    assert_eq!(
        outcome(&ours, "oc", "NAME"),
        outcome(&theirs, "kubectl", "NAME")
    );
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmaps",
            "oc",
            "oc2",
            "-o",
            "jsonpath={.items[*].data.k}"
        ]),
        "v6 v6"
    );
    // The file being edited is the user's alone, as kubectl's is.
    assert_eq!(
        std::fs::read_to_string(c.scratch("modes")).unwrap(),
        "600\n600\n"
    );
}

#[test]
fn service_account_tokens_and_impersonation() {
    let (c, home, kubeconfig) = cluster();
    c.kubectl_ok(&["create", "serviceaccount", "robot"]);
    same_as_kubectl(&c, &home, &kubeconfig, &["create", "token", "missing"]);
    let out = oc(
        &home,
        &[
            "--kubeconfig",
            &kubeconfig,
            "create",
            "token",
            "robot",
            "--duration",
            "10m",
        ],
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(!token.ends_with('\n'), "no line break off a terminal");
    let who = oc(
        &home,
        &[
            "--kubeconfig",
            &kubeconfig,
            "--token",
            &token,
            "auth",
            "whoami",
        ],
    );
    assert!(
        String::from_utf8_lossy(&who.stdout).contains("system:serviceaccount:default:robot"),
        "{who:?}"
    );
    let impersonated = oc(
        &home,
        &[
            "--kubeconfig",
            &kubeconfig,
            "--as",
            "alice",
            "get",
            "configmaps",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&impersonated.stderr),
        "Error from server (Forbidden): configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"\n"
    );
}

#[test]
fn config_edits_write_what_kubectl_writes() {
    let (c, home, kubeconfig) = cluster();
    let original = std::fs::read_to_string(&kubeconfig).unwrap();
    let files = ["oc", "kubectl"].map(|name| c.file(&format!("{name}.kubeconfig"), &original));
    let ca = c.data_dir().join("pki/ca.crt").display().to_string();
    let steps: [&[&str]; 10] = [
        &[
            "config",
            "set-context",
            "foo",
            "--cluster",
            "c1",
            "--user",
            "u1",
            "--namespace",
            "ns1",
        ],
        &["config", "set-context", "foo", "--user", "u2"],
        &["config", "set-credentials", "bob", "--token", "secret"],
        &[
            "config",
            "set-cluster",
            "c1",
            "--server",
            "https://1.2.3.4:6443",
            "--insecure-skip-tls-verify",
        ],
        &[
            "config",
            "set-cluster",
            "c2",
            "--server",
            "https://x:1",
            "--certificate-authority",
            &ca,
            "--embed-certs",
        ],
        &["config", "set-context", "--current", "--namespace", "other"],
        &["config", "get-contexts"],
        &["config", "view"],
        &["config", "use-context", "foo"],
        &["config", "view", "--minify"],
    ];
    for step in steps {
        let run = |i: usize, name: &str| {
            let mut all = vec!["--kubeconfig", files[i].as_str()];
            all.extend_from_slice(step);
            outcome(&tool(&c, &home, name, &all), "", "")
        };
        assert_eq!(run(0, "oc"), run(1, "kubectl"), "{step:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&files[0]).unwrap(),
        std::fs::read_to_string(&files[1]).unwrap(),
        "both tools leave the same file"
    );
}

#[test]
fn policy_commands_bind_and_unbind_roles() {
    let (c, home, kubeconfig) = cluster();
    let run = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.as_str()];
        all.extend_from_slice(args);
        outcome(&oc(&home, &all), "", "")
    };
    let can = |user: &str, verb: &str, ns: &str| {
        c.kubectl(&["auth", "can-i", verb, "configmaps", "--as", user, "-n", ns])
            .status
            .success()
    };
    assert!(!can("alice", "create", "default"));
    assert_eq!(
        run(&["policy", "add-role-to-user", "edit", "alice"]),
        (
            "clusterrole.rbac.authorization.k8s.io/edit added: \"alice\"\n".into(),
            "Warning: User 'alice' not found\n".into(),
            Some(0)
        )
    );
    assert!(can("alice", "create", "default"));
    // Other subjects get a binding of their own; subjects already bound need none.
    run(&["policy", "add-role-to-user", "edit", "bob", "-z", "robot"]);
    run(&["policy", "add-role-to-user", "edit", "alice"]);
    assert_eq!(
        c.kubectl_ok(&["get", "rolebindings", "-o", r#"jsonpath={range .items[?(@.roleRef.name=="edit")]}{.metadata.name}={.subjects[*].name};{end}"#]),
        "edit=alice;edit-0=bob robot;"
    );
    assert_eq!(
        run(&["policy", "add-role-to-group", "view", "devs", "qa"]).0,
        "clusterrole.rbac.authorization.k8s.io/view added: [\"devs\" \"qa\"]\n"
    );
    let who = run(&["policy", "who-can", "create", "configmaps"]).0;
    assert!(
        who.starts_with("Namespace: default\nVerb:      create\nResource:  configmaps\n\nUsers:  alice\n        bob\n"),
        "{who}"
    );
    assert_eq!(
        run(&["policy", "remove-role-from-user", "edit", "alice"]).0,
        "clusterrole.rbac.authorization.k8s.io/edit removed: \"alice\"\n"
    );
    assert!(!can("alice", "create", "default"));
    assert!(
        c.kubectl(&["get", "rolebinding", "edit"]).status.code() == Some(1),
        "a binding left without subjects is deleted"
    );
    assert_eq!(
        run(&["policy", "remove-role-from-user", "edit", "alice"]),
        (
            String::new(),
            "error: unable to find target \"alice\"\n".into(),
            Some(1)
        )
    );
    // Cluster roles, cluster-wide.
    assert!(!can("carol", "list", "kube-system"));
    assert_eq!(
        run(&[
            "adm",
            "policy",
            "add-cluster-role-to-user",
            "cluster-reader",
            "carol"
        ])
        .0,
        "clusterrole.rbac.authorization.k8s.io/cluster-reader added: \"carol\"\n"
    );
    assert!(can("carol", "list", "kube-system"));
    assert_eq!(
        c.kubectl_ok(&["get", "clusterrolebindings", "-o", r#"jsonpath={range .items[?(@.roleRef.name=="cluster-reader")]}{.subjects[*].name};{end}"#]),
        "carol;system:cluster-readers;"
    );
    run(&[
        "adm",
        "policy",
        "remove-cluster-role-from-user",
        "cluster-reader",
        "carol",
    ]);
    assert!(!can("carol", "list", "kube-system"));
}

#[test]
fn status_tracing_and_watch() {
    let (c, home, kubeconfig) = cluster();
    let run = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.as_str()];
        all.extend_from_slice(args);
        outcome(&oc(&home, &all), "", "")
    };
    let server = c.server();
    c.kubectl_ok(&["create", "namespace", "empty"]);
    assert_eq!(
        run(&["status", "-n", "empty"]).0,
        format!(
            "In project empty on server {server}\n\nYou have no services, deployment configs, or build configs.\nRun 'oc new-app' to create an application.\n"
        )
    );
    // The API server's own service is in `default`, at the service network's first address.
    let port = server.rsplit_once(':').unwrap().1;
    let status = run(&["status"]).0;
    assert!(
        status.contains(&format!("\nsvc/kubernetes - 172.30.0.1:443->{port}\n")),
        "{status}"
    );
    c.kubectl_ok(&["create", "deployment", "web", "--image=nginx"]);
    c.kubectl_ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"]);
    // The Deployment's line, then its ReplicaSet's once the controller has made it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = run(&["status"]).0;
        if status.contains("    deployment #1 running for ") || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.contains("\nsvc/web - "), "{status}");
    assert!(
        status
            .contains(":80->8080\n  deployment/web deploys nginx \n    deployment #1 running for "),
        "{status}"
    );
    assert!(status.contains(" - 0/1 pods"), "{status}");
    // A routed service is headed by its URL; a build config feeding a deployment config's
    // image stream tag is shown under it.
    let app = c.file(
        "app.yaml",
        "apiVersion: build.openshift.io/v1\nkind: BuildConfig\nmetadata: {name: ruby-build}\nspec:\n  source: {git: {uri: \"https://example.com/app.git\"}}\n  strategy: {type: Source, sourceStrategy: {from: {kind: ImageStreamTag, name: \"ruby:2.7\"}}}\n  output: {to: {kind: ImageStreamTag, name: \"app:latest\"}}\n---\napiVersion: apps.openshift.io/v1\nkind: DeploymentConfig\nmetadata: {name: app}\nspec:\n  replicas: 2\n  selector: {app: app}\n  triggers: [{type: ImageChange, imageChangeParams: {automatic: true, containerNames: [app], from: {kind: ImageStreamTag, name: \"app:latest\"}}}]\n  template:\n    metadata: {labels: {app: app}}\n    spec: {containers: [{name: app, image: app}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {selector: {app: app}, ports: [{port: 8080}]}\n---\napiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {name: app}\nspec: {host: app.example.com, to: {kind: Service, name: app}}\n",
    );
    c.kubectl_ok(&["apply", "-f", &app]);
    let status = run(&["status"]).0;
    assert!(
        status.contains("\nhttp://app.example.com (svc/app)\n  dc/app deploys istag/app:latest <-\n    bc/ruby-build source builds https://example.com/app.git on istag/ruby:2.7\n    0/2 pods ready\n"),
        "{status}"
    );

    // --loglevel: the request lines (6), then headers and bodies (8); never the credentials.
    let (_, trace, _) = run(&["get", "configmaps", "--loglevel", "6"]);
    assert!(
        trace.contains(&format!(
            "GET {server}/api/v1/namespaces/default/configmaps 200 OK in "
        )),
        "{trace}"
    );
    let token = oc(
        &home,
        &["--kubeconfig", &kubeconfig, "create", "token", "default"],
    );
    let token = String::from_utf8(token.stdout).unwrap();
    let (_, trace, _) = run(&["--token", &token, "auth", "whoami", "-v", "9"]);
    assert!(trace.contains("Response Body: {"), "{trace}");
    assert!(!trace.contains(&token), "the token is never traced");

    // -w: kubectl's lines, columns kept as wide as the listing's.
    let watch = |name: &str| {
        let mut command = match name {
            "oc" => {
                let mut o = Command::new(oc_binary());
                o.env("HOME", &home).args(["--kubeconfig", &kubeconfig]);
                o
            }
            _ => c.kubectl_command(&[]),
        };
        command
            .args(["get", "configmaps", "-l", "w=1", "-w"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    c.kubectl_ok(&["create", "configmap", "listed-first"]);
    c.kubectl_ok(&["label", "configmap", "listed-first", "w=1"]);
    let mut children = [watch("oc"), watch("kubectl")];
    let readers: Vec<_> = children
        .iter_mut()
        .map(|child| {
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        })
        .collect();
    let next = |rx: &std::sync::mpsc::Receiver<String>| {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a watch line")
    };
    let mut lines = [Vec::new(), Vec::new()];
    for (i, rx) in readers.iter().enumerate() {
        lines[i].push(next(rx));
        lines[i].push(next(rx));
    }
    c.kubectl_ok(&["create", "configmap", "a-much-longer-name"]);
    c.kubectl_ok(&["label", "configmap", "a-much-longer-name", "w=1"]);
    for (i, rx) in readers.iter().enumerate() {
        lines[i].push(next(rx));
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let without_ages = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.rsplit_once(' ')
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(without_ages(&lines[0]), without_ages(&lines[1]));
    assert_eq!(lines[0][0], "NAME           DATA   AGE");
}

#[test]
fn login_prompts_without_echo_and_for_untrusted_servers() {
    let (_dir, c, home) = cluster_with_alice();
    let started = Instant::now();
    let out = Command::new(python())
        .arg(e2e_dir().join("python/oc_prompts.py"))
        .args([
            oc_binary().to_str().unwrap(),
            home.to_str().unwrap(),
            &c.server(),
        ])
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        transcript.contains("The server uses a certificate signed by an unknown authority.\r\nYou can bypass the certificate check, but any data you send to the server could be intercepted by others.\r\nUse insecure connections? (y/n): "),
        "{transcript}"
    );
    assert!(transcript.contains("Username: alice\r\n"), "{transcript}");
    assert!(transcript.contains("Password: "), "{transcript}");
    assert!(
        !transcript.contains("wonderland"),
        "the password is not echoed"
    );
    assert!(transcript.contains("Login successful."), "{transcript}");
    // The cluster is recorded as insecure, as the user chose.
    let config = std::fs::read_to_string(home.join(".kube/config")).unwrap();
    assert!(
        config.contains("insecure-skip-tls-verify: true"),
        "{config}"
    );
}

#[test]
fn global_flags_version_and_project_deletion() {
    let (c, home, kubeconfig) = cluster();
    let run = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.as_str()];
        all.extend_from_slice(args);
        outcome(&oc(&home, &all), "", "")
    };
    let (version, _, code) = run(&["version"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = version.lines().collect();
    assert!(lines[0].starts_with("Client Version: "), "{version}");
    assert!(lines[1].starts_with("Kubernetes Version: v1."), "{version}");

    // --context and --server choose what the kubeconfig does not say.
    c.kubectl_ok(&["create", "namespace", "other"]);
    c.kubectl_ok(&["create", "configmap", "elsewhere", "-n", "other"]);
    let current = c.kubectl_ok(&[
        "config",
        "view",
        "--minify",
        "-o",
        "jsonpath={.contexts[0].context.cluster} {.contexts[0].context.user}",
    ]);
    let (cluster, user) = current.split_once(' ').unwrap();
    run(&[
        "config",
        "set-context",
        "there",
        "--cluster",
        cluster,
        "--user",
        user,
        "--namespace",
        "other",
    ]);
    assert_eq!(
        run(&[
            "--context",
            "there",
            "get",
            "configmap",
            "elsewhere",
            "-o",
            "name"
        ])
        .0,
        "configmap/elsewhere\n"
    );
    assert_eq!(
        run(&[
            "--server",
            &c.server(),
            "-n",
            "other",
            "get",
            "configmap",
            "elsewhere",
            "-o",
            "name"
        ])
        .0,
        "configmap/elsewhere\n"
    );

    // --request-timeout bounds each request, and ends a watch quietly, as kubectl.
    let started = Instant::now();
    let (out, err, code) = run(&["get", "configmaps", "-w", "--request-timeout", "2s"]);
    assert_eq!((err.as_str(), code), ("", Some(0)), "{out}");
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(15));

    // oc delete project: the project goes (its namespace emptied by the controllers).
    run(&["new-project", "doomed"]);
    c.kubectl_ok(&["create", "configmap", "x", "-n", "doomed"]);
    assert_eq!(
        run(&["delete", "project", "doomed"]),
        (
            "project.project.openshift.io \"doomed\" deleted\n".into(),
            String::new(),
            Some(0)
        )
    );
    assert_eq!(
        run(&["get", "project", "doomed"]).1,
        "Error from server (NotFound): projects.project.openshift.io \"doomed\" not found\n"
    );
}
