//! The podman runtime and the node's `ContainerIo` on real containers: a container started
//! from an image built here runs, its log is served and followed, commands run in it with
//! their output and exit codes, and stopping it ends both. Skipped (saying why) where podman
//! cannot run: not root, or podman/buildah/busybox missing (hack/setup.sh installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use node::container_io::{ContainerIo, ContainerRef, LogOptions, ProcessExit, StreamRequest};
use node::node_io::NodeIo;
use node::pods::directory::{ContainerEntry, Directory, PodEntry};
use node::runtime::podman::Podman;
use node::runtime::{ContainerSpec, ContainerState, Limits, PodRef, Runtime, Sandbox, Security};
use tokio::io::AsyncReadExt;

fn unavailable() -> Option<String> {
    if !Podman::available() {
        return Some("podman is missing or this is not root".into());
    }
    ["/usr/bin/buildah", "/bin/busybox"]
        .into_iter()
        .find(|t| !Path::new(t).exists())
        .map(|t| format!("{t} is missing (hack/setup.sh installs it)"))
}

/// Builds `localhost/busybox:1` (a static busybox only) into podman's storage under `state`.
fn build_image(state: &Path) {
    let storage = [
        "--root".to_string(),
        state.join("root").display().to_string(),
        "--runroot".to_string(),
        state.join("run").display().to_string(),
    ];
    let buildah = |args: &[&str]| {
        let out = std::process::Command::new("buildah")
            .args(&storage)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let c = buildah(&["from", "scratch"]);
    buildah(&["copy", &c, "/bin/busybox", "/bin/busybox"]);
    buildah(&["commit", "--quiet", &c, "localhost/busybox:1"]);
    buildah(&["rm", &c]);
}

async fn read_all(stream: Option<std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>>) -> String {
    let mut text = String::new();
    if let Some(mut s) = stream {
        s.read_to_string(&mut text).await.unwrap();
    }
    text
}

#[tokio::test]
async fn podman_containers_serve_logs_and_run_commands() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED podman_containers_serve_logs_and_run_commands: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("podman");
    build_image(&state);
    let podman = Arc::new(Podman::new(&state, "io-test"));
    let pod = PodRef {
        namespace: "ns".into(),
        name: "web".into(),
        uid: format!("io-test-{}", std::process::id()),
    };
    let log = dir.path().join("app").join("0.log");
    let spec = ContainerSpec {
        runtime_name: format!("k8s_app_web_ns_{}_0", pod.uid),
        container: "app".into(),
        attempt: 0,
        image: "localhost/busybox:1".into(),
        command: vec!["/bin/busybox".into(), "sh".into(), "-c".into()],
        args: vec!["echo started; echo oops >&2; exec /bin/busybox sleep 300".into()],
        env: vec![("GREETING".into(), "hi there".into())],
        mounts: vec![],
        working_dir: Some("/bin".into()),
        log_path: log.clone(),
        stdin: false,
        tty: false,
        // What restricted-v2 gives a pod: the project's UID, its groups, no capabilities.
        security: Security {
            user: Some(1000680000),
            groups: vec![1000680000],
            no_new_privileges: true,
            cap_drop: vec!["ALL".into()],
            ..Default::default()
        },
        build_step: None,
        limits: Default::default(),
    };
    let sandbox = Sandbox {
        ip: "127.0.0.1".parse().unwrap(),
        netns: None,
        host_network: false,
    };
    let id = podman.start_container(&pod, &sandbox, &spec).await.unwrap();
    let info = podman.inspect(&id).await.unwrap().unwrap();
    assert!(
        matches!(info.state, ContainerState::Running { .. }),
        "{info:?}"
    );
    let listed = podman.list().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.id == id && c.pod_uid == pod.uid && c.container == "app")
    );

    let directory = Arc::new(Directory::default());
    let mut containers = std::collections::HashMap::new();
    containers.insert(
        "app".to_string(),
        ContainerEntry {
            id: Some(id.clone()),
            log: Some(log),
            running: true,
            ..Default::default()
        },
    );
    directory.set(
        "ns",
        "web",
        PodEntry {
            uid: pod.uid.clone(),
            ip: None,
            containers,
        },
    );
    let io = NodeIo {
        directory,
        runtime: podman.clone(),
        podman: Some(podman.clone()),
    };
    let app = ContainerRef {
        namespace: "ns".into(),
        pod: "web".into(),
        container: "app".into(),
    };

    // Commands run in the container, with its environment and working directory.
    let exec = |command: &[&str]| StreamRequest {
        container: app.clone(),
        command: command.iter().map(|s| s.to_string()).collect(),
        stdin: false,
        stdout: true,
        stderr: true,
        tty: false,
    };
    let session = io
        .exec(&exec(&[
            "/bin/busybox",
            "sh",
            "-c",
            "echo $GREETING from $(/bin/busybox pwd); echo bad >&2; exit 3",
        ]))
        .await
        .unwrap();
    let (out, err) = (
        read_all(session.stdout).await,
        read_all(session.stderr).await,
    );
    assert_eq!(out, "hi there from /bin\n");
    assert_eq!(err, "bad\n");
    assert_eq!(session.exit.await, ProcessExit::Code(3));

    // They run as the container's user, in its groups.
    let session = io
        .exec(&exec(&[
            "/bin/busybox",
            "sh",
            "-c",
            "/bin/busybox id -u; /bin/busybox id -G",
        ]))
        .await
        .unwrap();
    assert_eq!(read_all(session.stdout).await, "1000680000\n0 1000680000\n");

    // The log, as written so far; followed, it ends when the container stops.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let chunks: Vec<_> = io
            .logs(&app, &LogOptions::default())
            .await
            .unwrap()
            .collect()
            .await;
        let text: String = chunks
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap())
            .collect();
        if text.lines().count() >= 2 || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(text, "started\noops\n");
    let follow = LogOptions {
        follow: true,
        tail_lines: Some(1),
        ..Default::default()
    };
    let mut followed = io.logs(&app, &follow).await.unwrap();
    assert_eq!(
        followed.next().await.unwrap().unwrap(),
        bytes::Bytes::from("oops\n")
    );
    podman.stop(&id, Duration::from_secs(1)).await.unwrap();
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = followed.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(rest.is_ok(), "following did not end with the container");
    let info = podman.inspect(&id).await.unwrap().unwrap();
    assert!(
        matches!(info.state, ContainerState::Exited { .. }),
        "{info:?}"
    );
    podman.remove(&id).await.unwrap();
    assert!(podman.inspect(&id).await.unwrap().is_none());
}

/// A container over its memory limit is killed by the kernel, and podman says so.
#[tokio::test]
async fn a_container_over_its_memory_limit_is_oom_killed() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED a_container_over_its_memory_limit_is_oom_killed: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("podman");
    build_image(&state);
    let podman = Arc::new(Podman::new(&state, "oom-test"));
    let pod = PodRef {
        namespace: "ns".into(),
        name: "hog".into(),
        uid: format!("oom-test-{}", std::process::id()),
    };
    let spec = ContainerSpec {
        runtime_name: format!("k8s_hog_hog_ns_{}_0", pod.uid),
        container: "hog".into(),
        attempt: 0,
        image: "localhost/busybox:1".into(),
        command: vec!["/bin/busybox".into(), "sh".into(), "-c".into()],
        // A shell variable that doubles until it no longer fits in 16 MiB.
        args: vec!["x=0123456789abcdef; while true; do x=$x$x; done".into()],
        env: vec![],
        mounts: vec![],
        working_dir: None,
        log_path: dir.path().join("hog").join("0.log"),
        stdin: false,
        tty: false,
        build_step: None,
        security: Security::default(),
        limits: Limits {
            memory_bytes: Some(16 * 1024 * 1024),
            ..Default::default()
        },
    };
    let sandbox = Sandbox {
        ip: "127.0.0.1".parse().unwrap(),
        netns: None,
        host_network: false,
    };
    let id = podman.start_container(&pod, &sandbox, &spec).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let state = loop {
        let info = podman.inspect(&id).await.unwrap().unwrap();
        if matches!(info.state, ContainerState::Exited { .. }) {
            break info.state;
        }
        assert!(std::time::Instant::now() < deadline, "{info:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    podman.remove(&id).await.unwrap();
    match state {
        ContainerState::Exited {
            exit_code,
            oom_killed,
            ..
        } => {
            assert_eq!(exit_code, 137);
            assert!(oom_killed);
        }
        other => panic!("{other:?}"),
    }
}
