//! A pod's logs and streams through the real API server to a node's API: the node's HTTPS API
//! runs in this process, in front of local processes standing in for the containers, and is
//! registered with a Node whose daemon endpoint names its port. Clients are kubectl and oc, as
//! an ordinary user who administers the project.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Write};
use std::process::Stdio;
use std::sync::Arc;

use e2e::{Backend, Cluster};
use node::container_io::ContainerRef;
use node::kubelet_api::{self, KubeletApiState};
use node::test_io::{LocalProcesses, certs};

const NAMESPACE: &str = "demo";

struct Streams {
    c: Cluster,
    io: Arc<LocalProcesses>,
    /// The project administrator's kubeconfig.
    alice: String,
    _runtime: tokio::runtime::Runtime,
}

fn app() -> ContainerRef {
    ContainerRef {
        namespace: NAMESPACE.into(),
        pod: "web".into(),
        container: "app".into(),
    }
}

/// Starts the node's API in this process for the cluster, registered as Node `node-a`.
fn start_node(c: &Cluster, runtime: &tokio::runtime::Runtime) -> Arc<LocalProcesses> {
    let pki = c.data_dir().join("pki");
    let ca = certs::Issued {
        cert_pem: std::fs::read_to_string(pki.join("ca.crt")).unwrap(),
        key_pem: std::fs::read_to_string(pki.join("ca.key")).unwrap(),
    };
    let serving = certs::serving(&ca, &["127.0.0.1", "node-a"]).unwrap();
    let tls =
        kubelet_api::tls::server_config(&ca.cert_pem, &serving.cert_pem, &serving.key_pem).unwrap();
    let io = Arc::new(LocalProcesses::new());
    let kubeconfig = c.kubeconfig();
    let port = runtime.block_on(async {
        let config = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(config, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = KubeletApiState::new(io.clone(), "node-a".into(), client);
        tokio::spawn(kubelet_api::serve(listener, tls, state));
        port
    });
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(
            "node.json",
            r#"{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}"#,
        ),
    ]);
    let status = format!(
        r#"{{"status": {{"addresses": [{{"type": "InternalIP", "address": "127.0.0.1"}}, {{"type": "Hostname", "address": "node-a"}}],
            "daemonEndpoints": {{"kubeletEndpoint": {{"Port": {port}}}}}}}}}"#
    );
    c.kubectl_ok(&[
        "patch",
        "node",
        "node-a",
        "--subresource=status",
        "--type=merge",
        "-p",
        &status,
    ]);
    io
}

fn setup() -> Streams {
    let c = Cluster::start(Backend::Embedded);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let io = start_node(&c, &runtime);
    c.kubectl_ok(&["create", "namespace", NAMESPACE]);
    let alice = c
        .user_with_role("alice", &[], "admin", NAMESPACE)
        .display()
        .to_string();
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "busybox"}]}}"#;
    c.kubectl_ok(&[
        "--kubeconfig",
        &alice,
        "create",
        "-f",
        &c.file("pod.json", pod),
    ]);
    io.add_container(&app());
    Streams {
        c,
        io,
        alice,
        _runtime: runtime,
    }
}

impl Streams {
    fn kubectl(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self
            .c
            .kubectl_command(&["--kubeconfig", &self.alice, "-n", NAMESPACE]);
        cmd.args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> (String, String, Option<i32>) {
        let out = self.kubectl(args).output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    }

    /// Runs the project's `oc` as the project administrator, with `input` on stdin.
    fn oc(&self, args: &[&str], input: &[u8]) -> (String, String, Option<i32>) {
        let mut all = vec!["--kubeconfig", &self.alice, "-n", NAMESPACE];
        all.extend_from_slice(args);
        let mut child = std::process::Command::new(e2e::oc_binary())
            .env("HOME", self.c.scratch("home"))
            .args(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code(),
        )
    }
}

fn ok(out: (String, String, Option<i32>)) -> String {
    assert_eq!(out.2, Some(0), "failed: {}", out.1);
    out.0
}

#[test]
fn logs_through_the_api_server() {
    let s = setup();
    for line in ["one", "two", "three"] {
        s.io.append_log(&app(), line);
    }
    assert_eq!(ok(s.run(&["logs", "web"])), "one\ntwo\nthree\n");
    assert_eq!(ok(s.run(&["logs", "pod/web", "--tail=1"])), "three\n");
    assert_eq!(
        ok(s.run(&["logs", "web", "-c", "app", "--limit-bytes=6"])),
        "one\ntw"
    );
    let timestamped = ok(s.run(&["logs", "web", "--timestamps", "--tail=1"]));
    assert!(timestamped.ends_with("Z three\n"), "{timestamped}");
    assert_eq!(
        s.run(&["logs", "web", "-c", "nope"]).1,
        "error: container nope is not valid for pod web\n"
    );
    assert_eq!(
        s.run(&["logs", "missing"]).1,
        "error: error from server (NotFound): pods \"missing\" not found in namespace \"demo\"\n"
    );

    // Following: lines come as they are written, and the stream ends with the container.
    let mut follow = s
        .kubectl(&["logs", "-f", "web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    for expected in ["one", "two", "three"] {
        assert_eq!(lines.next().unwrap().unwrap(), expected);
    }
    s.io.append_log(&app(), "four");
    assert_eq!(lines.next().unwrap().unwrap(), "four");
    s.io.end_log(&app());
    assert!(lines.next().is_none());
    assert!(follow.wait().unwrap().success());
}

#[test]
fn exec_through_the_api_server() {
    let s = setup();
    assert_eq!(
        s.run(&["exec", "web", "--", "sh", "-c", "echo out; echo err >&2"]),
        ("out\n".into(), "err\n".into(), Some(0))
    );
    assert_eq!(
        s.run(&["exec", "web", "--", "sh", "-c", "echo partial; exit 3"]),
        (
            "partial\n".into(),
            "command terminated with exit code 3\n".into(),
            Some(3)
        )
    );
    // A command that cannot start: the runtime's error, in-band.
    assert_eq!(
        s.run(&["exec", "web", "--", "/no/such/command"]),
        (
            "".into(),
            "error: Internal error occurred: error executing command in container: No such file or directory (os error 2)\n".into(),
            Some(1)
        )
    );
    // Standard input, ended by the client's close signal.
    let mut cat = s
        .kubectl(&["exec", "-i", "web", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    cat.stdin
        .take()
        .unwrap()
        .write_all(b"hello\nworld\n")
        .unwrap();
    let out = cat.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\nworld\n");
    // A user who may read pods but not exec into them.
    let bob =
        s.c.user_with_role("bob", &[], "view", NAMESPACE)
            .display()
            .to_string();
    let out = s.c.kubectl(&[
        "--kubeconfig",
        &bob,
        "-n",
        NAMESPACE,
        "exec",
        "web",
        "--",
        "true",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error from server (Forbidden): pods \"web\" is forbidden: User \"bob\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"demo\"\n"
    );
}

#[test]
fn oc_logs_exec_and_rsh() {
    let s = setup();
    for line in ["one", "two"] {
        s.io.append_log(&app(), line);
    }
    assert_eq!(s.oc(&["logs", "web"], b""), s.run(&["logs", "web"]));
    assert_eq!(ok(s.oc(&["logs", "pod/web", "--tail=1"], b"")), "two\n");
    assert_eq!(
        s.oc(&["logs", "web", "-c", "nope"], b"").1,
        "error: container nope is not valid for pod web\n"
    );
    let both = [
        "exec",
        "web",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ];
    assert_eq!(s.oc(&both, b""), s.run(&both));
    assert_eq!(
        s.oc(&both, b""),
        (
            "out\n".into(),
            "err\ncommand terminated with exit code 3\n".into(),
            Some(3)
        )
    );
    assert_eq!(
        ok(s.oc(&["exec", "-i", "web", "--", "cat"], b"hello\nworld\n")),
        "hello\nworld\n"
    );
    // rsh: a shell reading its commands from standard input (no terminal here).
    assert_eq!(
        ok(s.oc(&["rsh", "web"], b"echo hi from $0\nexit 0\n")),
        "hi from /bin/sh\n"
    );
    assert_eq!(
        ok(s.oc(&["rsh", "pod/web", "echo", "direct"], b"")),
        "direct\n"
    );
    // Refused as kubectl is refused.
    let bob =
        s.c.user_with_role("bob", &[], "view", NAMESPACE)
            .display()
            .to_string();
    let out = std::process::Command::new(e2e::oc_binary())
        .env("HOME", s.c.scratch("home"))
        .args([
            "--kubeconfig",
            &bob,
            "-n",
            NAMESPACE,
            "exec",
            "web",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error from server (Forbidden): pods \"web\" is forbidden: User \"bob\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"demo\"\n"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn attach_through_the_api_server() {
    let s = setup();
    // The stand-in container's main process echoes its input.
    let mut attach = s
        .kubectl(&["attach", "-i", "web"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    attach
        .stdin
        .take()
        .unwrap()
        .write_all(b"attached\n")
        .unwrap();
    let out = attach.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "attached\n");
}

#[test]
fn logs_of_a_pod_without_a_node_are_empty_and_streams_refused() {
    let s = setup();
    let pod = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pending", "namespace": "demo"},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}}"#;
    s.c.kubectl_ok(&[
        "--kubeconfig",
        &s.alice,
        "create",
        "-f",
        &s.c.file("pending.json", pod),
    ]);
    assert_eq!(ok(s.run(&["logs", "pending"])), "");
    let (_, err, code) = s.run(&["exec", "pending", "--", "true"]);
    assert_eq!(code, Some(1));
    assert_eq!(
        err,
        "Error from server (BadRequest): pod pending does not have a host assigned\n"
    );
}

/// A TCP echo server on a loopback port standing in for the pod's server; its port.
fn echo_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(mut connection) = connection else {
                return;
            };
            std::thread::spawn(move || {
                let mut reader = connection.try_clone().unwrap();
                let _ = std::io::copy(&mut reader, &mut connection);
            });
        }
    });
    port
}

/// Forwards a local port to an echo server with `command` (kubectl or oc, already given the
/// pod and the port), and checks connections are echoed.
fn check_forwarding(mut command: std::process::Command, remote: u16) {
    use std::io::Read;
    let mut forward = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(forward.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let local: u16 = first
        .strip_prefix("Forwarding from 127.0.0.1:")
        .and_then(|rest| rest.strip_suffix(&format!(" -> {remote}")))
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();
    for round in 0..2 {
        let mut connection = std::net::TcpStream::connect(("127.0.0.1", local)).unwrap();
        let message = format!("hello {round}\n");
        connection.write_all(message.as_bytes()).unwrap();
        let mut echoed = vec![0u8; message.len()];
        connection.read_exact(&mut echoed).unwrap();
        assert_eq!(String::from_utf8_lossy(&echoed), message);
    }
    forward.kill().unwrap();
    let _ = forward.wait();
}

#[test]
fn port_forward_through_the_api_server() {
    let s = setup();
    s.c.kubectl_ok(&[
        "patch",
        "pod",
        "web",
        "-n",
        NAMESPACE,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status": {"phase": "Running"}}"#,
    ]);
    let remote = echo_server();
    check_forwarding(
        s.kubectl(&["port-forward", "pod/web", &format!(":{remote}")]),
        remote,
    );
    let mut oc = std::process::Command::new(e2e::oc_binary());
    oc.env("HOME", s.c.scratch("home")).args([
        "--kubeconfig",
        &s.alice,
        "-n",
        NAMESPACE,
        "port-forward",
        "pod/web",
        &format!(":{remote}"),
    ]);
    check_forwarding(oc, remote);
}

/// Slow (over two minutes): run with `--ignored`.
#[test]
#[ignore]
fn idle_exec_survives_kubectls_read_deadline() {
    let s = setup();
    assert_eq!(
        ok(s.run(&["exec", "web", "--", "sh", "-c", "sleep 70; echo done"])),
        "done\n"
    );
    assert_eq!(
        ok(s.oc(
            &["exec", "web", "--", "sh", "-c", "sleep 70; echo done"],
            b""
        )),
        "done\n"
    );
}
