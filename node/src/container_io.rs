//! The seam between the node's HTTPS API (logs, exec, attach, port-forward) and the runtime
//! that runs the containers: the API speaks HTTP and WebSocket, the runtime implements this.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::io::{AsyncRead, AsyncWrite};

/// A pod's container as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRef {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// What `GET /containerLogs` asks for (the query of `pods/log`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub follow: bool,
    /// The last N lines only.
    pub tail_lines: Option<i64>,
    /// Lines written at or after this instant only (from `sinceSeconds` or `sinceTime`).
    pub since: Option<std::time::SystemTime>,
    /// Each line prefixed with its RFC 3339 (nanosecond) timestamp and a space.
    pub timestamps: bool,
    /// The previous (terminated) instance of the container.
    pub previous: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

/// A command to run in a container (`exec`), or a request to attach to its main process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    pub container: ContainerRef,
    /// Empty for attach.
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

/// A terminal size, as the resize channel sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    pub width: u16,
    pub height: u16,
}

/// How a streamed process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessExit {
    /// Exited with this code (0 is success).
    Code(i32),
    /// Could not be run or was ended by the runtime; the message says why.
    Failed(String),
}

/// A running exec or attach session. Each stream is present only if the request asked for it;
/// with a TTY, stderr is merged into stdout and `resize` is present.
pub struct StreamSession {
    pub stdin: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    pub stdout: Option<Pin<Box<dyn AsyncRead + Send>>>,
    pub stderr: Option<Pin<Box<dyn AsyncRead + Send>>>,
    pub resize: Option<tokio::sync::mpsc::Sender<TerminalSize>>,
    /// Resolves once the process has ended and its output has been read.
    pub exit: BoxFuture<'static, ProcessExit>,
}

/// Why a stream could not start; the node's API turns each into the kubelet's status and text.
#[derive(Debug, thiserror::Error)]
pub enum ContainerIoError {
    /// No such pod on this node, or no such container in it (404).
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be served as asked, e.g. the container is not running (400).
    #[error("{0}")]
    BadRequest(String),
    /// The runtime failed (500).
    #[error("{0}")]
    Runtime(String),
}

/// What the node's HTTPS API needs from the container runtime.
#[async_trait]
pub trait ContainerIo: Send + Sync + 'static {
    /// The container's log as the kubelet serves it: the bytes the container wrote, in order,
    /// ending when the log ends (or, when following, when the container ends).
    async fn logs(
        &self,
        container: &ContainerRef,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, ContainerIoError>;

    /// Runs `request.command` in the container.
    async fn exec(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError>;

    /// Attaches to the container's main process.
    async fn attach(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError>;

    /// A connection to `port` inside the pod's network namespace.
    async fn port_forward(
        &self,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<Pin<Box<dyn AsyncReadWrite>>, ContainerIoError>;
}

/// A byte stream both ways (a forwarded port's connection).
pub trait AsyncReadWrite: AsyncRead + AsyncWrite + Send {}
impl<T: AsyncRead + AsyncWrite + Send> AsyncReadWrite for T {}
