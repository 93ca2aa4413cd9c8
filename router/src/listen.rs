//! The router's listeners. HTTP: keep-alive HTTP/1.1 to the proxy. HTTPS: the ClientHello is
//! read without consuming it; a passthrough host's connection is spliced to an endpoint as
//! it came, any other is terminated here (the route's certificate by server name, else the
//! default one) and served as HTTP with `https` as its scheme.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::head_guard::{Exchanges, HeadGuard, MAX_HEADERS, ROUTER_TIMEOUTS};
use crate::limits::Tracked;
use crate::proxy::{Conn, Proxy};
use crate::sni::{self, Hello};
use crate::table::Current;

/// How long a client has to send its ClientHello (`tcp-request inspect-delay`), then to
/// complete the handshake (`timeout client`).
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most hyper buffers of a connection's input: OpenShift's HAProxy `tune.bufsize` (hyper's
/// default, 400 KiB, would let a client hold that much per connection). Heads are held to less
/// by the guard in front of hyper (`head_guard`).
const MAX_BUFFER: usize = 32 * 1024;
const MAX_HELLO: usize = 16 * 1024;

pub async fn serve_http(listener: TcpListener, proxy: Arc<Proxy>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        // Answers go out as soon as written, not held back for the client's acknowledgement.
        let _ = stream.set_nodelay(true);
        let local_port = stream.local_addr().map_or(0, |a| a.port());
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let conn = Conn::new(peer, local_port, false);
            serve_connection(stream, proxy, conn).await;
        });
    }
}

async fn serve_connection<S>(stream: S, proxy: Arc<Proxy>, conn: Conn)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    proxy.metrics.connections.fetch_add(1, Ordering::Relaxed);
    // The routes this connection is counted on, released when it ends.
    let tracked = Arc::new(Tracked::default());
    let conn = Arc::new(conn);
    let exchanges = Arc::new(Exchanges::default());
    let io = TokioIo::new(HeadGuard::new(stream, exchanges.clone(), ROUTER_TIMEOUTS));
    let service = service_fn(move |req| {
        exchanges.exchange(proxy.clone().serve(req, conn.clone(), tracked.clone()))
    });
    // The guard times request heads; hyper's own timer would close a slow head unanswered.
    let served = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .max_buf_size(MAX_BUFFER)
        .max_headers(MAX_HEADERS)
        .keep_alive(true)
        .serve_connection(io, service)
        .with_upgrades();
    // A connection ends when the client leaves or breaks the protocol; nothing to report.
    let _ = served.await;
}

/// The certificate for a server name: the route's own, else the default.
struct Certificates {
    table: Current,
    default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let table = self.table.get();
        let own = hello
            .server_name()
            .and_then(|name| table.certificate_for(name).cloned());
        Some(own.unwrap_or_else(|| self.default.clone()))
    }
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Certificates")
    }
}

/// The TLS configuration of terminated connections: TLS 1.2 and 1.3, HTTP/1.1, no session
/// tickets or cache (every connection a full handshake, as the reference HAProxy runs).
pub fn server_config(
    table: Current,
    default: Arc<CertifiedKey>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(crate::certs::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Certificates { table, default }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(config)
}

pub async fn serve_https(listener: TcpListener, proxy: Arc<Proxy>, tls: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let (proxy, acceptor) = (proxy.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let local_port = stream.local_addr().map_or(0, |a| a.port());
            let Ok(Some(name)) = tokio::time::timeout(HELLO_TIMEOUT, server_name(&stream)).await
            else {
                return;
            };
            if let Some(name) = &name
                && proxy.table.get().passthrough_for(name).is_some()
            {
                return splice(proxy, name.clone(), peer, stream).await;
            }
            let Ok(Ok(tls)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let conn = Conn::new(peer, local_port, true);
            serve_connection(tls, proxy, conn).await;
        });
    }
}

/// The server name of the ClientHello waiting on `stream` (outer `None`: not TLS or closed).
async fn server_name(stream: &TcpStream) -> Option<Option<String>> {
    let mut buf = vec![0_u8; MAX_HELLO];
    loop {
        let n = stream.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        match sni::parse(&buf[..n]) {
            Hello::Complete(name) => return Some(name),
            Hello::NotTls => return None,
            Hello::Incomplete if n == buf.len() => return None,
            Hello::Incomplete => {
                stream.readable().await.ok()?;
                // Peek returns what is buffered; wait a moment for more to arrive.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// A passthrough connection, copied both ways to an endpoint of the route.
async fn splice(proxy: Arc<Proxy>, name: String, peer: SocketAddr, mut client: TcpStream) {
    let table = proxy.table.get();
    let Some(entry) = table.passthrough_for(&name).cloned() else {
        return;
    };
    let now = table.now_ms();
    drop(table);
    proxy.metrics.connections.fetch_add(1, Ordering::Relaxed);
    // The backend's `tcp-request content` rules: allow list, then connection limits.
    if !entry.policy.allows(peer.ip()) {
        return;
    }
    let _open = match &entry.limiter {
        Some(limiter) => match limiter.connect(peer.ip(), Instant::now()) {
            Some(open) => Some(open),
            None => return,
        },
        None => None,
    };
    let idle = entry
        .policy
        .passthrough_tunnel()
        .unwrap_or(crate::tunnel::DEFAULT_TIMEOUT);
    for _ in 0..3 {
        let Some(i) = entry.backend.pick(None, peer, now) else {
            break;
        };
        let endpoint = &entry.backend.endpoints[i];
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(endpoint.addr)).await
        {
            Ok(Ok(mut server)) => {
                let _ = server.set_nodelay(true);
                endpoint.active.fetch_add(1, Ordering::Relaxed);
                let counters = [&entry.stats.counters, &endpoint.stats.counters];
                counters.iter().for_each(|c| c.sent(0));
                let (sent, received) = crate::tunnel::splice(&mut client, &mut server, idle).await;
                endpoint.active.fetch_sub(1, Ordering::Relaxed);
                for c in counters {
                    c.bytes_in(sent);
                    c.bytes_out(received);
                }
                return;
            }
            _ => {
                entry.stats.counters.connection_error();
                endpoint.stats.counters.connection_error();
                endpoint.down_until.store(now + 5_000, Ordering::Relaxed);
            }
        }
    }
    let _ = client.shutdown().await;
}
