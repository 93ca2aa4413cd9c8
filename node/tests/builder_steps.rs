//! A build pod's steps run by the node for real: a git repository made here is cloned, its
//! Dockerfile rewritten, built with buildah from a base image in a registry on loopback and
//! pushed there; the steps look like containers (running, then exited with their code), log
//! as they go and report through the Build's details. A broken Dockerfile fails the build
//! with upstream's reason. The API server is stood in for by a small HTTP server answering
//! the two things the steps ask it (the cluster's image configuration, the details); the
//! whole control plane with the Build API is exercised in the end-to-end tests. Skipped
//! (saying why) where buildah cannot run: not root, or a tool missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::routing::put;
use node::builder::{BuilderRuntime, Step};
use node::pods::image_config::Watched;
use node::pods::registry_sources::RegistrySources;
use node::runtime::simulated::Simulated;
use node::runtime::{ContainerSpec, ContainerState, Mount, PodRef, Runtime, Sandbox};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);

fn unavailable() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        return Some("not root (buildah builds as root)".into());
    }
    [
        "/usr/bin/buildah",
        "/usr/bin/docker-registry",
        "/bin/busybox",
    ]
    .into_iter()
    .find(|t| !Path::new(t).exists())
    .map(|t| format!("{t} is missing (hack/setup.sh installs it)"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Registry {
    child: Child,
    port: u16,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        let port = free_port();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("registry").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not listen");
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

fn run(program: &str, args: &[&str], dir: Option<&Path>) -> String {
    let mut c = Command::new(program);
    c.args(args);
    if let Some(dir) = dir {
        c.current_dir(dir);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Pushes a base image holding a static busybox to `image`.
fn push_base(dir: &Path, image: &str) {
    let root = dir.join("base-buildah");
    let storage = [
        "--root".to_string(),
        root.join("root").display().to_string(),
        "--runroot".to_string(),
        root.join("run").display().to_string(),
    ];
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = storage.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        run("buildah", &all, None)
    };
    let c = with(&["from", "scratch"]);
    with(&["copy", &c, "/bin/busybox", "/bin/busybox"]);
    with(&["commit", "--quiet", &c, "base:1"]);
    with(&["rm", &c]);
    with(&[
        "push",
        "--tls-verify=false",
        "base:1",
        &format!("docker://{image}"),
    ]);
    let _ = with(&["rmi", "--all", "--force"]);
}

/// A git repository at `dir` with one commit of `files`; its head commit.
fn git_repo(dir: &Path, files: &[(&str, &str)]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let git = |args: &[&str]| run("git", args, Some(dir));
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=Ann Author",
        "-c",
        "user.email=ann@example.com",
        "commit",
        "--quiet",
        "-m",
        "First page",
    ]);
    git(&["rev-parse", "HEAD"])
}

/// What the stand-in API server was told.
#[derive(Clone, Default)]
struct Seen {
    details: Arc<Mutex<Vec<Value>>>,
}

/// The cluster's Image object as the node's watch would have read it: the integrated registry
/// (the test's) is plain HTTP.
fn image_config(registry: &str) -> Value {
    json!({
        "apiVersion": "config.openshift.io/v1", "kind": "Image",
        "metadata": {"name": "cluster"},
        "spec": {}, "status": {"internalRegistryHostname": registry}
    })
}

async fn details(
    State(seen): State<Seen>,
    UrlPath((_ns, _name)): UrlPath<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> axum::Json<Value> {
    seen.details.lock().unwrap().push(body.clone());
    axum::Json(body)
}

async fn api_server(seen: Seen) -> kube::Client {
    let app = Router::new()
        .route(
            "/apis/build.openshift.io/v1/namespaces/{ns}/builds/{name}/details",
            put(details),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

struct Pod {
    runtime: BuilderRuntime,
    pod: PodRef,
    dir: PathBuf,
    work: PathBuf,
    build: Value,
}

impl Pod {
    /// Runs the step as the container `name` to its end; its exit code and log.
    async fn step(&self, name: &str, step: Step) -> (i32, String) {
        let log = self.dir.join(name).join("0.log");
        let spec = ContainerSpec {
            runtime_name: name.into(),
            container: name.into(),
            attempt: 0,
            image: "oxshift/builder:latest".into(),
            command: vec![],
            args: vec![format!("openshift-{name}")],
            env: vec![("BUILD".into(), self.build.to_string())],
            mounts: vec![Mount {
                host_path: self.work.clone(),
                container_path: "/tmp/build".into(),
                read_only: false,
            }],
            working_dir: None,
            log_path: log.clone(),
            stdin: false,
            tty: false,
            build_step: Some(step),
            security: Default::default(),
            limits: Default::default(),
        };
        let sandbox = Sandbox {
            ip: "127.0.0.1".parse().unwrap(),
            netns: None,
            host_network: false,
        };
        let id = self
            .runtime
            .start_container(&self.pod, &sandbox, &spec)
            .await
            .unwrap();
        let deadline = Instant::now() + WAIT;
        let code = loop {
            let info = self.runtime.inspect(&id).await.unwrap().unwrap();
            if let ContainerState::Exited { exit_code, .. } = info.state {
                break exit_code;
            }
            assert!(Instant::now() < deadline, "{name} did not end");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let text: String = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter_map(|l| l.splitn(4, ' ').nth(3))
            .map(|l| format!("{l}\n"))
            .collect();
        self.runtime.remove(&id).await.unwrap();
        (code, text)
    }
}

fn build_json(name: &str, uri: &str, registry: &str) -> Value {
    json!({
        "kind": "Build", "apiVersion": "build.openshift.io/v1",
        "metadata": {"name": name, "namespace": "p", "resourceVersion": "5"},
        "spec": {
            "source": {"type": "Git", "git": {"uri": uri}, "contextDir": "app"},
            "strategy": {"type": "Docker", "dockerStrategy": {
                "env": [{"name": "MODE", "value": "test"}],
                "buildArgs": [{"name": "GREETING", "value": "hello"}]}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "web:latest"}}
        },
        "status": {"phase": "Running", "outputDockerImageReference": format!("{registry}/p/web:latest")}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_pods_steps_clone_build_and_push() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED a_build_pods_steps_clone_build_and_push: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start(dir.path());
    let host = format!("127.0.0.1:{}", registry.port);
    push_base(dir.path(), &format!("{host}/base/busybox:1"));
    let dockerfile = format!(
        "FROM {host}/base/busybox:1\nARG GREETING\nCOPY index.html /www/index.html\n\
         RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo $GREETING $MODE > /www/greeting\"]\n\
         CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
    );
    let repo = dir.path().join("repo");
    let commit = git_repo(
        &repo,
        &[
            ("app/Dockerfile", &dockerfile),
            ("app/index.html", "<h1>one</h1>\n"),
        ],
    );
    let seen = Seen::default();
    let client = api_server(seen.clone()).await;
    let work = dir.path().join("pod/work");
    std::fs::create_dir_all(&work).unwrap();
    let uri = format!("file://{}", repo.display());
    let pod = Pod {
        runtime: BuilderRuntime::new(
            Arc::new(Simulated::new()),
            client,
            &dir.path().join("buildah"),
            Watched::fixed(
                Default::default(),
                RegistrySources::of_image(&image_config(&host)),
            ),
        ),
        pod: PodRef {
            namespace: "p".into(),
            name: "web-1-build".into(),
            uid: "u1".into(),
        },
        dir: dir.path().join("pod"),
        work: work.clone(),
        build: build_json("web-1", &uri, &host),
    };

    let started = Instant::now();
    let (code, log) = pod.step("git-clone", Step::GitClone).await;
    assert_eq!(code, 0, "{log}");
    assert!(log.starts_with(&format!("Cloning {uri:?} ...\n")), "{log}");
    assert!(
        log.contains(&format!("\tCommit:\t{commit} (First page)\n")),
        "{log}"
    );
    assert!(
        log.contains("\tAuthor:\tAnn Author <ann@example.com>\n"),
        "{log}"
    );

    let (code, log) = pod.step("manage-dockerfile", Step::ManageDockerfile).await;
    assert_eq!(code, 0, "{log}");
    let rewritten = std::fs::read_to_string(work.join("inputs/app/Dockerfile")).unwrap();
    assert!(rewritten.contains("ENV \"MODE\"=\"test\"\n"), "{rewritten}");
    assert!(
        rewritten.contains(&format!("\"OPENSHIFT_BUILD_COMMIT\"=\"{commit}\"")),
        "{rewritten}"
    );

    let (code, log) = pod.step("docker-build", Step::DockerBuild).await;
    let took = started.elapsed();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!("\nPulling image {host}/base/busybox:1 ...\n")),
        "{log}"
    );
    assert!(
        log.contains(&format!("\nPushing image {host}/p/web:latest ...\n")),
        "{log}"
    );
    assert!(log.ends_with("Push successful\n"), "{log}");
    let pushed = log
        .lines()
        .find_map(|l| l.strip_prefix(&format!("Successfully pushed {host}/p/web@")))
        .expect("the pushed digest")
        .to_string();
    assert!(pushed.starts_with("sha256:"), "{pushed}");
    eprintln!("commit -> image pushed: {:.2} s", took.as_secs_f64());

    // The details reports (revision, then digest), beside the steps' timing reports.
    let reports: Vec<_> = seen
        .details
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["spec"].get("revision").is_some() || r["status"].get("output").is_some())
        .cloned()
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(
        reports[0]["spec"]["revision"]["git"]["commit"],
        commit.as_str()
    );
    assert_eq!(
        reports[0]["spec"]["revision"]["git"]["author"]["email"],
        "ann@example.com"
    );
    assert!(reports[0]["metadata"].get("resourceVersion").is_none());
    assert_eq!(
        reports[1]["status"]["output"]["to"]["imageDigest"],
        pushed.as_str()
    );

    // The registry has the image, and the node kept none of the build's images.
    let manifest = run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{host}/p/web:latest"),
        ],
        None,
    );
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["Digest"], pushed.as_str());
    assert_eq!(
        manifest["Labels"]["io.openshift.build.commit.id"],
        commit.as_str()
    );
    let images = run(
        "buildah",
        &[
            "--root",
            dir.path().join("buildah/root").to_str().unwrap(),
            "--runroot",
            dir.path().join("buildah/runroot").to_str().unwrap(),
            "images",
            "--format",
            "{{.Name}}:{{.Tag}}",
        ],
        None,
    );
    assert!(!images.contains("temp.builder.openshift.io"), "{images}");
    assert!(!images.contains("/p/web"), "{images}");

    // A Dockerfile whose RUN fails fails the build with upstream's reason.
    let broken = dir.path().join("broken");
    git_repo(
        &broken,
        &[(
            "app/Dockerfile",
            &format!(
                "FROM {host}/base/busybox:1\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo no such thing; exit 3\"]\n"
            ),
        )],
    );
    let work2 = dir.path().join("pod2/work");
    std::fs::create_dir_all(&work2).unwrap();
    let pod2 = Pod {
        dir: dir.path().join("pod2"),
        work: work2,
        build: build_json("web-2", &format!("file://{}", broken.display()), &host),
        ..pod
    };
    seen.details.lock().unwrap().clear();
    assert_eq!(pod2.step("git-clone", Step::GitClone).await.0, 0);
    assert_eq!(
        pod2.step("manage-dockerfile", Step::ManageDockerfile)
            .await
            .0,
        0
    );
    let (code, log) = pod2.step("docker-build", Step::DockerBuild).await;
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("no such thing\n"), "{log}");
    assert!(log.lines().last().unwrap().starts_with("error: "), "{log}");
    let reports = seen.details.lock().unwrap().clone();
    let failed = reports.last().unwrap();
    assert_eq!(failed["status"]["phase"], "Failed");
    assert_eq!(failed["status"]["reason"], "DockerBuildFailed");
    assert_eq!(
        failed["status"]["message"],
        "Dockerfile build strategy has failed."
    );

    // Sources off this machine are refused before anything is fetched.
    let work3 = dir.path().join("pod3/work");
    std::fs::create_dir_all(&work3).unwrap();
    let pod3 = Pod {
        dir: dir.path().join("pod3"),
        work: work3,
        build: build_json(
            "web-3",
            "https://github.com/openshift/ruby-hello-world",
            &host,
        ),
        ..pod2
    };
    let (code, log) = pod3.step("git-clone", Step::GitClone).await;
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("loopback addresses only"), "{log}");
    let reports = seen.details.lock().unwrap().clone();
    assert_eq!(
        reports.last().unwrap()["status"]["reason"],
        "FetchSourceFailed"
    );
}
