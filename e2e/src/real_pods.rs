//! What tests of real pods need around the cluster: whether the machine can run them, a
//! registry on loopback, an image built from scratch with a static busybox, HTTP to a pod's
//! address, and the removal of what a failed test leaves in a node's podman storage and
//! network namespaces.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// Whether this machine can run real pods; why not otherwise.
pub fn real_pods_unavailable() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not root (rootful podman and network namespaces need it)".into());
    }
    for tool in [
        "/usr/bin/podman",
        "/usr/bin/buildah",
        "/usr/bin/docker-registry",
        "/bin/busybox",
    ] {
        if !Path::new(tool).exists() {
            return Some(format!("{tool} is missing (hack/setup.sh installs it)"));
        }
    }
    None
}

/// A `docker-registry` on a free loopback port, stopped when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Registry {
    pub fn start(dir: &Path) -> Registry {
        Self::start_with_tls(dir, None)
    }

    /// A registry serving HTTPS with `(certificate, key)` (PEM files) instead of plain HTTP.
    pub fn start_with_tls(dir: &Path, tls: Option<(&Path, &Path)>) -> Registry {
        Self::start_with(dir, tls, None)
    }

    /// A plain HTTP registry asking for Basic credentials from the bcrypt `htpasswd` file.
    pub fn start_with_htpasswd(dir: &Path, htpasswd: &Path) -> Registry {
        Self::start_with(dir, None, Some(htpasswd))
    }

    fn start_with(dir: &Path, tls: Option<(&Path, &Path)>, htpasswd: Option<&Path>) -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join(format!("registry-{port}.yml"));
        let tls = tls.map_or(String::new(), |(cert, key)| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            )
        });
        let auth = htpasswd.map_or(String::new(), |path| {
            format!(
                "auth:\n  htpasswd:\n    realm: e2e\n    path: {}\n",
                path.display()
            )
        });
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}{auth}",
                dir.join(format!("registry-{port}")).display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join(format!("registry-{port}.log"))).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry { child, port }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Builds `image` from scratch holding only a static busybox, and pushes it (plain HTTP).
pub fn build_and_push(dir: &Path, image: &str) {
    let root = dir.join("buildah");
    let (r, rr) = (root.join("root"), root.join("run"));
    let storage = [
        "--root",
        r.to_str().unwrap(),
        "--runroot",
        rr.to_str().unwrap(),
    ];
    let with = |args: &[&str]| {
        let mut all = storage.to_vec();
        all.extend_from_slice(args);
        run("buildah", &all)
    };
    let container = with(&["from", "scratch"]);
    with(&["copy", &container, "/bin/busybox", "/bin/busybox"]);
    with(&[
        "config",
        "--cmd",
        r#"["/bin/busybox", "httpd", "-f", "-p", "8080"]"#,
        &container,
    ]);
    with(&["commit", "--quiet", &container, "built:1"]);
    with(&["rm", &container]);
    with(&[
        "push",
        "--tls-verify=false",
        "built:1",
        &format!("docker://{image}"),
    ]);
    let _ = with(&["rmi", "--all", "--force"]);
}

/// Removes what the node's pods left if the test fails half-way: their containers (in the
/// node's own podman storage) and network namespaces.
#[derive(Clone)]
pub struct NodeLeftovers {
    pub node_dir: PathBuf,
}

impl NodeLeftovers {
    pub fn podman(&self, args: &[&str]) -> std::process::Output {
        let podman = self.node_dir.join("podman");
        Command::new("podman")
            .arg("--root")
            .arg(podman.join("root"))
            .arg("--runroot")
            .arg(podman.join("run"))
            // The agent's: with another, podman takes its state for a rebooted machine's and
            // forgets the running containers instead of stopping them.
            .arg("--tmpdir")
            .arg(podman.join("tmp"))
            .args([
                "--runtime",
                "runc",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args)
            .output()
            .unwrap()
    }
}

impl NodeLeftovers {
    /// Removes every container of the node and its pods' network namespaces (once the node
    /// agent stopped: see `Cluster::after_stop`).
    pub fn remove_all(&self) {
        // Containers the stopped agent was still stopping stay "Stopping" in podman, which then
        // neither stops nor removes them: their processes are killed first.
        let ps = self.podman(&["ps", "--all", "--format", "{{.Pid}}"]);
        for pid in String::from_utf8_lossy(&ps.stdout).split_whitespace() {
            if pid.parse::<u32>().is_ok_and(|p| p > 0) {
                let _ = Command::new("kill")
                    .args(["-KILL", pid])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.podman(&["unmount", "--all"]);
        for entry in std::fs::read_dir(self.node_dir.join("ipam"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let uid = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let short: String = uid
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(12)
                .collect();
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("oxshift-{short}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The body of `GET http://<ip>:8080/<path>`.
pub fn http_get(ip: &str, path: &str) -> String {
    let mut stream = TcpStream::connect((ip, 8080)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A cluster whose all-in-one node runs pods in podman, with a registry on loopback that the
/// cluster's image configuration lets it pull from over plain HTTP.
pub struct PodmanCluster {
    pub cluster: crate::Cluster,
    pub registry: Registry,
    /// What the node's pods leave behind (removed once the cluster stops).
    pub leftovers: NodeLeftovers,
    /// `127.0.0.1:<port>/web:<tag>` for each tag asked for, built and pushed.
    pub images: Vec<String>,
}

impl PodmanCluster {
    /// Starts the cluster with its node `node` (pod addresses from `cidr`), waits until the
    /// node is Ready, and pushes an image (`build_and_push`) for each of `tags`.
    pub fn start(node: &str, cidr: &str, tags: &[&str]) -> PodmanCluster {
        Self::start_with(node, cidr, tags, &[])
    }

    /// `start`, with `extra` arguments for `oxshift start` (an identity provider, the router...).
    pub fn start_with(node: &str, cidr: &str, tags: &[&str], extra: &[&str]) -> PodmanCluster {
        let mut args = vec![
            "--node-runtime",
            "podman",
            "--node-name",
            node,
            "--node-port",
            "0",
            "--node-pod-cidr",
            cidr,
        ];
        args.extend_from_slice(extra);
        let mut cluster = crate::Cluster::start_with(crate::Backend::Embedded, &args);
        let leftovers = NodeLeftovers {
            node_dir: cluster.data_dir().join("node"),
        };
        let removal = leftovers.clone();
        cluster.after_stop(move || removal.remove_all());
        let work = cluster.scratch("images");
        std::fs::create_dir_all(&work).unwrap();
        let registry = Registry::start(&work);
        let images: Vec<String> = tags
            .iter()
            .map(|tag| format!("127.0.0.1:{}/web:{tag}", registry.port))
            .collect();
        for image in &images {
            build_and_push(&work, image);
        }
        cluster.wait_for(
            &["node", node],
            r#"{.status.conditions[?(@.type=="Ready")].status}"#,
            "True",
            WAIT,
        );
        // The registry is plain HTTP: the cluster's image configuration says it may be.
        let config = format!(
            "apiVersion: config.openshift.io/v1\nkind: Image\nmetadata:\n  name: cluster\nspec:\n  registrySources:\n    insecureRegistries: [\"127.0.0.1:{}\"]\n",
            registry.port
        );
        cluster.kubectl_ok(&["apply", "-f", &cluster.file("image-config.yaml", &config)]);
        PodmanCluster {
            cluster,
            registry,
            leftovers,
            images,
        }
    }
}
