//! Load for HTTP routers (the Oxshift router, HAProxy): `backend` serves a fixed page on
//! loopback ports (HTTP/1.1 keep-alive, and TLS for passthrough routes); `router` sends GETs
//! through a router for a list of hosts — over kept-alive connections, or each over a new TLS
//! connection with the host as its server name (a full handshake each: no resumption) — and
//! prints requests per second and latency percentiles.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::stats::Latencies;

const PAGE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n";

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Serves the page on every `http` address, and over TLS on every `tls` one.
pub async fn backend(
    http: Vec<SocketAddr>,
    tls: Vec<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<(), String> {
    let mut tasks = Vec::new();
    for addr in http {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        tasks.push(tokio::spawn(accept(listener, None)));
    }
    if !tls.is_empty() {
        let (cert, key) = (
            cert.ok_or("--cert is needed")?,
            key.ok_or("--key is needed")?,
        );
        let chain = CertificateDer::pem_file_iter(&cert)
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| e.to_string())?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| e.to_string())?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        for addr in tls {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| format!("{addr}: {e}"))?;
            tasks.push(tokio::spawn(accept(listener, Some(acceptor.clone()))));
        }
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

async fn accept(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => answer(stream).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        answer(stream).await;
                    }
                }
            }
        });
    }
}

/// Answers each request head on the connection with the page until the client leaves.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut close = false;
        loop {
            line.clear();
            match stream.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {
                    if line.to_ascii_lowercase().starts_with("connection: close") {
                        close = true;
                    }
                }
            }
        }
        if stream.get_mut().write_all(PAGE).await.is_err() || close {
            let _ = stream.get_mut().shutdown().await;
            return;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Kept-alive plain HTTP connections.
    Http,
    /// A new TLS connection (full handshake, the host as server name) per request.
    Tls,
}

pub struct Load {
    pub address: SocketAddr,
    pub hosts: Vec<String>,
    pub mode: Mode,
    pub connections: usize,
    pub duration: Duration,
    /// The CA the router's (or backend's) certificates are verified against.
    pub ca: Option<PathBuf>,
}

struct Shared {
    load: Load,
    tls: Option<tokio_rustls::TlsConnector>,
    stop: AtomicBool,
    errors: AtomicU64,
}

pub async fn router(load: Load) -> Result<(), String> {
    let tls = match load.mode {
        Mode::Http => None,
        Mode::Tls => {
            let mut roots = rustls::RootCertStore::empty();
            let ca = load.ca.as_ref().ok_or("--ca is needed with --mode tls")?;
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| e.to_string())? {
                roots
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let mut config = rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.resumption = rustls::client::Resumption::disabled();
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        }
    };
    let shared = Arc::new(Shared {
        load,
        tls,
        stop: AtomicBool::new(false),
        errors: AtomicU64::new(0),
    });
    let started = Instant::now();
    let workers: Vec<_> = (0..shared.load.connections)
        .map(|i| tokio::spawn(worker(shared.clone(), i)))
        .collect();
    tokio::time::sleep(shared.load.duration).await;
    shared.stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    for w in workers {
        if let Ok(l) = w.await {
            latencies.extend(l);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = latencies.len();
    println!(
        "requests={count} seconds={seconds:.1} rps={:.0} p50_ms={:.3} p99_ms={:.3} errors={}",
        count as f64 / seconds,
        latencies.percentile_ms(50.0),
        latencies.percentile_ms(99.0),
        shared.errors.load(Ordering::Relaxed)
    );
    Ok(())
}

async fn worker(shared: Arc<Shared>, index: usize) -> Latencies {
    let mut latencies = Latencies::default();
    let hosts = &shared.load.hosts;
    let mut next = index;
    let mut conn: Option<BufReader<TcpStream>> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        let host = &hosts[next % hosts.len()];
        next += shared.load.connections;
        let started = Instant::now();
        let ok = match &shared.tls {
            None => http_request(&shared, &mut conn, host).await,
            Some(tls) => tls_request(&shared, tls, host).await,
        };
        match ok {
            true => latencies.record(started.elapsed()),
            false => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                conn = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    latencies
}

async fn http_request(
    shared: &Shared,
    conn: &mut Option<BufReader<TcpStream>>,
    host: &str,
) -> bool {
    if conn.is_none() {
        let Ok(stream) = TcpStream::connect(shared.load.address).await else {
            return false;
        };
        let _ = stream.set_nodelay(true);
        *conn = Some(BufReader::new(stream));
    }
    let Some(stream) = conn.as_mut() else {
        return false;
    };
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
    if stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .is_err()
    {
        return false;
    }
    read_response(stream).await
}

async fn tls_request(shared: &Shared, tls: &tokio_rustls::TlsConnector, host: &str) -> bool {
    let Ok(stream) = TcpStream::connect(shared.load.address).await else {
        return false;
    };
    let _ = stream.set_nodelay(true);
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return false;
    };
    let Ok(stream) = tls.connect(name, stream).await else {
        return false;
    };
    let mut stream = BufReader::new(stream);
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .is_err()
    {
        return false;
    }
    read_response(&mut stream).await
}

/// Reads one response; true when it is a 200 with its whole body.
async fn read_response<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> bool {
    let mut line = String::new();
    let mut length = 0usize;
    let mut ok = false;
    let mut first = true;
    loop {
        line.clear();
        match stream.read_line(&mut line).await {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if first {
            ok = line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200");
            first = false;
            continue;
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.is_ok() && ok
}
