//! `oc login`'s OAuth flow against the built-in OAuth server (driven over HTTP by a Python
//! client, as `oc` drives it), then kubectl with the tokens it obtained.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e2e::{Backend, Cluster, e2e_dir, htpasswd, python};

/// Logs alice in as `oc login` does (`python/oauth_login.py`), expecting tokens that live
/// `lifetime` seconds; the tokens it obtained.
fn login(c: &Cluster, lifetime: &str) -> serde_json::Value {
    run_python(c, "oauth_login.py", &["alice", "wonderland", lifetime])
}

/// Runs an OAuth client script against the cluster; what it printed, as JSON.
fn run_python(c: &Cluster, script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(python())
        .arg(e2e_dir().join("python").join(script))
        .args([
            &c.server(),
            &c.data_dir().join("pki/ca.crt").display().to_string(),
        ])
        .args(args)
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
    let htpasswd = htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
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
    refused_soon(&c, &code_flow, "a deleted token");
    // Tokens of a client with a 5-second lifetime work until their end, as stored, and not
    // after it. A use answered before the end proves the first half; should none be (a
    // machine slow enough to take the whole lifetime), a new token is tried.
    c.kubectl_ok(&[
        "patch",
        "oauthclient",
        "openshift-challenging-client",
        "--type=merge",
        "-p",
        r#"{"accessTokenMaxAgeSeconds":5}"#,
    ]);
    let expiry_proved = (0..3).any(|attempt| {
        let short = login(&c, "5");
        let token = short["implicit"].as_str().unwrap();
        let kubeconfig = c.token_kubeconfig(&format!("short-{attempt}"), token);
        let first = use_token(&c, &kubeconfig);
        let end = deadline(&c, &object_name(token), "expiresIn");
        works_until(&c, &kubeconfig, first, end)
    });
    assert!(
        expiry_proved,
        "no use of a 5-second token was answered within its lifetime, in 3 tries"
    );
    // A token whose user is deleted stops working.
    c.kubectl_ok(&["delete", "user", "alice"]);
    let kubeconfig = c.token_kubeconfig("gone", tokens["implicit"].as_str().unwrap());
    refused_soon(&c, &kubeconfig, "the token of a deleted user");
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

/// Runs `kubectl` with a kubeconfig; its output.
fn kubectl_as(c: &Cluster, kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
    all.extend_from_slice(args);
    c.kubectl(&all)
}

#[test]
fn browser_login_grants_scopes_mappings_and_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    htpasswd(dir.path(), "local.htpasswd", "alice", "wonderland");
    htpasswd(dir.path(), "corp.htpasswd", "carol", "s3cret");
    let config = dir.path().join("oauth.yaml");
    std::fs::write(
        &config,
        "oauthConfig:\n  identityProviders:\n  - name: local\n    provider: {kind: HTPasswdPasswordIdentityProvider, file: local.htpasswd}\n  - name: corp\n    login: false\n    mappingMethod: lookup\n    provider: {kind: HTPasswdPasswordIdentityProvider, file: corp.htpasswd}\n",
    )
    .unwrap();
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--oauth-config", config.to_str().unwrap()],
    );
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "web.yaml",
            r#"{"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthClient",
                "metadata": {"name": "web"}, "secret": "s", "grantMethod": "prompt",
                "redirectURIs": ["https://app.example/cb"]}"#,
        ),
    ]);

    let tokens = run_python(&c, "oauth_browser.py", &["alice", "wonderland"]);

    // The browser's token is alice's; the grants were recorded.
    let browser = c.token_kubeconfig("browser", tokens["browser"].as_str().unwrap());
    let whoami = kubectl_as(
        &c,
        &browser,
        &["get", "--raw", "/apis/user.openshift.io/v1/users/~"],
    );
    let me: serde_json::Value = serde_json::from_slice(&whoami.stdout).unwrap();
    assert_eq!(me["identities"][0], "local:alice");
    let grants = c.kubectl_ok(&["get", "oauthclientauthorizations", "-o", "name"]);
    assert_eq!(
        grants,
        "oauthclientauthorization.oauth.openshift.io/alice:openshift-browser-client\n\
         oauthclientauthorization.oauth.openshift.io/alice:openshift-challenging-client\n\
         oauthclientauthorization.oauth.openshift.io/alice:web\n"
    );
    let metrics = c.kubectl_ok(&["get", "--raw", "/metrics"]);
    assert!(
        metrics.contains(r#"openshift_auth_form_password_count_result{result="failure"} 1"#)
            && metrics.contains(r#"openshift_auth_form_password_count_result{result="success"} 1"#),
        "{metrics}"
    );

    // The user:info token reads who it is and nothing else.
    let info = c.token_kubeconfig("info", tokens["info"].as_str().unwrap());
    assert!(
        kubectl_as(
            &c,
            &info,
            &["get", "--raw", "/apis/user.openshift.io/v1/users/~"]
        )
        .status
        .success()
    );
    let out = kubectl_as(&c, &info, &["get", "projects"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error from server (Forbidden): projects.project.openshift.io is forbidden: User \"alice\" cannot list resource \"projects\" in API group \"project.openshift.io\" at the cluster scope: scopes [user:info] prevent this action\n"
    );
    assert!(
        kubectl_as(&c, &browser, &["get", "projects"])
            .status
            .success()
    );
    // Access reviews answer for the token, scopes included.
    let can = kubectl_as(&c, &info, &["auth", "can-i", "list", "projects"]);
    assert_eq!(
        (
            String::from_utf8_lossy(&can.stdout).as_ref(),
            can.status.code()
        ),
        ("no - scopes [user:info] prevent this action\n", Some(1))
    );
    let rules = kubectl_as(&c, &info, &["auth", "can-i", "--list"]);
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(rules.contains("users.user.openshift.io "), "{rules}");
    assert!(!rules.contains("projects.project.openshift.io"), "{rules}");
    let full = kubectl_as(&c, &browser, &["auth", "can-i", "--list"]);
    assert!(
        String::from_utf8_lossy(&full.stdout).contains("projects.project.openshift.io"),
        "a full token's rules are all its user's"
    );

    // Alice sees her own tokens, and only hers, and revokes the scoped one.
    let mine = kubectl_as(
        &c,
        &browser,
        &["get", "useroauthaccesstokens", "-o", "name"],
    );
    let mine = String::from_utf8_lossy(&mine.stdout).to_string();
    assert_eq!(mine.lines().count(), 2, "{mine}");
    let all = c.kubectl_ok(&["get", "oauthaccesstokens", "-o", "name"]);
    assert_eq!(all.lines().count(), 2, "{all}");
    let info_name = object_name(tokens["info"].as_str().unwrap());
    let out = kubectl_as(
        &c,
        &browser,
        &["delete", "useroauthaccesstoken", &info_name, "--wait=false"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    refused_soon(&c, &info, "a revoked token");
    // Another user's tokens are not there for her.
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "bob.yaml",
            r#"{"apiVersion": "oauth.openshift.io/v1", "kind": "OAuthAccessToken",
                "metadata": {"name": "sha256~bobs-token-name-000000000000000000000000000"},
                "clientName": "openshift-challenging-client", "userName": "bob",
                "userUID": "x", "scopes": ["user:full"], "expiresIn": 0}"#,
        ),
    ]);
    let out = kubectl_as(
        &c,
        &browser,
        &[
            "get",
            "useroauthaccesstoken",
            "sha256~bobs-token-name-000000000000000000000000000",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(NotFound)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A `lookup` provider lets nobody in until an administrator maps the identity.
    let refused = Command::new(python())
        .arg(e2e_dir().join("python/oauth_login.py"))
        .args([
            &c.server(),
            &c.data_dir().join("pki/ca.crt").display().to_string(),
            "carol",
            "s3cret",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    for (file, object) in [
        (
            "carol.json",
            r#"{"apiVersion": "user.openshift.io/v1", "kind": "User", "metadata": {"name": "carol.smith"}}"#,
        ),
        (
            "identity.json",
            r#"{"apiVersion": "user.openshift.io/v1", "kind": "Identity", "metadata": {"name": "corp:carol"},
                "providerName": "corp", "providerUserName": "carol"}"#,
        ),
    ] {
        c.kubectl_ok(&["create", "-f", &c.file(file, object)]);
    }
    let mapping = c.kubectl_ok(&[
        "create",
        "-o",
        "json",
        "-f",
        &c.file(
            "mapping.yaml",
            r#"{"apiVersion": "user.openshift.io/v1", "kind": "UserIdentityMapping",
                "identity": {"name": "corp:carol"}, "user": {"name": "carol.smith"}}"#,
        ),
    ]);
    let mapping: serde_json::Value = serde_json::from_str(&mapping).unwrap();
    assert_eq!(mapping["metadata"]["name"], "corp:carol");
    assert_eq!(
        c.kubectl_ok(&["get", "user", "carol.smith", "-o", "jsonpath={.identities}"]),
        r#"["corp:carol"]"#
    );
    let carol = run_python(&c, "oauth_login.py", &["carol", "s3cret"]);
    let carol = c.token_kubeconfig("carol", carol["implicit"].as_str().unwrap());
    let me = kubectl_as(
        &c,
        &carol,
        &["get", "--raw", "/apis/user.openshift.io/v1/users/~"],
    );
    let me: serde_json::Value = serde_json::from_slice(&me.stdout).unwrap();
    assert_eq!(me["metadata"]["name"], "carol.smith");
    // Unmapping locks her out again.
    c.kubectl_ok(&["delete", "useridentitymapping", "corp:carol"]);
    assert_eq!(
        c.kubectl_ok(&["get", "identity", "corp:carol", "-o", "jsonpath={.user}"]),
        "{}"
    );
    assert!(
        !Command::new(python())
            .arg(e2e_dir().join("python/oauth_login.py"))
            .args([
                &c.server(),
                &c.data_dir().join("pki/ca.crt").display().to_string(),
                "carol",
                "s3cret",
            ])
            .output()
            .unwrap()
            .status
            .success()
    );
}

/// One use of a token (`kubectl auth whoami`): when it was sent and answered, and whether it
/// was accepted. A refusal must be a 401.
struct Use {
    sent: SystemTime,
    answered: SystemTime,
    accepted: bool,
}

fn use_token(c: &Cluster, kubeconfig: &std::path::Path) -> Use {
    let sent = SystemTime::now();
    let out = kubectl_as(c, kubeconfig, &["auth", "whoami"]);
    let answered = SystemTime::now();
    let accepted = out.status.success();
    if !accepted {
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: You must be logged in to the server (Unauthorized)\n"
        );
    }
    Use {
        sent,
        answered,
        accepted,
    }
}

/// Waits until a token is refused (with a 401): the server learns of deletions through its
/// watch caches, a moment after they are answered.
fn refused_soon(c: &Cluster, kubeconfig: &std::path::Path, what: &str) {
    let give_up = std::time::Instant::now() + Duration::from_secs(20);
    while use_token(c, kubeconfig).accepted {
        assert!(
            std::time::Instant::now() < give_up,
            "{what} still accepted after 20s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// When the stored token `name` stops working: its creation plus its `field` (seconds). The
/// server counts in the whole seconds of `creationTimestamp`, on this machine's clock: a
/// request it reads at or after this moment is refused, one before it accepted.
fn deadline(c: &Cluster, name: &str, field: &str) -> SystemTime {
    let out = c.kubectl_ok(&[
        "get",
        "oauthaccesstoken",
        name,
        "-o",
        &format!("jsonpath={{.metadata.creationTimestamp}} {{.{field}}}"),
    ]);
    let (created, seconds) = out.split_once(' ').unwrap();
    let created: jiff::Timestamp = created.parse().unwrap();
    let seconds: u64 = seconds.parse().unwrap();
    UNIX_EPOCH + Duration::from_secs(u64::try_from(created.as_second()).unwrap() + seconds)
}

/// `at` rounded down to a whole second, as the server reads the time.
fn whole_second(at: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(at.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

/// Uses a token that ends at `end` (after `first`, its first use) until a use sent at or
/// after `end`, which must be refused; every use answered before `end` must have been
/// accepted (one straddling it may go either way). Whether any use was answered before
/// `end`, i.e. whether working until then was shown.
fn works_until(c: &Cluster, kubeconfig: &std::path::Path, first: Use, end: SystemTime) -> bool {
    let mut shown = false;
    let mut next = first;
    loop {
        if next.answered < end {
            assert!(next.accepted, "refused before its end");
            shown = true;
        } else if next.sent >= end {
            assert!(!next.accepted, "accepted after its end");
            return shown;
        }
        std::thread::sleep(Duration::from_millis(500));
        next = use_token(c, kubeconfig);
    }
}

/// Uses a token with an inactivity timeout of `timeout` seconds about every second until a
/// use sent after the deadline it had at first is accepted: each use must have moved the
/// deadline. A use answered before the deadline the earlier uses set must be accepted. The
/// first deadline, or `None` if a refused use took so long that the deadline could have
/// passed in between (a slow machine: nothing shown, and the token may be gone).
fn keep_alive(
    c: &Cluster,
    kubeconfig: &std::path::Path,
    name: &str,
    timeout: u64,
) -> Option<SystemTime> {
    let first = deadline(c, name, "inactivityTimeoutSeconds");
    let mut alive_until = first;
    loop {
        let next = use_token(c, kubeconfig);
        if !next.accepted {
            assert!(
                next.answered >= alive_until,
                "refused while its uses kept it alive"
            );
            return None;
        }
        if next.sent >= first {
            return Some(first);
        }
        // The server read this use at or after `sent`, and moved the deadline to a full
        // timeout from then, unless it was within a tenth of that (at least a second) already.
        let slack = (timeout / 10).max(1) - 1;
        alive_until =
            alive_until.max(whole_second(next.sent) + Duration::from_secs(timeout - slack));
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The name of the OAuthAccessToken that stands for `token`.
fn object_name(token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let secret = token.trim_start_matches("sha256~");
    format!(
        "sha256~{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(secret.as_bytes()))
    )
}

#[test]
fn tokens_stop_working_when_left_unused() {
    let dir = tempfile::tempdir().unwrap();
    let file = htpasswd(dir.path(), "htpasswd", "dora", "x");
    let c = Cluster::start_with(Backend::Embedded, &["--htpasswd", file.to_str().unwrap()]);
    // A client whose tokens lapse after 6 idle seconds (shorter than upstream allows, to test
    // in seconds), and a token of it.
    c.kubectl_ok(&[
        "patch",
        "oauthclient",
        "openshift-challenging-client",
        "--type=merge",
        "-p",
        r#"{"accessTokenInactivityTimeoutSeconds":6}"#,
    ]);
    // Used about every second, it keeps working past the deadline it was issued with (on a
    // machine too slow to use it within the timeout, with a new token).
    let (name, kubeconfig, first) = (0..3)
        .find_map(|attempt| {
            let tokens = run_python(&c, "oauth_login.py", &["dora", "x"]);
            let name = tokens["code_flow_name"].as_str().unwrap().to_string();
            let stored = c.kubectl_ok(&[
                "get",
                "oauthaccesstoken",
                &name,
                "-o",
                "jsonpath={.inactivityTimeoutSeconds}",
            ]);
            assert_eq!(stored, "6");
            let token = tokens["code_flow"].as_str().unwrap();
            let kubeconfig = c.token_kubeconfig(&format!("idle-{attempt}"), token);
            let first = keep_alive(&c, &kubeconfig, &name, 6)?;
            Some((name, kubeconfig, first))
        })
        .expect("no token was used within its inactivity timeout, in 3 tries");
    // Its uses moved the stored deadline; left alone until then, it stops, for good.
    let end = deadline(&c, &name, "inactivityTimeoutSeconds");
    assert!(end > first, "the stored deadline did not move");
    if let Ok(wait) = end.duration_since(SystemTime::now()) {
        std::thread::sleep(wait);
    }
    for _ in 0..2 {
        let next = use_token(&c, &kubeconfig);
        assert!(next.sent >= end);
        assert!(
            !next.accepted,
            "accepted after being left unused to its deadline"
        );
    }
}
