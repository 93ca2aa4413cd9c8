//! A `ContainerIo` that runs local processes: the container runtime's stand-in for tests of
//! the node's API (and of the API server's proxying to it). Exec runs the command as a child
//! of this process; attach runs `cat` (what is written comes back); logs are lines the test
//! appends, followed until the test ends them; a forwarded port is this machine's loopback
//! port.

use std::collections::HashMap;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::{mpsc, watch};

use crate::container_io::{
    AsyncReadWrite, ContainerIo, ContainerIoError, ContainerRef, LogOptions, ProcessExit,
    StreamRequest, StreamSession,
};
use crate::kubelet_api::log_lines::{self, LogLine};

#[derive(Clone, Default)]
struct LogBook {
    lines: Vec<LogLine>,
    ended: bool,
}

/// Local processes standing in for containers. Containers exist once named with
/// `add_container` (or written to with `append_log`).
#[derive(Default)]
pub struct LocalProcesses {
    logs: Mutex<HashMap<(String, String, String), watch::Sender<LogBook>>>,
}

fn key(c: &ContainerRef) -> (String, String, String) {
    (c.namespace.clone(), c.pod.clone(), c.container.clone())
}

impl LocalProcesses {
    pub fn new() -> Self {
        Self::default()
    }

    fn book(&self, c: &ContainerRef) -> watch::Sender<LogBook> {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.entry(key(c))
            .or_insert_with(|| watch::channel(LogBook::default()).0)
            .clone()
    }

    pub fn add_container(&self, c: &ContainerRef) {
        self.book(c);
    }

    /// Appends `line` (a newline added) to the container's log, stamped now.
    pub fn append_log(&self, c: &ContainerRef, line: &str) {
        self.book(c).send_modify(|book| {
            book.lines.push(LogLine {
                at: SystemTime::now(),
                line: Bytes::from(format!("{line}\n")),
            })
        });
    }

    /// The container ends: followers of its log reach its end.
    pub fn end_log(&self, c: &ContainerRef) {
        self.book(c).send_modify(|book| book.ended = true);
    }

    fn existing(&self, c: &ContainerRef) -> Result<watch::Sender<LogBook>, ContainerIoError> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.get(&key(c)).cloned().ok_or_else(|| {
            ContainerIoError::NotFound(format!(
                "container {:?} in pod {:?} is not available",
                c.container, c.pod
            ))
        })
    }

    fn spawn(
        &self,
        argv: &[String],
        request: &StreamRequest,
    ) -> Result<StreamSession, ContainerIoError> {
        self.existing(&request.container)?;
        let mut command = match request.tty {
            // No terminal here: stderr joins stdout, as it would on one.
            true => {
                let mut c = tokio::process::Command::new("sh");
                c.arg("-c").arg("exec \"$@\" 2>&1").arg("sh").args(argv);
                c
            }
            false => {
                let Some((program, args)) = argv.split_first() else {
                    return Err(ContainerIoError::BadRequest("no command".into()));
                };
                let mut c = tokio::process::Command::new(program);
                c.args(args);
                c
            }
        };
        let piped = |wanted: bool| {
            if wanted {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        command
            .stdin(piped(request.stdin))
            .stdout(piped(request.stdout))
            .stderr(piped(request.stderr && !request.tty))
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let why = e.to_string();
                return Ok(StreamSession {
                    stdin: None,
                    stdout: None,
                    stderr: None,
                    resize: None,
                    exit: Box::pin(async move { ProcessExit::Failed(why) }),
                });
            }
        };
        let resize = request.tty.then(|| {
            let (sender, mut sizes) = mpsc::channel(4);
            tokio::spawn(async move { while sizes.recv().await.is_some() {} });
            sender
        });
        Ok(StreamSession {
            stdin: child.stdin.take().map(|s| Box::pin(s) as Pin<Box<_>>),
            stdout: child.stdout.take().map(|s| Box::pin(s) as Pin<Box<_>>),
            stderr: child.stderr.take().map(|s| Box::pin(s) as Pin<Box<_>>),
            resize,
            exit: Box::pin(async move {
                match child.wait().await {
                    Ok(status) => ProcessExit::Code(status.code().unwrap_or(128)),
                    Err(e) => ProcessExit::Failed(e.to_string()),
                }
            }),
        })
    }
}

#[async_trait]
impl ContainerIo for LocalProcesses {
    async fn logs(
        &self,
        container: &ContainerRef,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, ContainerIoError> {
        let mut book = self.existing(container)?.subscribe();
        let now = book.borrow_and_update().clone();
        let first = log_lines::select(&now.lines, options);
        let first = futures::stream::iter(first.into_iter().map(Ok));
        if !options.follow || now.ended {
            return Ok(first.boxed());
        }
        let timestamps = options.timestamps;
        let rest = futures::stream::unfold(
            (book, now.lines.len()),
            move |(mut book, seen)| async move {
                loop {
                    {
                        let current = book.borrow_and_update();
                        if current.lines.len() > seen {
                            let new: Vec<u8> = current.lines[seen..]
                                .iter()
                                .flat_map(|l| log_lines::format_line(l, timestamps).to_vec())
                                .collect();
                            let seen = current.lines.len();
                            drop(current);
                            return Some((Ok(Bytes::from(new)), (book, seen)));
                        }
                        if current.ended {
                            return None;
                        }
                    }
                    if book.changed().await.is_err() {
                        return None;
                    }
                }
            },
        );
        Ok(first.chain(rest).boxed())
    }

    async fn exec(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError> {
        self.spawn(&request.command, request)
    }

    async fn attach(&self, request: &StreamRequest) -> Result<StreamSession, ContainerIoError> {
        self.spawn(&["cat".to_string()], request)
    }

    /// The pod's network is this machine's loopback.
    async fn port_forward(
        &self,
        _namespace: &str,
        _pod: &str,
        port: u16,
    ) -> Result<Pin<Box<dyn AsyncReadWrite>>, ContainerIoError> {
        let connection = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| ContainerIoError::Runtime(e.to_string()))?;
        Ok(Box::pin(connection))
    }
}

/// Certificates for tests, issued by a CA given as PEM: a serving certificate for
/// `names` (host names or IP addresses) and client certificates (CN user, O groups).
pub mod certs {
    use rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    };

    /// A certificate and its key, PEM.
    pub struct Issued {
        pub cert_pem: String,
        pub key_pem: String,
    }

    /// A new CA.
    pub fn ca() -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "test-ca");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    fn issue(
        ca: &Issued,
        mut params: CertificateParams,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<Issued, rcgen::Error> {
        let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, KeyPair::from_pem(&ca.key_pem)?)?;
        let key = KeyPair::generate()?;
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    pub fn serving(ca: &Issued, names: &[&str]) -> Result<Issued, rcgen::Error> {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        issue(ca, params, ExtendedKeyUsagePurpose::ServerAuth)
    }

    pub fn client(ca: &Issued, user: &str, groups: &[&str]) -> Result<Issued, rcgen::Error> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        for g in groups {
            dn.push(DnType::OrganizationName, *g);
        }
        params.distinguished_name = dn;
        issue(ca, params, ExtendedKeyUsagePurpose::ClientAuth)
    }
}
