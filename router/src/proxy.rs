//! One HTTP request through the router: its route by host and longest path, the plain-HTTP
//! policy of TLS routes (redirect, allow, or the 503 page), an endpoint by sticky cookie or the
//! route's balance, upstream's forwarded headers, the request sent on a pooled connection
//! (another endpoint tried when one cannot be reached), the cookie set, upgrades spliced.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::annotations::{self, Forwarded};
use crate::body::Body;
use crate::limits::Tracked;
use crate::metrics::Metrics;
use crate::pool::Outgoing;
use crate::pool::{ConnectError, Pool, Returning};
use crate::stats;
use crate::table::{Current, Entry, Insecure, Termination};

/// How long a backend has to send its response head (HAProxy's `timeout server`), unless
/// the route's `timeout` annotation says otherwise.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an endpoint that could not be reached is passed over.
const DOWN_FOR_MS: u64 = 5_000;
/// Endpoints tried for one request (HAProxy's `option redispatch`).
const ATTEMPTS: usize = 3;

/// The connection a request came on, with what its requests' forwarded headers say of it
/// (made once per connection).
#[derive(Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    /// TLS was terminated here (edge or reencrypt).
    pub tls: bool,
    /// `X-Forwarded-For`, `X-Forwarded-Port`, `X-Forwarded-Proto`.
    forwarded_for: HeaderValue,
    forwarded_port: HeaderValue,
    proto: &'static str,
    /// `Forwarded`'s `for=` (an IPv6 address quoted and bracketed).
    forwarded_node: String,
}

impl Conn {
    pub fn new(peer: SocketAddr, local_port: u16, tls: bool) -> Conn {
        let ip = peer.ip();
        let forwarded_node = match ip {
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("\"[{ip}]\""),
        };
        Conn {
            peer,
            tls,
            forwarded_for: ip_text(ip),
            forwarded_port: HeaderValue::from(local_port),
            proto: if tls { "https" } else { "http" },
            forwarded_node,
        }
    }
}

fn ip_text(ip: std::net::IpAddr) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(ip.to_string()))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A request the route's allow list or connection limits refuse: the connection is closed
/// without an answer, as HAProxy's `tcp-request content reject`.
#[derive(Debug, thiserror::Error)]
#[error("refused by the route's allow list or connection limits")]
pub struct Rejected;

pub struct Proxy {
    pub table: Current,
    pub pool: Arc<Pool>,
    pub metrics: Arc<Metrics>,
}

fn unavailable() -> Response<Body> {
    page_response(crate::page::unavailable())
}

fn page_response(page: Response<Bytes>) -> Response<Body> {
    let (parts, body) = page.into_parts();
    Response::from_parts(parts, Body::full(body))
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = code;
    response
}

impl Proxy {
    pub async fn serve(
        self: Arc<Self>,
        req: Request<Incoming>,
        conn: Arc<Conn>,
        tracked: Arc<Tracked>,
    ) -> Result<Response<Body>, Rejected> {
        self.metrics.requests.fetch_add(1, Ordering::Relaxed);
        let response = self.route(req, &conn, &tracked).await?;
        if response.status().is_server_error() {
            self.metrics.errors.fetch_add(1, Ordering::Relaxed);
        }
        Ok(response)
    }

    async fn route(
        &self,
        req: Request<Incoming>,
        conn: &Conn,
        tracked: &Tracked,
    ) -> Result<Response<Body>, Rejected> {
        let host = host_of(&req);
        let table = self.table.get();
        let Some(entry) = table
            .lookup(host.to_str().unwrap_or_default(), req.uri().path())
            .cloned()
        else {
            return Ok(unavailable());
        };
        drop(table);
        match (conn.tls, entry.termination, entry.insecure) {
            (false, Termination::None, _) | (false, _, Insecure::Allow) => {}
            (false, _, Insecure::Redirect) => return Ok(redirect(&host, &req)),
            (false, _, _) => return Ok(unavailable()),
            (true, Termination::Edge | Termination::Reencrypt, _) => {}
            (true, _, _) => return Ok(unavailable()),
        }
        // The backend's `tcp-request content` rules: allow list, then connection limits.
        let ip = conn.peer.ip();
        if !entry.policy.allows(ip) {
            return Err(Rejected);
        }
        if let Some(limiter) = &entry.limiter
            && !tracked.admit(limiter, ip)
        {
            return Err(Rejected);
        }
        let now = crate::table::now_ms();
        let response = self.forward(req, conn, host, &entry, now).await;
        entry.stats.counters.responded(response.status().as_u16());
        Ok(response)
    }

    async fn forward(
        &self,
        mut req: Request<Incoming>,
        conn: &Conn,
        host: HeaderValue,
        entry: &Arc<Entry>,
        now: u64,
    ) -> Response<Body> {
        let sticky = entry
            .cookie_name
            .as_deref()
            .and_then(|name| cookie_value(req.headers(), name));
        let upgrade = is_upgrade(req.headers()).then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        prepare_headers(&mut parts.headers, &host, conn, entry, upgrade.is_some());
        parts.uri = backend_uri(&parts.uri, entry);
        parts.version = hyper::Version::HTTP_11;
        let bytes_in = stats::request_bytes(&parts, &body);
        let mut request = Request::from_parts(parts, Body::Incoming(body));
        let backend = &entry.backend;
        for _ in 0..ATTEMPTS {
            let Some(i) = backend.pick(sticky.as_deref(), conn.peer, now) else {
                return unavailable();
            };
            let endpoint = &backend.endpoints[i];
            let (tls, trust) = match &endpoint.upstream {
                Some(upstream) => (Some(&upstream.tls), upstream.trust),
                None => (None, 0),
            };
            let mut sender = match self.pool.get(endpoint.addr, tls, trust).await {
                Ok(sender) => sender,
                Err(failed) => {
                    entry.stats.counters.connection_error();
                    endpoint.stats.counters.connection_error();
                    if let ConnectError::Untrusted(_) = failed {
                        self.metrics
                            .untrusted_backend(&entry.namespace, &entry.name);
                    }
                    endpoint
                        .down_until
                        .store(now + DOWN_FOR_MS, Ordering::Relaxed);
                    continue;
                }
            };
            endpoint.active.fetch_add(1, Ordering::Relaxed);
            let timeout = entry.policy.timeout.unwrap_or(SERVER_TIMEOUT);
            let started = Instant::now();
            let sent = tokio::time::timeout(timeout, sender.try_send_request(request)).await;
            endpoint.active.fetch_sub(1, Ordering::Relaxed);
            let server = &endpoint.stats.counters;
            let response = match sent {
                Err(_) => {
                    server.sent(bytes_in);
                    server.responded(StatusCode::GATEWAY_TIMEOUT.as_u16());
                    return page_response(crate::page::gateway_timeout());
                }
                Ok(Ok(response)) => response,
                Ok(Err(mut failed)) => match failed.take_message() {
                    // Not sent (the pooled connection had closed): try again.
                    Some(unsent) => {
                        request = unsent;
                        continue;
                    }
                    None => {
                        server.sent(bytes_in);
                        return status(StatusCode::BAD_GATEWAY);
                    }
                },
            };
            let took = started.elapsed();
            for counters in [server, &entry.stats.counters] {
                counters.sent(bytes_in);
                counters.took(took);
            }
            server.responded(response.status().as_u16());
            let set_cookie = match (&entry.cookie_name, &sticky) {
                (Some(name), s) if s.as_deref() != Some(endpoint.cookie.as_str()) => {
                    Some(set_cookie(name, &endpoint.cookie, entry.secure_cookie))
                }
                _ => None,
            };
            let back = (endpoint.addr, trust);
            let out = Outgoing::new(entry.clone(), i);
            return self.respond(response, sender, back, (entry, out), upgrade, set_cookie);
        }
        unavailable()
    }

    fn respond(
        &self,
        mut response: Response<Incoming>,
        sender: hyper::client::conn::http1::SendRequest<Body>,
        (addr, trust): (SocketAddr, u64),
        (entry, mut out): (&Entry, Outgoing),
        upgrade: Option<hyper::upgrade::OnUpgrade>,
        set_cookie: Option<HeaderValue>,
    ) -> Response<Body> {
        if let (Some(hsts), Termination::Edge | Termination::Reencrypt) =
            (&entry.policy.hsts, entry.termination)
            && let Ok(value) = HeaderValue::from_str(hsts)
        {
            response
                .headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, value);
        }
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client) = upgrade
        {
            let server = hyper::upgrade::on(&mut response);
            let idle = entry
                .policy
                .timeout_tunnel
                .unwrap_or(crate::tunnel::DEFAULT_TIMEOUT);
            tokio::spawn(async move {
                if let (Ok(client), Ok(server)) = (client.await, server.await) {
                    crate::tunnel::splice(TokioIo::new(client), TokioIo::new(server), idle).await;
                }
            });
            let (parts, _) = response.into_parts();
            return Response::from_parts(parts, Body::Empty);
        }
        if let Some(cookie) = set_cookie {
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookie);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
        }
        out.add(stats::response_head_bytes(&response));
        let (parts, body) = response.into_parts();
        let body = Returning::new(body, self.pool.clone(), addr, trust, sender, out);
        Response::from_parts(parts, Body::Returning(body))
    }
}

/// The request's host: its `Host` header (or the authority of an absolute URI), in lower
/// case (copied only when it was not).
fn host_of<B>(req: &Request<B>) -> HeaderValue {
    let given = match req.headers().get(header::HOST) {
        Some(host) => host.clone(),
        None => req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            .unwrap_or_else(|| HeaderValue::from_static("")),
    };
    match given.as_bytes().iter().any(u8::is_ascii_uppercase) {
        true => HeaderValue::from_bytes(&given.as_bytes().to_ascii_lowercase()).unwrap_or(given),
        false => given,
    }
}

fn redirect<B>(host: &HeaderValue, req: &Request<B>) -> Response<Body> {
    let target = format!(
        "https://{}{}",
        host.to_str().unwrap_or_default(),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let mut response = status(StatusCode::FOUND);
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&target) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// The value of cookie `name` in the request.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(name: &str, value: &str, secure: bool) -> HeaderValue {
    let text = match secure {
        true => format!("{name}={value}; path=/; HttpOnly; Secure; SameSite=None"),
        false => format!("{name}={value}; path=/; HttpOnly"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

const HOP_BY_HOP: [HeaderName; 5] = [
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRANSFER_ENCODING,
];

/// The headers the backend gets: hop-by-hop ones and `Proxy` dropped, the host in lower
/// case, the sticky cookie removed (`indirect`), and upstream's forwarded headers as the
/// route's `set-forwarded-headers` says (appended unless annotated).
fn prepare_headers(
    headers: &mut HeaderMap,
    host: &HeaderValue,
    conn: &Conn,
    entry: &Entry,
    upgrade: bool,
) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if !upgrade {
        headers.remove(header::CONNECTION);
    }
    headers.insert(header::HOST, host.clone());
    if let Some(name) = &entry.cookie_name {
        strip_cookie(headers, name);
    }
    let mode = entry.policy.forwarded;
    if mode == Forwarded::Never {
        return;
    }
    let mut add = |name: HeaderName, value: HeaderValue| match mode {
        Forwarded::Append => drop(headers.append(name, value)),
        Forwarded::Replace => drop(headers.insert(name, value)),
        Forwarded::IfNone if !headers.contains_key(&name) => drop(headers.insert(name, value)),
        Forwarded::IfNone | Forwarded::Never => {}
    };
    let host_text = host.to_str().unwrap_or_default();
    add(X_FORWARDED_FOR, conn.forwarded_for.clone());
    add(X_FORWARDED_HOST, host.clone());
    add(X_FORWARDED_PORT, conn.forwarded_port.clone());
    add(X_FORWARDED_PROTO, HeaderValue::from_static(conn.proto));
    let forwarded = format!(
        "for={};host={host_text};proto={}",
        conn.forwarded_node, conn.proto
    );
    if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(forwarded)) {
        add(header::FORWARDED, value);
    }
}

/// The request's path and query for the backend, the path rewritten under `rewrite-target`.
fn backend_uri(uri: &hyper::Uri, entry: &Entry) -> hyper::Uri {
    if entry.policy.rewrite_target.is_none() && uri.scheme().is_none() && uri.authority().is_none()
    {
        // Already the path and query alone, as most requests come: kept as it is.
        return uri.clone();
    }
    let path = uri.path();
    let path = match &entry.policy.rewrite_target {
        Some(target) => annotations::rewrite_path(&entry.path, target, path),
        None => path.to_string(),
    };
    let text = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    text.parse()
        .unwrap_or_else(|_| hyper::Uri::from_static("/"))
}

fn strip_cookie(headers: &mut HeaderMap, name: &str) {
    let values: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect();
    if !values.iter().any(|v| v.contains(name)) {
        return;
    }
    headers.remove(header::COOKIE);
    for value in values {
        let kept: Vec<&str> = value
            .split(';')
            .map(str::trim)
            .filter(|pair| pair.split_once('=').is_none_or(|(k, _)| k != name))
            .collect();
        if !kept.is_empty()
            && let Ok(v) = HeaderValue::from_str(&kept.join("; "))
        {
            headers.append(header::COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sticky_cookie_is_read_and_not_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; route=abc; b=2"),
        );
        assert_eq!(cookie_value(&headers, "route").as_deref(), Some("abc"));
        strip_cookie(&mut headers, "route");
        assert_eq!(headers[header::COOKIE], "a=1; b=2");
    }

    #[test]
    fn upgrades_are_recognised() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        assert!(is_upgrade(&headers));
    }
}
