//! The route table: an immutable snapshot of what the router serves, built from the watches
//! (`build.rs`) and swapped whole, so that a request sees one consistent configuration and a
//! change never touches connections in flight; the entries of unchanged routes are shared
//! between snapshots. Hosts map to their routes, longest path first;
//! passthrough hosts and certificates by server name.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use rustls::sign::CertifiedKey;

pub use crate::annotations::Balance;
use crate::annotations::Policy;
use crate::limits::Limiter;
pub use crate::model::Termination;
use crate::stats::{RouteStats, ServerStats};

/// What a plain-HTTP request to a TLS route gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insecure {
    /// The 503 page, as for an unknown host.
    None,
    Allow,
    /// 302 to `https://`.
    Redirect,
}

/// One endpoint of a route's backend.
#[derive(Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub weight: u32,
    /// The sticky cookie's value naming this endpoint (`md5hex(endpoint id)`).
    pub cookie: String,
    /// Requests in flight (for leastconn).
    pub active: AtomicUsize,
    /// Until when (on the router's clock, `now_ms`) this endpoint is skipped after a failure.
    pub down_until: AtomicU64,
    /// Reencrypt: how to reach it over TLS (shared by the endpoints of one service).
    pub upstream: Option<Arc<Upstream>>,
    /// Its counters (HAProxy's server's).
    pub stats: Arc<ServerStats>,
}

/// How a reencrypt route reaches one of its services over TLS.
#[derive(Debug)]
pub struct Upstream {
    pub tls: Arc<rustls::ClientConfig>,
    /// Which pooled connections it may use: a non-zero fingerprint of what the backend was
    /// verified against (the destination CA; or the service CA and the service's name), so
    /// that a connection verified for one trust never serves another.
    pub trust: u64,
}

/// A route's servers and how requests are spread over them.
#[derive(Debug)]
pub struct Backend {
    pub endpoints: Vec<Endpoint>,
    /// Smooth weighted round-robin order (indices into `endpoints`).
    pub schedule: Vec<u32>,
    pub next: AtomicUsize,
    pub balance: Balance,
}

/// One served route.
#[derive(Debug)]
pub struct Entry {
    /// The route's namespace and name (what its metrics are labelled with).
    pub namespace: String,
    pub name: String,
    pub path: String,
    pub termination: Termination,
    pub insecure: Insecure,
    pub backend: Backend,
    /// The sticky cookie's name; `None` when cookies are disabled.
    pub cookie_name: Option<String>,
    /// Cookies marked `Secure; SameSite=None` (TLS routes not allowing plain HTTP).
    pub secure_cookie: bool,
    /// What the route's annotations change.
    pub policy: Policy,
    /// The route's connection limits (kept across tables, so a change does not reset them).
    pub limiter: Option<Arc<Limiter>>,
    /// Its counters (HAProxy's backend's), kept across tables too.
    pub stats: Arc<RouteStats>,
}

impl Entry {
    /// Whether `path` is under this route's path: `/a` serves `/a` and `/a/...`, not `/ab`;
    /// `/a/` serves everything starting so; no path or `/` serves everything.
    pub fn serves(&self, path: &str) -> bool {
        let p = self.path.as_str();
        if p.is_empty() || p == "/" {
            return true;
        }
        match p.ends_with('/') {
            true => path.starts_with(p),
            false => path
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }
}

/// Its maps are persistent: a copy costs nothing and a change to it copies only the path to
/// what changed, so that a new table shares all the rest with the one it replaces.
#[derive(Clone, Default)]
pub struct Table {
    /// Host (`*.<domain>` for wildcard routes) → routes, longest path first.
    pub hosts: imbl::HashMap<String, Vec<Arc<Entry>>>,
    /// Passthrough host → route.
    pub passthrough: imbl::HashMap<String, Arc<Entry>>,
    /// Server name → the route's certificate (edge and reencrypt with their own).
    pub certificates: imbl::HashMap<String, Arc<CertifiedKey>>,
    pub routes: usize,
}

impl Table {
    /// The route serving `host` (any case, port and trailing dot ignored) and `path` on a
    /// connection that is TLS-terminated here (`tls`) or plain.
    pub fn lookup(&self, host: &str, path: &str) -> Option<&Arc<Entry>> {
        let host = normalise_host(host);
        let find = |key: &str| self.hosts.get(key)?.iter().find(|e| e.serves(path));
        find(&host).or_else(|| find(&wildcard_of(&host)?))
    }

    /// The passthrough route of a server name (its own, else its domain's wildcard).
    pub fn passthrough_for(&self, name: &str) -> Option<&Arc<Entry>> {
        by_host(&self.passthrough, name)
    }

    /// The certificate of a server name (its own, else its domain's wildcard route's).
    pub fn certificate_for(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        by_host(&self.certificates, name)
    }

    /// The router's clock in milliseconds (since its first reading): the clock of
    /// `Endpoint::down_until`, one for every table since entries outlive the table that
    /// first held them.
    pub fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// The router's clock in milliseconds (see `Table::now_ms`).
pub fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

/// `*.<domain>` of a host: the key a wildcard route serving it has (one label replaced).
fn wildcard_of(host: &str) -> Option<String> {
    host.split_once('.')
        .map(|(_, domain)| format!("*.{domain}"))
}

fn by_host<'a, V: Clone>(map: &'a imbl::HashMap<String, V>, name: &str) -> Option<&'a V> {
    let name = normalise_host(name);
    map.get(name.as_ref())
        .or_else(|| map.get(&wildcard_of(&name)?))
}

/// `Host` without port or trailing dot, in lower case (copied only when it was not).
pub fn normalise_host(host: &str) -> Cow<'_, str> {
    let without_port = match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let bare = without_port.trim_end_matches('.');
    match bare.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(bare.to_ascii_lowercase()),
        false => Cow::Borrowed(bare),
    }
}

/// The table in force; replaced whole.
#[derive(Clone, Default)]
pub struct Current(Arc<RwLock<Arc<Table>>>);

impl Current {
    pub fn get(&self) -> Arc<Table> {
        match self.0.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set(&self, table: Table) {
        let table = Arc::new(table);
        match self.0.write() {
            Ok(mut t) => *t = table,
            Err(poisoned) => *poisoned.into_inner() = table,
        }
    }
}

impl Backend {
    /// The endpoint for a request: the one its sticky cookie names, else by the balance
    /// (skipping endpoints of weight 0 and those recently failed, unless none is left).
    pub fn pick(&self, cookie: Option<&str>, client: SocketAddr, now_ms: u64) -> Option<usize> {
        if let Some(value) = cookie
            && let Some(i) = self.endpoints.iter().position(|e| e.cookie == value)
        {
            return Some(i);
        }
        if self.schedule.is_empty() {
            return None;
        }
        let up = |i: usize| self.endpoints[i].down_until.load(Ordering::Relaxed) <= now_ms;
        let n = self.schedule.len();
        let start = match self.balance {
            Balance::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % n,
            Balance::Random => rand::random_range(0..n),
            Balance::Source => {
                let hash = match client.ip() {
                    std::net::IpAddr::V4(ip) => u64::from(u32::from(ip)),
                    std::net::IpAddr::V6(ip) => u128::from(ip) as u64,
                };
                (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % n
            }
            Balance::LeastConn => {
                let best = (0..self.endpoints.len())
                    .filter(|i| self.endpoints[*i].weight > 0 && up(*i))
                    .min_by_key(|i| {
                        self.endpoints[*i].active.load(Ordering::Relaxed) * 256
                            / self.endpoints[*i].weight as usize
                    });
                if best.is_some() {
                    return best;
                }
                0
            }
        };
        (0..n)
            .map(|k| self.schedule[(start + k) % n] as usize)
            .find(|i| up(*i))
            .or(Some(self.schedule[start] as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            namespace: "ns".into(),
            name: "r".into(),
            path: path.into(),
            termination: Termination::None,
            insecure: Insecure::None,
            backend: Backend {
                endpoints: Vec::new(),
                schedule: Vec::new(),
                next: AtomicUsize::new(0),
                balance: Balance::RoundRobin,
            },
            cookie_name: None,
            secure_cookie: false,
            policy: Policy::parse(&Default::default()),
            limiter: None,
            stats: crate::stats::Registry::default().route("ns", "r", Termination::None),
        }
    }

    #[test]
    fn paths_match_as_upstreams_map_entries() {
        assert!(entry("").serves("/anything"));
        assert!(entry("/test").serves("/test"));
        assert!(entry("/test").serves("/test/a"));
        assert!(!entry("/test").serves("/testing"));
        assert!(entry("/test/").serves("/test/a"));
        assert!(!entry("/test/").serves("/test"));
    }

    #[test]
    fn wildcard_routes_serve_one_label_under_their_domain() {
        let mut table = Table::default();
        table
            .hosts
            .insert("*.apps.example".into(), vec![Arc::new(entry(""))]);
        table
            .hosts
            .insert("exact.apps.example".into(), vec![Arc::new(entry("/only"))]);
        assert!(table.lookup("Any.apps.example:80", "/").is_some());
        assert!(table.lookup("exact.apps.example", "/only").is_some());
        // The exact host's paths first, its other paths by the wildcard.
        assert!(table.lookup("exact.apps.example", "/else").is_some());
        assert!(table.lookup("a.b.apps.example", "/").is_none());
        assert!(table.lookup("apps.example", "/").is_none());
    }

    #[test]
    fn hosts_are_compared_without_port_case_or_dot() {
        assert_eq!(normalise_host("App.Example.com.:8080"), "app.example.com");
        assert_eq!(normalise_host("a.b"), "a.b");
    }
}
