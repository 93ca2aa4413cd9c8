//! The end-to-end harness: starts the real `oxshift` binary on a loopback port the system
//! picks (the server binds port 0 and reports the port in `<data-dir>/listen-address`), with
//! a private data directory (on the embedded store or a real etcd), and runs real clients
//! against it. Everything is stopped when the `Cluster` is dropped.
//!
//! The binary is the one built next to the tests (`target/<profile>/oxshift`; `hack/test.sh`
//! builds it first), or `$OXSHIFT_BIN`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod git_http;
pub mod http_backend;
pub mod image_signing;
pub mod oc;
pub mod output;
pub mod real_pods;
pub mod source_builds;
pub mod tls_backend;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    #[cfg(feature = "etcd")]
    Etcd,
}

pub struct Cluster {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// The server's port: 0 until the first start reports the one it bound, then kept, so
    /// that a restart serves where clients already point.
    port: u16,
    backend: Backend,
    /// Extra `oxshift start` arguments.
    extra: Vec<String>,
    /// Run when the cluster is dropped, once the server stopped and before its directory goes
    /// (behind a mutex so that a cluster can be shared between threads).
    after_stop: std::sync::Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    #[cfg(feature = "etcd")]
    etcd: Option<storage::etcd_server::EtcdServer>,
}

fn oxshift_binary() -> PathBuf {
    binary("oxshift", "OXSHIFT_BIN")
}

/// The `oc` binary of this build (or `$OC_BIN`).
pub fn oc_binary() -> PathBuf {
    binary("oc", "OC_BIN")
}

/// A binary of the workspace: `$<env>`, else beside the test binary's directory.
fn binary(name: &str, env: &str) -> PathBuf {
    if let Ok(bin) = std::env::var(env) {
        return PathBuf::from(bin);
    }
    // target/<profile>/deps/<test binary> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --workspace --bins) or set {env}",
        bin.display()
    );
    bin
}

/// The Python with the `kubernetes` client: the virtualenv `hack/setup.sh` makes under the
/// target directory, or `$OXSHIFT_PYTHON`.
pub fn python() -> PathBuf {
    if let Ok(python) = std::env::var("OXSHIFT_PYTHON") {
        return PathBuf::from(python);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.ancestors().nth(3).expect("target dir");
    let venv = target.join("e2e-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run hack/setup.sh (it installs the Python kubernetes client)",
        venv.display()
    );
    venv
}

/// What `probe` finds once it finds something; panics naming `what` after `within`.
pub fn wait_until<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} ({within:?})"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes an htpasswd file `dir/name` with one bcrypt entry; its path.
pub fn htpasswd(dir: &Path, name: &str, user: &str, password: &str) -> PathBuf {
    let hash = bcrypt::hash(password, 4).expect("bcrypt");
    let path = dir.join(name);
    std::fs::write(&path, format!("{user}:{hash}\n")).expect("write the htpasswd file");
    path
}

/// The directory of the e2e crate's sources (scripts live there).
pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How long a server may take to start.
const STARTUP: Duration = Duration::from_secs(60);

/// The address a server reported in `path`, once it has written it.
fn reported_address(path: &Path) -> Option<SocketAddr> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{}: {text:?} is not an address: {e}", path.display())),
    )
}

impl Cluster {
    /// Starts `oxshift start` and waits until `/readyz` answers.
    pub fn start(backend: Backend) -> Cluster {
        Cluster::start_with(backend, &[])
    }

    /// Like `start`, with extra `oxshift start` arguments.
    pub fn start_with(backend: Backend, extra: &[&str]) -> Cluster {
        let mut cluster = Cluster {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            port: 0,
            backend,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            after_stop: std::sync::Mutex::new(Vec::new()),
            #[cfg(feature = "etcd")]
            etcd: None,
        };
        #[cfg(feature = "etcd")]
        if backend == Backend::Etcd {
            cluster.etcd = Some(storage::etcd_server::EtcdServer::start().expect("start etcd"));
        }
        cluster.restart();
        cluster
    }

    fn server_args(&self) -> Vec<String> {
        let mut args = vec![
            "start".to_string(),
            "--data-dir".to_string(),
            self.data_dir().display().to_string(),
            "--listen".to_string(),
            format!("127.0.0.1:{}", self.port),
        ];
        // The all-in-one's node runs only where a test asks for it (any `--node…` argument):
        // the other tests see a cluster without nodes, and no test binds the kubelet port.
        if !self.extra.iter().any(|a| a.starts_with("--node")) {
            args.push("--node=false".to_string());
        }
        // Likewise the integrated registry (any `--registry…` argument).
        if !self.extra.iter().any(|a| a.starts_with("--registry")) {
            args.push("--registry=false".to_string());
        }
        // Likewise the all-in-one's router, which binds the router ports.
        if !self.extra.iter().any(|a| a.starts_with("--router")) {
            args.push("--router=false".to_string());
        }
        args.extend(self.extra.iter().cloned());
        #[cfg(feature = "etcd")]
        if let Some(etcd) = &self.etcd {
            args.extend([
                "--storage".to_string(),
                "etcd".to_string(),
                "--etcd-servers".to_string(),
                etcd.endpoint(),
            ]);
        }
        args
    }

    /// Stops the server (SIGTERM) and starts it again on the same data and port.
    pub fn restart(&mut self) {
        self.stop();
        // The server writes it anew once bound: a stale one must not be read as its report.
        let reported = self.data_dir().join("listen-address");
        let _ = std::fs::remove_file(&reported);
        let log = std::fs::File::create(self.dir.path().join("oxshift.log")).unwrap();
        let child = Command::new(oxshift_binary())
            .args(self.server_args())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start oxshift");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        let mut bound = false;
        loop {
            if !bound && let Some(address) = reported_address(&reported) {
                assert!(
                    self.port == 0 || address.port() == self.port,
                    "restarted on {address}, not on port {}",
                    self.port
                );
                self.port = address.port();
                bound = true;
            }
            // The kubeconfig names the reported address once the report is there.
            if bound && self.kubectl(&["get", "--raw", "/readyz"]).status.success() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("oxshift exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "oxshift not ready within {STARTUP:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts `oxshift controller-manager` with the cluster's controller credentials and
    /// `extra` arguments, logging to `<name>.log`.
    pub fn controller_manager(&self, name: &str, extra: &[&str]) -> Process {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(oxshift_binary())
            .arg("controller-manager")
            .arg("--kubeconfig")
            .arg(self.data_dir().join("controller-manager.kubeconfig"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start the controller manager");
        Process { child, log }
    }

    /// Has `f` run when the cluster is dropped, after the server (and its node) stopped and
    /// before the cluster's directory is removed: to clean up what the node left outside it.
    pub fn after_stop(&mut self, f: impl FnOnce() + Send + 'static) {
        self.after_stop
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(f));
    }

    /// Grants `user` (in `groups`) the cluster role `role` in `namespace` (a RoleBinding
    /// `<user>-<role>`) and returns a kubeconfig with the user's credentials.
    pub fn user_with_role(
        &self,
        user: &str,
        groups: &[&str],
        role: &str,
        namespace: &str,
    ) -> PathBuf {
        self.kubectl_ok(&[
            "create",
            "rolebinding",
            &format!("{user}-{role}"),
            &format!("--clusterrole={role}"),
            &format!("--user={user}"),
            "-n",
            namespace,
        ]);
        self.user_kubeconfig(user, groups)
    }

    /// Starts `oxshift node` with a node's credentials (`system:node:<name>` in
    /// `system:nodes`) and `extra` arguments, logging to `<name>.log`.
    pub fn node_agent(&self, name: &str, extra: &[&str]) -> Process {
        let kubeconfig = self.user_kubeconfig(&format!("system:node:{name}"), &["system:nodes"]);
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(oxshift_binary())
            .arg("node")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("{name}.node")))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start the node agent");
        Process { child, log }
    }

    /// Starts `oxshift router` with the router's credentials (`<data-dir>/router.kubeconfig`)
    /// and `extra` arguments, logging to `<name>.log`.
    pub fn router(&self, name: &str, extra: &[&str]) -> Process {
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(oxshift_binary())
            .arg("router")
            .arg("--kubeconfig")
            .arg(self.data_dir().join("router.kubeconfig"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start the router");
        Process { child, log }
    }

    /// Waits until `kubectl get <args> -o jsonpath=<path>` prints `wanted`, failing the test
    /// (with what it last printed) after `within`.
    pub fn wait_for(&self, args: &[&str], path: &str, wanted: &str, within: Duration) -> String {
        let jsonpath = format!("jsonpath={path}");
        let mut all: Vec<&str> = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", jsonpath.as_str()]);
        let deadline = Instant::now() + within;
        loop {
            let out = self.kubectl(&all);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && text == wanted {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "kubectl {all:?} printed {text:?} (stderr {:?}), not {wanted:?}, for {within:?}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the server gracefully (SIGTERM), waiting for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's URL.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// A path in the cluster's scratch directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("admin.kubeconfig")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("oxshift.log")).unwrap_or_default()
    }

    /// A kubectl command on this cluster (admin kubeconfig, private discovery cache).
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Starts a kubectl watch (`args` include `--watch`).
    pub fn kubectl_watch(&self, args: &[&str]) -> Watch {
        use std::io::BufRead;
        let mut child = self
            .kubectl_command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kubectl");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Watch { child, lines }
    }

    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_command(args).output().expect("run kubectl")
    }

    /// Runs kubectl and returns its stdout, failing the test (with stderr) if it fails.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n--- server log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl as the user of `kubeconfig` in `namespace`, expecting success.
    pub fn kubectl_ok_in(&self, kubeconfig: &str, namespace: &str, args: &[&str]) -> String {
        let mut all = vec!["--kubeconfig", kubeconfig, "-n", namespace];
        all.extend_from_slice(args);
        self.kubectl_ok(&all)
    }

    /// Runs kubectl expecting failure; returns its stderr.
    pub fn kubectl_err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts another API server (`oxshift apiserver`) on this cluster's etcd and PKI, on a
    /// port of its own that it reports in a file of its own (the data directory, and its
    /// `listen-address`, are the first server's); it is stopped when the returned `Replica`
    /// is dropped.
    #[cfg(feature = "etcd")]
    pub fn start_replica(&self) -> Replica {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static REPLICAS: AtomicUsize = AtomicUsize::new(0);
        let n = REPLICAS.fetch_add(1, Ordering::Relaxed);
        let reported = self.dir.path().join(format!("replica-{n}.address"));
        let mut args = self.server_args();
        args[0] = "apiserver".to_string();
        if let Some(i) = args.iter().position(|a| a == "--listen") {
            args[i + 1] = "127.0.0.1:0".to_string();
        }
        args.extend([
            "--listen-address-file".to_string(),
            reported.display().to_string(),
        ]);
        let log_path = self.dir.path().join(format!("replica-{n}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = Command::new(oxshift_binary())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start oxshift apiserver");
        let replica_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + STARTUP;
        let port = loop {
            if let Some(address) = reported_address(&reported) {
                break address.port();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("replica exited with {status}:\n{}", replica_log());
            }
            assert!(
                Instant::now() < deadline,
                "replica not bound within {STARTUP:?}:\n{}",
                replica_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let replica = Replica { child, port };
        while !self
            .kubectl(&["--server", &replica.server(), "get", "--raw", "/readyz"])
            .status
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "replica not ready within {STARTUP:?}:\n{}",
                replica_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        replica
    }

    /// A kubeconfig for `user` in `groups`, with a client certificate issued by the cluster's
    /// CA.
    pub fn user_kubeconfig(&self, user: &str, groups: &[&str]) -> PathBuf {
        use base64::Engine;
        let pki_dir = self.data_dir().join("pki");
        let names: Vec<String> = std::fs::read_to_string(pki_dir.join("serving.names"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let pki = auth::pki::Pki::ensure(&pki_dir, &names).unwrap();
        let file = format!("user-{user}");
        let cert = pki
            .client(&auth::pki::ClientSpec {
                file: &file,
                user,
                groups,
            })
            .unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{}\n    certificate-authority-data: {}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: {user}\n    namespace: default\ncurrent-context: c\n",
            self.port,
            b64(&pki.ca.cert_pem),
            b64(&cert.cert_pem),
            b64(&cert.key_pem)
        );
        let path = self.dir.path().join(format!("{user}.kubeconfig"));
        std::fs::write(&path, config).unwrap();
        path
    }

    /// A kubeconfig that authenticates with a bearer token only.
    pub fn token_kubeconfig(&self, name: &str, token: &str) -> PathBuf {
        use base64::Engine;
        let ca = std::fs::read_to_string(self.data_dir().join("pki/ca.crt")).unwrap();
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{}\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: default\ncurrent-context: c\n",
            self.port,
            base64::engine::general_purpose::STANDARD.encode(ca)
        );
        let path = self.dir.path().join(format!("{name}.kubeconfig"));
        std::fs::write(&path, config).unwrap();
        path
    }

    /// Writes `contents` to a file in the cluster's scratch directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.display().to_string()
    }
}

/// A process of the cluster's other than the server (a controller manager): killed when
/// dropped.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Kills it at once (SIGKILL): a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Freezes it (SIGSTOP): alive but doing nothing, as a hung process.
    pub fn freeze(&self) {
        let _ = Command::new("kill")
            .arg("-STOP")
            .arg(self.child.id().to_string())
            .status();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `kubectl ... --watch` whose output lines arrive as they are printed; stopped
/// when dropped.
pub struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Watch {
    /// The next line, failing the test after 10 seconds.
    pub fn next(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a watch line within 10s")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An extra API server process of a cluster.
pub struct Replica {
    child: Child,
    port: u16,
}

impl Replica {
    /// The replica's URL, for kubectl's `--server`.
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let after_stop = self
            .after_stop
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for f in after_stop.drain(..) {
            f();
        }
    }
}

/// A loopback port free at the time of asking (for servers that cannot report the port they
/// bound: the router's listeners, docker-registry, test backends started later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// openssl with `args`; panics with its error output when it fails.
fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 it signed, made with openssl: (CA, certificate, key).
pub fn loopback_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let path = |name: &str| dir.join(name);
    let s = |p: &PathBuf| p.display().to_string();
    let (ca, ca_key) = (path("ca.crt"), path("ca.key"));
    let (cert, key, csr, ext) = (
        path("tls.crt"),
        path("tls.key"),
        path("tls.csr"),
        path("ext"),
    );
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\n").expect("write the extension file");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=loopback test CA",
        "-keyout",
        &s(&ca_key),
        "-out",
        &s(&ca),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &s(&key),
        "-out",
        &s(&csr),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-days",
        "1",
        "-in",
        &s(&csr),
        "-CA",
        &s(&ca),
        "-CAkey",
        &s(&ca_key),
        "-CAcreateserial",
        "-extfile",
        &s(&ext),
        "-out",
        &s(&cert),
    ]);
    (ca, cert, key)
}
