//! What tests of real builds need: a command's output checked, a condition waited for, Git
//! repositories made and committed to, a `git daemon` serving them on loopback, and a base
//! image (a static busybox) or a source-to-image builder image made of it pushed to the
//! integrated registry as a project's user.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::real_pods::PodmanCluster;
use crate::wait_until;

/// The command's standard output, trimmed; panics with both streams when it failed.
pub fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `git` in `dir`, as Ann Author; its output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Ann Author",
            "-c",
            "user.email=ann@example.com",
        ])
        .args(args)
        .output()
        .unwrap();
    ok(out, &format!("git {args:?}"))
}

/// Commits `files` to the repository at `dir` (made if missing); the commit.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    if !dir.join(".git").exists() {
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "--quiet", "--initial-branch=main"]);
    }
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    git(dir, &["add", "."]);
    git(dir, &["commit", "--quiet", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// `git daemon` serving the repositories under `base` at `git://127.0.0.1:<port>/<name>`,
/// stopped when dropped.
pub struct GitDaemon {
    child: Child,
    pub port: u16,
    pub base: PathBuf,
}

impl GitDaemon {
    pub fn start(base: &Path) -> GitDaemon {
        let port = crate::free_port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", base.display()),
            ])
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("git daemon to listen", Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        GitDaemon {
            child,
            port,
            base: base.to_path_buf(),
        }
    }

    /// The URL of the repository `name` under the base.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Buildah with its storage under `dir/base-buildah`: runs `args`, returns their output.
fn buildah(dir: &Path) -> impl Fn(&[&str]) -> String {
    let root = dir.join("base-buildah");
    let storage = [
        format!("--root={}", root.join("root").display()),
        format!("--runroot={}", root.join("run").display()),
    ];
    move |args: &[&str]| {
        let out = Command::new("buildah")
            .args(&storage)
            .args(args)
            .output()
            .unwrap();
        ok(out, &format!("buildah {args:?}"))
    }
}

/// Pushes the image of `container` (then removes every image) to `target` as `user`.
fn commit_and_push(
    buildah: &dyn Fn(&[&str]) -> String,
    container: &str,
    target: &str,
    user: &str,
    token: &str,
) {
    buildah(&["commit", "--quiet", container, "base:1"]);
    buildah(&[
        "push",
        "--tls-verify=false",
        "--creds",
        &format!("{user}:{token}"),
        "base:1",
        &format!("docker://{target}"),
    ]);
    let _ = buildah(&["rmi", "--all", "--force"]);
}

/// Pushes an image holding a static busybox to `target` as `user` with `token`.
pub fn push_base(dir: &Path, target: &str, user: &str, token: &str) {
    let buildah = buildah(dir);
    let container = buildah(&["from", "scratch"]);
    buildah(&["copy", &container, "/bin/busybox", "/bin/busybox"]);
    commit_and_push(&buildah, &container, target, user, token);
}

/// The scripts of the source-to-image builder `push_s2i_builder` makes: `assemble` copies
/// the sources to `/opt/app`, counts the builds in `/opt/app/builds` (one more than the
/// restored artifacts say) and writes who assembled them to `/opt/app/assembled-by`;
/// `save-artifacts` saves the count; `run` serves `/opt/app` on 8080.
const S2I_SCRIPTS: [(&str, &str); 3] = [
    (
        "assemble",
        "#!/bin/sh\nset -e\necho \"---> Installing application source ...\"\ncp -R /tmp/src/. /opt/app/\n\
         builds=0\nif [ -f /tmp/artifacts/builds ]; then\n  builds=$(cat /tmp/artifacts/builds)\n  \
         echo \"---> Restoring build artifacts\"\nfi\necho $((builds + 1)) > /opt/app/builds\n\
         id -u > /opt/app/assembled-by\n",
    ),
    ("run", "#!/bin/sh\nexec httpd -f -p 8080 -h /opt/app\n"),
    (
        "save-artifacts",
        "#!/bin/sh\ncd /opt/app && tar -cf - builds\n",
    ),
];

/// Pushes a source-to-image builder image to `target` as `user` with `token`: a static
/// busybox and its applets, `/etc/passwd`, a world-writable `/tmp`, the scripts above in
/// `/usr/libexec/s2i` (its `io.openshift.s2i.scripts-url`), `/tmp` as its destination, user
/// 1001 owning `/opt/app`, port 8080.
pub fn push_s2i_builder(dir: &Path, target: &str, user: &str, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    let rootfs = dir.join("s2i-rootfs");
    for d in ["bin", "etc", "tmp", "opt/app", "usr/libexec/s2i"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "cp", "cat", "id", "tar", "touch", "mkdir", "rm", "chown", "httpd",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\ndefault:x:1001:0:default:/opt/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
    std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    for (name, text) in S2I_SCRIPTS {
        let path = rootfs.join("usr/libexec/s2i").join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let buildah = buildah(dir);
    let container = buildah(&["from", "scratch"]);
    let root = rootfs.display().to_string();
    buildah(&["copy", &container, &root, "/"]);
    buildah(&[
        "copy",
        "--chown",
        "1001:0",
        &container,
        &format!("{root}/opt"),
        "/opt",
    ]);
    buildah(&[
        "config",
        "--env",
        "PATH=/bin",
        "--user",
        "1001",
        "--port",
        "8080",
        "--label",
        "io.openshift.s2i.scripts-url=image:///usr/libexec/s2i",
        "--label",
        "io.openshift.s2i.destination=/tmp",
        &container,
    ]);
    commit_and_push(&buildah, &container, target, user, token);
}

/// Waits until each of `accounts` of the current project has its integrated registry pull
/// secret (builds push with the builder's, pods pull with the default one's).
pub fn wait_for_registry_secrets(home: &Path, accounts: &[&str], within: Duration) {
    for account in accounts {
        wait_until(
            &format!("the {account} account's registry secret"),
            within,
            || {
                let out = crate::oc::oc(
                    home,
                    &[
                        "get",
                        "sa",
                        account,
                        "-o",
                        "jsonpath={.metadata.annotations.openshift\\.io/internal-registry-pull-secret-ref}",
                    ],
                );
                (out.status.success() && !out.stdout.is_empty()).then_some(())
            },
        );
    }
}

/// An all-in-one cluster for an application's whole loop: a node running real containers,
/// the integrated registry, a router on free loopback ports, and alice (password
/// `wonderland`) logged in with `oc` (in `home`) as the admin of her project.
pub struct AppCluster {
    pub worker: PodmanCluster,
    /// The router's plain HTTP address.
    pub router: String,
    /// The integrated registry's host (`status.internalRegistryHostname`).
    pub registry: String,
    /// alice's home directory for `oc`.
    pub home: PathBuf,
}

impl AppCluster {
    /// Starts it in `dir` with node `node` on pod network `cidr`; alice makes `project`.
    pub fn start(dir: &Path, node: &str, cidr: &str, project: &str) -> AppCluster {
        let passwords = crate::htpasswd(dir, "htpasswd", "alice", "wonderland");
        let router = format!("127.0.0.1:{}", crate::free_port());
        let https = format!("127.0.0.1:{}", crate::free_port());
        let worker = PodmanCluster::start_with(
            node,
            cidr,
            &[],
            &[
                "--registry=true",
                "--htpasswd",
                passwords.to_str().unwrap_or_default(),
                "--router=true",
                "--router-http",
                &router,
                "--router-https",
                &https,
            ],
        );
        let registry = worker.cluster.kubectl_ok(&[
            "get",
            "images.config.openshift.io",
            "cluster",
            "-o",
            "jsonpath={.status.internalRegistryHostname}",
        ]);
        let home = dir.join("alice");
        std::fs::create_dir_all(&home).expect("alice's home directory");
        crate::oc::alice_in_project(&worker.cluster, &home, project);
        AppCluster {
            worker,
            router,
            registry,
            home,
        }
    }

    /// The page the router serves for `host`, once it is `wanted` (within `within`).
    pub fn page(&self, host: &str, wanted: &str, within: Duration) -> String {
        self.page_at(host, "", wanted, within)
    }

    /// The page at `/<path>` the router serves for `host`, once it is `wanted`.
    pub fn page_at(&self, host: &str, path: &str, wanted: &str, within: Duration) -> String {
        wait_until(
            &format!("{wanted:?} at /{path} through the router"),
            within,
            || {
                let out = Command::new("curl")
                    .args(["-s", "-m", "10", "-H", &format!("Host: {host}")])
                    .arg(format!("http://{}/{path}", self.router))
                    .output()
                    .ok()?;
                let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
                (body == wanted).then_some(body)
            },
        )
    }
}
