//! The TLS listener: accepts connections within bounds (in all and per client address),
//! completes the handshake, attaches the verified client identity (if any) to every request
//! of the connection, and serves HTTP/2 or HTTP/1.1 by ALPN.
//!
//! Connections that hold the server without asking anything go: a request head not read
//! within 32 s (HTTP/1.1, as upstream's `ReadHeaderTimeout`), and a connection without a
//! request in flight for 90 s (as upstream's idle timeout; this also ends HTTP/2
//! connections that trickle bytes without ever completing a request).
//!
//! Shutdown, once `shutdown` resolves: no new connections; HTTP/2 connections get a GOAWAY
//! and HTTP/1.1 ones close after their current request; requests in flight get up to
//! `Limits::shutdown_grace` to finish. (Watches end first: the API server closes them when it
//! begins shutting down, and their clients watch again elsewhere.)

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// Who the client is: proved with its certificate (or, impersonated, who it acts as).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
    pub uid: String,
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// The bounds of the listener.
#[derive(Clone, Debug)]
pub struct Limits {
    pub handshake_timeout: Duration,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_client: usize,
    /// How long requests in flight may take to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(32),
            idle_timeout: Duration::from_secs(90),
            max_connections: 65_536,
            max_connections_per_client: 16_384,
            shutdown_grace: Duration::from_secs(60),
        }
    }
}

/// Open connections by client address.
#[derive(Default)]
struct Clients(Mutex<HashMap<IpAddr, usize>>);

/// One client's connection, counted until it is dropped.
struct ClientSlot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    fn take(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<ClientSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Requests in flight on one connection, and since when none has been.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    /// Bumped whenever a request ends: an idle period starts over.
    ended: AtomicUsize,
}

/// A request in flight, until its response body is done or dropped.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: &Arc<Activity>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::AcqRel);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Resolves once the connection has had no request in flight for `idle`.
async fn idle_for(activity: Arc<Activity>, idle: Duration) {
    let tick = (idle / 4).max(Duration::from_millis(100));
    let mut quiet_since = tokio::time::Instant::now();
    let mut seen = activity.ended.load(Ordering::Acquire);
    loop {
        tokio::time::sleep(tick).await;
        let ended = activity.ended.load(Ordering::Acquire);
        if activity.in_flight.load(Ordering::Acquire) > 0 || ended != seen {
            seen = ended;
            quiet_since = tokio::time::Instant::now();
            continue;
        }
        if quiet_since.elapsed() >= idle {
            return;
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()>,
    limits: Limits,
) {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(Clients::default());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // Requests may carry up to 1 MiB of headers and URI, as upstream's `MaxHeaderBytes`.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(1 << 20);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Out of file descriptors, most likely: give connections time to close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: too many connections");
            continue;
        };
        let Some(slot) = clients.take(peer.ip(), limits.max_connections_per_client) else {
            tracing::debug!(%peer, "connection refused: too many connections from this client");
            continue;
        };
        let (acceptor, app, builder) = (acceptor.clone(), app.clone(), builder.clone());
        let watcher = graceful.watcher();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _counted = (permit, slot);
            let _ = tcp.set_nodelay(true);
            let tls =
                match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
                };
            let user = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(auth::pki::client_identity)
                .map(|(name, groups)| User {
                    name,
                    groups,
                    ..Default::default()
                });
            let activity = Arc::new(Activity::default());
            let busy = activity.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    if let Some(user) = &user {
                        req.extensions_mut().insert(user.clone());
                    }
                    req.extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    let guard = Busy::new(&busy);
                    let response = app.clone().oneshot(req.map(axum::body::Body::new));
                    async move {
                        // Busy until the body is sent (a watch, a streamed list).
                        let response = response.await?;
                        Ok::<_, std::convert::Infallible>(
                            response.map(|body| crate::http::body::guarded(body, guard)),
                        )
                    }
                },
            );
            let connection =
                watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(tls), service));
            tokio::select! {
                result = connection => if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                _ = idle_for(activity, limits.idle_timeout) => {
                    tracing::debug!(%peer, "idle connection closed");
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period; stopping");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_bounded_and_counted_down() {
        let clients = Arc::new(Clients::default());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let a = clients.take(ip, 2).unwrap();
        let _b = clients.take(ip, 2).unwrap();
        assert!(clients.take(ip, 2).is_none());
        drop(a);
        assert!(clients.take(ip, 2).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn connections_go_idle_only_without_requests() {
        let activity = Arc::new(Activity::default());
        let busy = Busy::new(&activity);
        let idle = tokio::spawn(idle_for(activity.clone(), Duration::from_secs(90)));
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert!(!idle.is_finished(), "a request is in flight");
        drop(busy);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!idle.is_finished());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(idle.is_finished());
    }
}
