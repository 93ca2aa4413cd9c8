//! The `oc` binary against `oxshift start`: login (the OAuth flow, then a token), whoami,
//! projects, logout, and kubectl working on the kubeconfig `oc login` wrote.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use e2e::oc::{cluster, cluster_with_alice, oc, outcome, same_as_kubectl, tool};

fn ok(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert!(
        out.status.success(),
        "oc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn err(home: &Path, args: &[&str]) -> String {
    let out = oc(home, args);
    assert_eq!(out.status.code(), Some(1), "oc {args:?} should have failed");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn login_projects_whoami_and_logout() {
    let (_dir, c, home) = cluster_with_alice();
    let server = c.server();
    let ca = c.data_dir().join("pki/ca.crt");
    let ca = ca.to_str().unwrap();
    let host = server.trim_start_matches("https://").replace('.', "-");

    assert!(
        err(
            &home,
            &["login", &server, "-u", "alice", "-p", "wonderland"]
        )
        .starts_with("error: The server uses a certificate signed by unknown authority.")
    );
    assert_eq!(
        err(
            &home,
            &[
                "login",
                &server,
                "-u",
                "alice",
                "-p",
                "wrong",
                "--certificate-authority",
                ca
            ]
        ),
        "error: Login failed (401 Unauthorized)\nVerify you have provided correct credentials.\n"
    );
    assert_eq!(
        ok(
            &home,
            &[
                "login",
                &server,
                "-u",
                "alice",
                "-p",
                "wonderland",
                "--certificate-authority",
                ca
            ]
        ),
        "Login successful.\n\nYou don't have any projects. You can try to create a new project, by running\n\n    oc new-project <projectname>\n\n"
    );
    assert_eq!(ok(&home, &["whoami"]), "alice\n");
    assert_eq!(
        ok(&home, &["whoami", "--show-server"]),
        format!("{server}\n")
    );
    assert_eq!(
        ok(&home, &["whoami", "--show-context"]),
        format!("default/{host}/alice\n")
    );
    let token = ok(&home, &["whoami", "-t"]).trim().to_string();
    assert!(token.starts_with("sha256~"), "{token}");

    let created = ok(
        &home,
        &[
            "new-project",
            "demo",
            "--display-name",
            "Demo",
            "--description",
            "A demo",
        ],
    );
    assert!(
        created.starts_with(&format!(
            "Now using project \"demo\" on server \"{server}\".\n"
        )),
        "{created}"
    );
    ok(&home, &["new-project", "two"]);
    assert_eq!(
        ok(&home, &["projects"]),
        format!(
            "You have access to the following projects and can switch between them with 'oc project <projectname>':\n\n    demo\n  * two\n\nUsing project \"two\" on server \"{server}\".\n"
        )
    );
    assert_eq!(
        ok(&home, &["project", "demo"]),
        format!("Now using project \"demo\" on server \"{server}\".\n")
    );
    assert_eq!(ok(&home, &["project", "-q"]), "demo\n");
    assert!(err(&home, &["project", "nope"]).contains("You are not a member of project \"nope\"."));

    // kubectl works on the same kubeconfig: same user, same project.
    let kubeconfig = home.join(".kube/config");
    let k = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
        all.extend_from_slice(args);
        c.kubectl(&all)
    };
    let out = k(&["config", "current-context"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("demo/{host}/alice\n")
    );
    assert!(k(&["create", "configmap", "shared"]).status.success());
    assert_eq!(
        String::from_utf8_lossy(
            &c.kubectl(&["get", "configmap", "shared", "-n", "demo", "-o", "name"])
                .stdout
        ),
        "configmap/shared\n"
    );
    let display = k(&[
        "get",
        "project",
        "demo",
        "-o",
        r"jsonpath={.metadata.annotations.openshift\.io/display-name}",
    ]);
    assert_eq!(String::from_utf8_lossy(&display.stdout), "Demo");

    // A token login, then logout: the token is gone from the server and the kubeconfig.
    assert!(
        ok(&home, &["login", "--token", &token, &server]).starts_with(&format!(
            "Logged into \"{server}\" as \"alice\" using the token provided.\n\n"
        ))
    );
    assert_eq!(
        ok(&home, &["logout"]),
        format!("Logged \"alice\" out on \"{server}\"\n")
    );
    assert!(err(&home, &["whoami"]).starts_with("Error from server (Forbidden)"));
    let gone = c.kubectl(&[
        "--token",
        &token,
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "auth",
        "whoami",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr),
        "error: You must be logged in to the server (Unauthorized)\n"
    );
}

#[test]
fn get_prints_what_kubectl_prints() {
    let (c, home, kubeconfig) = cluster();
    let kubeconfig = kubeconfig.as_str();
    c.kubectl_ok(&["create", "namespace", "other"]);
    c.kubectl_ok(&["create", "configmap", "a", "--from-literal=x=1"]);
    c.kubectl_ok(&["create", "configmap", "b", "-n", "other"]);
    c.kubectl_ok(&["label", "configmap", "a", "team=blue"]);
    c.kubectl_ok(&["create", "deployment", "web", "--image=nginx"]);
    for args in [
        vec!["get", "cm"],
        vec!["get", "configmaps", "a"],
        vec!["get", "cm,deploy"],
        vec!["get", "all"],
        vec!["get", "all", "-o", "name"],
        vec!["get", "cm", "-o", "wide", "--show-labels"],
        vec!["get", "cm", "-A"],
        vec!["get", "ns", "-A"],
        vec!["get", "cm", "-l", "team=blue", "-o", "name"],
        vec!["get", "cm,deployments.apps", "-o", "name"],
        vec!["get", "configmap/a", "-o", "json"],
        vec!["get", "cm", "-o", "json"],
        vec!["get", "deploy/web", "cm/a", "-o", "yaml"],
        // kube-root-ca.crt's long description is folded at 80 columns, as kubectl does.
        vec!["get", "cm", "-o", "yaml"],
        vec!["get", "cm", "a", "-o", "json", "--show-managed-fields"],
        vec!["get", "secrets"],
        vec!["get", "cm", "missing"],
        vec!["get", "nosuchkind"],
        vec!["api-versions"],
        vec!["api-resources"],
        vec!["api-resources", "--namespaced=false", "-o", "name"],
    ] {
        same_as_kubectl(&c, &home, kubeconfig, &args);
    }
}

#[test]
fn create_and_delete_print_what_kubectl_prints() {
    let (c, home, kubeconfig) = cluster();
    let kubeconfig = kubeconfig.as_str();
    // The same manifests for each tool, with their own names.
    let manifest = |tool: &str| {
        c.file(
            &format!("{tool}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {tool}-a\n  labels: {{t: x}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {tool}-web}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {{containers: [{{name: c, image: nginx}}]}}\n"
            ),
        )
    };
    let (ours, theirs) = (manifest("oc"), manifest("kubectl"));
    let steps: [&[&str]; 6] = [
        &["create", "-f", "FILE"],
        &["create", "-f", "FILE"],
        &["delete", "configmap", "TOOL-a"],
        &["delete", "configmap", "TOOL-a"],
        &["delete", "-f", "FILE"],
        &["delete", "deployments", "--all"],
    ];
    for step in steps {
        let args = |tool: &str, file: &str| -> Vec<String> {
            let mut all = vec!["--kubeconfig".to_string(), kubeconfig.to_string()];
            all.extend(
                step.iter()
                    .map(|a| a.replace("FILE", file).replace("TOOL", tool)),
            );
            all
        };
        let oc_args = args("oc", &ours);
        let oc_out = oc(
            &home,
            &oc_args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let k_args = args("kubectl", &theirs);
        let k_out = c.kubectl(&k_args.iter().map(String::as_str).collect::<Vec<_>>());
        let theirs_as_ours = {
            let (out, err, code) = outcome(&k_out, "", "");
            let swap = |s: String| s.replace(&theirs, &ours).replace("kubectl-", "oc-");
            (swap(out), swap(err), code)
        };
        assert_eq!(outcome(&oc_out, "", ""), theirs_as_ours, "{step:?}");
    }
}

#[test]
fn label_annotate_and_config_print_what_kubectl_prints() {
    let (c, home, kubeconfig) = cluster();
    let kubeconfig = kubeconfig.as_str();
    c.kubectl_ok(&["create", "configmap", "oc"]);
    c.kubectl_ok(&["create", "configmap", "kubectl"]);
    let steps: [&[&str]; 10] = [
        &["label", "configmap", "NAME", "team=blue"],
        &["label", "configmap", "NAME", "team=red"],
        &["label", "configmap", "NAME", "team=red", "--overwrite"],
        &["label", "configmap/NAME", "team=red"],
        &["label", "configmap", "NAME", "team-"],
        &["annotate", "configmap", "NAME", "note=hi"],
        &["config", "current-context"],
        &["config", "get-contexts"],
        &["config", "get-contexts", "-o", "name"],
        &["config", "use-context", "missing"],
    ];
    for step in steps {
        let run = |name: &str| {
            let mut all = vec!["--kubeconfig".to_string(), kubeconfig.to_string()];
            all.extend(step.iter().map(|a| a.replace("NAME", name)));
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            outcome(&tool(&c, &home, name, &args), name, "NAME")
        };
        assert_eq!(run("oc"), run("kubectl"), "{step:?}");
    }
    assert_eq!(
        c.kubectl_ok(&[
            "get",
            "configmap",
            "oc",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ]),
        "hi"
    );
}

#[test]
fn apply_client_and_server_side_as_kubectl() {
    let (c, home, kubeconfig) = cluster();
    let kubeconfig = kubeconfig.as_str();
    // Each tool applies its own object (named apart from the field managers).
    let object = |tool: &str| format!("{tool}-object");
    let write = |tool: &str, data: &str| {
        c.file(
            &format!("{tool}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\ndata:\n{data}",
                object(tool)
            ),
        )
    };
    let steps: [(&str, &[&str]); 6] = [
        ("  a: \"1\"\n  b: \"2\"\n", &["apply"]),
        ("  a: \"1\"\n  b: \"2\"\n", &["apply"]),
        ("  a: \"1\"\n  c: \"3\"\n", &["apply"]),
        ("  a: \"1\"\n  c: \"3\"\n", &["apply", "--server-side"]),
        (
            "  a: \"9\"\n  c: \"3\"\n",
            &["apply", "--server-side", "--field-manager=other"],
        ),
        ("  a: \"9\"\n", &["apply", "--server-side"]),
    ];
    // What a tool printed and did to its object, with its name taken out.
    let run = |which: &str, data: &str, step: &[&str]| {
        let file = write(which, data);
        let mut all = vec!["--kubeconfig", kubeconfig];
        all.extend_from_slice(step);
        all.extend(["-f", file.as_str()]);
        let out = tool(&c, &home, which, &all);
        let name = object(which);
        let state = c.kubectl_ok(&[
            "get", "configmap", &name, "-o",
            r#"jsonpath={.data} {.metadata.annotations} {range .metadata.managedFields[*]}{.manager}/{.operation}={.fieldsV1};{end}"#,
        ]);
        let clean = |s: &str| s.replace(&file, "FILE").replace(&name, "NAME");
        (
            clean(&String::from_utf8_lossy(&out.stdout)),
            clean(&String::from_utf8_lossy(&out.stderr)),
            out.status.code(),
            clean(&state),
        )
    };
    for (data, step) in steps {
        assert_eq!(
            run("oc", data, step),
            run("kubectl", data, step),
            "{step:?} {data}"
        );
    }
}
