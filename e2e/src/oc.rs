//! Running the `oc` binary beside kubectl: each with its own home directory for `oc`
//! (its `~/.kube/config`), and their results compared as printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{Backend, Cluster, oc_binary};

/// Runs `oc` with `home` as its home directory (so `~/.kube/config` is its own).
pub fn oc(home: &Path, args: &[&str]) -> Output {
    oc_with(home, args, &[])
}

/// `oc`'s outcome: whether it succeeded, its stdout and its stderr.
pub fn oc_run(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = oc(home, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `oc`'s stdout; the test fails (with everything printed) when the command did.
pub fn oc_ok(home: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = oc_run(home, args);
    assert!(success, "oc {args:?}: {stdout}{stderr}");
    stdout
}

/// `oc` with extra environment variables.
pub fn oc_with(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(oc_binary());
    command
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// A cluster with an empty home directory for `oc` and the admin kubeconfig's path.
pub fn cluster() -> (Cluster, PathBuf, String) {
    let c = Cluster::start(Backend::Embedded);
    let home = c.scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let kubeconfig = c.kubeconfig().display().to_string();
    (c, home, kubeconfig)
}

/// A cluster whose htpasswd provider knows alice (password `wonderland`), and an empty home
/// directory for `oc`; the temporary directory holds both.
pub fn cluster_with_alice() -> (tempfile::TempDir, Cluster, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = crate::htpasswd(dir.path(), "htpasswd", "alice", "wonderland");
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--htpasswd", htpasswd.to_str().unwrap()],
    );
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    (dir, c, home)
}

/// Runs `oc` (with `home`) or kubectl with the same arguments.
pub fn tool(c: &Cluster, home: &Path, name: &str, args: &[&str]) -> Output {
    match name {
        "oc" => oc(home, args),
        _ => c.kubectl(args),
    }
}

/// What a command printed and how it ended, with `from` replaced by `to` in its output.
pub fn outcome(out: &Output, from: &str, to: &str) -> (String, String, Option<i32>) {
    let text = |b: &[u8]| match from {
        "" => String::from_utf8_lossy(b).into_owned(),
        f => String::from_utf8_lossy(b).replace(f, to),
    };
    (text(&out.stdout), text(&out.stderr), out.status.code())
}

/// Runs `args` (after `--kubeconfig`) with oc and with kubectl and asserts they print the
/// same; runs again a few times on a mismatch, as ages tick between the two runs.
pub fn same_as_kubectl(c: &Cluster, home: &Path, kubeconfig: &str, args: &[&str]) {
    let mut all = vec!["--kubeconfig", kubeconfig];
    all.extend_from_slice(args);
    let run = |name: &str| outcome(&tool(c, home, name, &all), "", "");
    let mut pair = (run("oc"), run("kubectl"));
    for _ in 0..3 {
        if pair.0 == pair.1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        pair = (run("oc"), run("kubectl"));
    }
    assert_eq!(pair.0, pair.1, "oc {args:?}");
}

/// Logs alice in with `oc login` (in `home`) and has her create `project`: she is its admin.
/// Returns the kubeconfig `oc login` wrote, for kubectl.
pub fn alice_in_project(c: &Cluster, home: &Path, project: &str) -> String {
    let ca = c.data_dir().join("pki/ca.crt");
    let server = c.server();
    let login = [
        "login",
        &server,
        "-u",
        "alice",
        "-p",
        "wonderland",
        "--certificate-authority",
        ca.to_str().unwrap_or_default(),
    ];
    for args in [&login[..], &["new-project", project]] {
        let out = oc(home, args);
        assert!(
            out.status.success(),
            "oc {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    home.join(".kube/config").display().to_string()
}

/// `user` (password `pw`) logged in with `oc` in a home of its own under `dir`, and with
/// skopeo into `registry` with the OAuth token: the home, the skopeo auth file and the token.
pub fn registry_login(
    c: &Cluster,
    dir: &Path,
    user: &str,
    registry: &str,
) -> (PathBuf, PathBuf, String) {
    let home = dir.join(user);
    std::fs::create_dir_all(&home).unwrap();
    let ca = c.data_dir().join("pki/ca.crt");
    let server = c.server();
    let login = [
        "login",
        &server,
        "-u",
        user,
        "-p",
        "pw",
        "--certificate-authority",
    ];
    let mut args = login.to_vec();
    args.push(ca.to_str().unwrap());
    crate::output::ok(oc(&home, &args), "oc login");
    let token = crate::output::ok(oc(&home, &["whoami", "-t"]), "oc whoami -t");
    let authfile = home.join("auth.json");
    crate::output::ok(
        Command::new("skopeo")
            .args(["login", "--tls-verify=false", "--authfile"])
            .arg(&authfile)
            .args(["-u", user, "-p", &token, registry])
            .output()
            .unwrap(),
        "skopeo login",
    );
    (home, authfile, token)
}
