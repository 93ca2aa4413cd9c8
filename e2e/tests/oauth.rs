//! `oc login`'s OAuth flow against the built-in OAuth server (driven over HTTP by a Python
//! client, as `oc` drives it), then kubectl with the tokens it obtained.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use e2e::{Backend, Cluster, e2e_dir, python};

/// Logs alice in as `oc login` does (`python/oauth_login.py`), expecting tokens that live
/// `lifetime` seconds; the tokens it obtained.
fn login(c: &Cluster, lifetime: &str) -> serde_json::Value {
    let out = Command::new(python())
        .arg(e2e_dir().join("python/oauth_login.py"))
        .args([
            &c.server(),
            &c.data_dir().join("pki/ca.crt").display().to_string(),
            "alice",
            "wonderland",
            lifetime,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n--- server log ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn oc_login_flow_then_kubectl_with_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    let hash = bcrypt::hash("wonderland", 4).unwrap();
    std::fs::write(&htpasswd, format!("alice:{hash}\n")).unwrap();
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--htpasswd", htpasswd.to_str().unwrap()],
    );

    let tokens = login(&c, "86400");

    for flow in ["code_flow", "implicit"] {
        let kubeconfig = c.token_kubeconfig(flow, tokens[flow].as_str().unwrap());
        let k = |args: &[&str]| {
            let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
            all.extend_from_slice(args);
            c.kubectl(&all)
        };
        let whoami = k(&["auth", "whoami"]);
        let text = String::from_utf8_lossy(&whoami.stdout);
        assert!(
            text.contains("Username                                   alice")
                && text.contains("[system:authenticated:oauth system:authenticated]"),
            "{text}{}",
            String::from_utf8_lossy(&whoami.stderr)
        );
        // `oc whoami` reads users/~.
        let me = k(&["get", "--raw", "/apis/user.openshift.io/v1/users/~"]);
        let me: serde_json::Value = serde_json::from_slice(&me.stdout).unwrap();
        assert_eq!(me["metadata"]["name"], "alice");
        assert_eq!(me["identities"][0], "htpasswd:alice");
        // OAuth users may self-provision projects.
        let can = k(&["auth", "can-i", "create", "projectrequests"]);
        assert_eq!(String::from_utf8_lossy(&can.stdout), "yes\n");
    }
    let identities = c.kubectl_ok(&["get", "identities", "-o", "name"]);
    assert_eq!(identities, "identity.user.openshift.io/htpasswd:alice\n");
    // Only hashes are stored: no stored token name contains a token handed out.
    let stored = c.kubectl_ok(&["get", "oauthaccesstokens", "-o", "name"]);
    assert_eq!(stored.lines().count(), 2, "{stored}");
    for token in [&tokens["code_flow"], &tokens["implicit"]] {
        let secret = token.as_str().unwrap().trim_start_matches("sha256~");
        assert!(!stored.contains(secret));
    }
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics.contains(r#"openshift_auth_basic_password_count_result{result="success"} 2"#)
            && metrics
                .contains(r#"openshift_auth_basic_password_count_result{result="failure"} 1"#),
        "{metrics}"
    );
    // Logging out deletes the token (its holder may, knowing its hash-derived name).
    let code_flow = c.token_kubeconfig("logout", tokens["code_flow"].as_str().unwrap());
    let as_holder = |args: &[&str]| {
        let mut all = vec!["--kubeconfig", code_flow.to_str().unwrap()];
        all.extend_from_slice(args);
        c.kubectl(&all)
    };
    let name = tokens["code_flow_name"].as_str().unwrap();
    let out = as_holder(&["delete", "oauthaccesstoken", name, "--wait=false"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&as_holder(&["auth", "whoami"]).stderr),
        "error: You must be logged in to the server (Unauthorized)\n"
    );
    // Tokens of a client with a 2-second lifetime expire.
    c.kubectl_ok(&[
        "patch",
        "oauthclient",
        "openshift-challenging-client",
        "--type=merge",
        "-p",
        r#"{"accessTokenMaxAgeSeconds":2}"#,
    ]);
    let short = login(&c, "2");
    let short_lived = c.token_kubeconfig("short", short["implicit"].as_str().unwrap());
    let whoami =
        |k: &std::path::Path| c.kubectl(&["--kubeconfig", k.to_str().unwrap(), "auth", "whoami"]);
    assert!(whoami(&short_lived).status.success());
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert!(!whoami(&short_lived).status.success());
    // A token whose user is deleted stops working.
    c.kubectl_ok(&["delete", "user", "alice"]);
    let kubeconfig = c.token_kubeconfig("gone", tokens["implicit"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while c
        .kubectl(&[
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "auth",
            "whoami",
        ])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "token of a deleted user still accepted"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn allow_all_passwords_is_a_development_switch() {
    let login = r#"
import base64, sys, urllib3
http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=sys.argv[2])
r = http.request("GET", sys.argv[1] + "/oauth/authorize?client_id=openshift-challenging-client&response_type=token",
    headers={"X-CSRF-Token": "1", "Authorization": "Basic " + base64.b64encode(b"bob:whatever").decode()}, redirect=False)
print(r.status)
"#;
    let run = |c: &Cluster| {
        let out = Command::new(python())
            .args([
                "-c",
                login,
                &c.server(),
                &c.data_dir().join("pki/ca.crt").display().to_string(),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // Off by default: no provider, no login.
    let c = Cluster::start(Backend::Embedded);
    assert_eq!(run(&c), "401");
    let c = Cluster::start_with(Backend::Embedded, &["--allow-all-passwords"]);
    assert_eq!(run(&c), "302");
    assert_eq!(
        c.kubectl_ok(&["get", "identities", "-o", "name"]),
        "identity.user.openshift.io/anypassword:bob\n"
    );
}
