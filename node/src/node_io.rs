//! The node's `ContainerIo`: logs read from the CRI log files the agent owns; exec and attach
//! through `podman exec`/`podman attach`; port-forwarding by a connection to the pod's
//! address on the bridge. On a simulated node logs are empty and streams fail.

use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};

use crate::container_io::{
    AsyncReadWrite, ContainerIo, ContainerIoError, ContainerRef, LogOptions, ProcessExit,
    StreamRequest, StreamSession, TerminalSize,
};
use crate::pods::directory::{ContainerEntry, Directory, PodEntry};
use crate::runtime::{ContainerState, Runtime, cri_log, podman::Podman};

pub struct NodeIo {
    pub directory: Arc<Directory>,
    pub runtime: Arc<dyn Runtime>,
    /// Present on podman nodes.
    pub podman: Option<Arc<Podman>>,
}

impl NodeIo {
    fn pod(&self, namespace: &str, pod: &str) -> Result<PodEntry, ContainerIoError> {
        self.directory.get(namespace, pod).ok_or_else(|| {
            ContainerIoError::NotFound(format!("pod \"{pod}\" cannot be found - no logs available"))
        })
    }

    fn container(&self, c: &ContainerRef) -> Result<ContainerEntry, ContainerIoError> {
        let pod = self.pod(&c.namespace, &c.pod)?;
        pod.containers.get(&c.container).cloned().ok_or_else(|| {
            ContainerIoError::NotFound(format!(
                "container \"{}\" in pod \"{}\" is not available",
                c.container, c.pod
            ))
        })
    }

    fn podman(&self) -> Result<&Podman, ContainerIoError> {
        self.podman.as_deref().ok_or_else(|| {
            ContainerIoError::BadRequest("streams are not served by a simulated node".into())
        })
    }

    /// The running container's runtime ID.
    fn running(&self, c: &ContainerRef) -> Result<String, ContainerIoError> {
        let entry = self.container(c)?;
        match (entry.running, entry.id) {
            (true, Some(id)) => Ok(id),
            _ => Err(ContainerIoError::BadRequest(format!(
                "container {} is not running",
                c.container
            ))),
        }
    }

    fn session(
        &self,
        args: Vec<String>,
        request: &StreamRequest,
    ) -> Result<StreamSession, ContainerIoError> {
        let podman = self.podman()?;
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = podman.stream_command(&refs);
        command
            .stdin(if request.stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if request.stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(if request.stderr && !request.tty {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = command
            .spawn()
            .map_err(|e| ContainerIoError::Runtime(format!("podman: {e}")))?;
        let stdin = child
            .stdin
            .take()
            .map(|s| Box::pin(s) as Pin<Box<dyn tokio::io::AsyncWrite + Send>>);
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::pin(s) as Pin<Box<dyn tokio::io::AsyncRead + Send>>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::pin(s) as Pin<Box<dyn tokio::io::AsyncRead + Send>>);
        // Terminal sizes are accepted and dropped: podman's own terminal follows its pipes.
        let resize = request.tty.then(|| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<TerminalSize>(4);
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
            tx
        });
        let exit = Box::pin(async move {
            match child.wait().await {
                Ok(status) => match status.code() {
                    Some(code) => ProcessExit::Code(code),
                    None => ProcessExit::Failed("the process was killed".into()),
                },
                Err(e) => ProcessExit::Failed(e.to_string()),
            }
        });
        Ok(StreamSession {
            stdin,
            stdout,
            stderr,
            resize,
            exit,
        })
    }
}

#[async_trait]
impl ContainerIo for NodeIo {
    async fn logs(
        &self,
        c: &ContainerRef,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, ContainerIoError> {
        let entry = self.container(c)?;
        if self.podman.is_none() {
            return Ok(futures::stream::empty().boxed());
        }
        let path = if options.previous {
            entry.previous_log.ok_or_else(|| {
                ContainerIoError::BadRequest(format!(
                    "previous terminated container \"{}\" in pod \"{}\" not found",
                    c.container, c.pod
                ))
            })?
        } else {
            match (&entry.log, &entry.waiting) {
                (Some(log), _) => log.clone(),
                (None, Some(reason)) => {
                    let why = match reason.as_str() {
                        "ErrImagePull" => "image can't be pulled",
                        "ImagePullBackOff" => "trying and failing to pull image",
                        other => other,
                    };
                    return Err(ContainerIoError::BadRequest(format!(
                        "container \"{}\" in pod \"{}\" is waiting to start: {why}",
                        c.container, c.pod
                    )));
                }
                (None, None) => {
                    return Err(ContainerIoError::BadRequest(format!(
                        "container \"{}\" in pod \"{}\" is waiting to start - no logs yet",
                        c.container, c.pod
                    )));
                }
            }
        };
        let id = if options.previous {
            None
        } else {
            entry.id.clone()
        };
        let runtime = self.runtime.clone();
        let running: cri_log::StillRunning = Box::new(move || {
            let (runtime, id) = (runtime.clone(), id.clone());
            Box::pin(async move {
                match id {
                    Some(id) => matches!(
                        runtime.inspect(&id).await,
                        Ok(Some(info)) if matches!(info.state, ContainerState::Running { .. })
                    ),
                    None => false,
                }
            })
        });
        cri_log::stream(path, options.clone(), running)
            .await
            .map_err(|e| ContainerIoError::Runtime(format!("reading the log: {e}")))
    }

    async fn exec(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError> {
        let id = self.running(&request.container)?;
        if request.command.is_empty() {
            return Err(ContainerIoError::BadRequest("command is required".into()));
        }
        let mut args = vec!["exec".to_string()];
        if request.stdin {
            args.push("--interactive".into());
        }
        if request.tty {
            args.push("--tty".into());
        }
        args.push(id);
        args.extend(request.command.iter().cloned());
        self.session(args, request)
    }

    async fn attach(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError> {
        let id = self.running(&request.container)?;
        let mut args = vec!["attach".to_string()];
        if !request.stdin {
            args.push("--no-stdin".into());
        }
        args.push(id);
        self.session(args, request)
    }

    async fn port_forward(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<Pin<Box<dyn AsyncReadWrite>>, ContainerIoError> {
        self.podman()?;
        let entry = self.pod(namespace, pod)?;
        let ip = entry
            .ip
            .ok_or_else(|| ContainerIoError::BadRequest(format!("pod {pod} has no network yet")))?;
        // The host reaches pods on the bridge; nothing else is ever dialled.
        let stream = tokio::net::TcpStream::connect((ip, port))
            .await
            .map_err(|e| {
                ContainerIoError::Runtime(format!(
                    "error forwarding port {port} to pod {}, uid : {e}",
                    entry.uid
                ))
            })?;
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runtime::simulated::Simulated;

    fn io(dir: &std::path::Path) -> NodeIo {
        let log = dir.join("0.log");
        std::fs::write(
            &log,
            "2026-01-02T03:04:05Z stdout F one\n2026-01-02T03:04:06Z stderr F two\n",
        )
        .unwrap();
        let directory = Arc::new(Directory::default());
        let mut containers = std::collections::HashMap::new();
        containers.insert(
            "app".to_string(),
            ContainerEntry {
                id: Some("gone".into()),
                log: Some(log),
                terminated: true,
                ..Default::default()
            },
        );
        containers.insert(
            "init".to_string(),
            ContainerEntry {
                waiting: Some("ImagePullBackOff".into()),
                ..Default::default()
            },
        );
        directory.set(
            "ns",
            "web",
            PodEntry {
                uid: "u".into(),
                ip: None,
                containers,
            },
        );
        NodeIo {
            directory,
            runtime: Arc::new(Simulated::new()),
            podman: Some(Arc::new(Podman::new(dir, "n"))),
        }
    }

    fn container(pod: &str, name: &str) -> ContainerRef {
        ContainerRef {
            namespace: "ns".into(),
            pod: pod.into(),
            container: name.into(),
        }
    }

    fn message(e: ContainerIoError) -> String {
        e.to_string()
    }

    #[tokio::test]
    async fn logs_are_read_from_the_cri_file_and_refused_with_the_kubelets_words() {
        let dir = tempfile::tempdir().unwrap();
        let io = io(dir.path());
        let options = LogOptions {
            follow: true,
            timestamps: true,
            ..Default::default()
        };
        // Following a container that no longer runs ends with its log.
        let chunks: Vec<_> = io
            .logs(&container("web", "app"), &options)
            .await
            .unwrap()
            .collect()
            .await;
        let text: String = chunks
            .into_iter()
            .map(|c| String::from_utf8(c.unwrap().to_vec()).unwrap())
            .collect();
        assert_eq!(text, "2026-01-02T03:04:05Z one\n2026-01-02T03:04:06Z two\n");
        let previous = LogOptions {
            previous: true,
            ..Default::default()
        };
        let err = io
            .logs(&container("web", "app"), &previous)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ContainerIoError::BadRequest(_)));
        assert_eq!(
            message(err),
            "previous terminated container \"app\" in pod \"web\" not found"
        );
        let err = io
            .logs(&container("web", "init"), &LogOptions::default())
            .await
            .err()
            .unwrap();
        assert_eq!(
            message(err),
            "container \"init\" in pod \"web\" is waiting to start: trying and failing to pull image"
        );
        let err = io
            .logs(&container("web", "nope"), &LogOptions::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ContainerIoError::NotFound(_)));
        assert_eq!(
            message(err),
            "container \"nope\" in pod \"web\" is not available"
        );
        let err = io
            .logs(&container("other", "app"), &LogOptions::default())
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ContainerIoError::NotFound(_)));
    }

    #[tokio::test]
    async fn streams_need_a_running_container() {
        let dir = tempfile::tempdir().unwrap();
        let io = io(dir.path());
        let request = StreamRequest {
            container: container("web", "app"),
            command: vec!["ls".into()],
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        };
        let err = io.exec(&request).await.err().unwrap();
        assert!(matches!(err, ContainerIoError::BadRequest(_)));
        assert_eq!(message(err), "container app is not running");
        let err = io.port_forward("ns", "web", 80).await.err().unwrap();
        assert!(matches!(err, ContainerIoError::BadRequest(_)));
    }
}
