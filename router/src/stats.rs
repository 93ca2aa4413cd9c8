//! Per-route and per-server counters under the names of OpenShift's HAProxy exporter
//! (`haproxy_backend_*` with `backend`, `namespace`, `route`; `haproxy_server_*` with
//! `server`, `namespace`, `route`, `pod`, `service`). Each route's entry and each of its
//! endpoints hold their counters, found once when the entry is built, so that a request only
//! adds to atomics; the counters outlive rebuilt entries (a route's are kept while any table
//! or build still holds them) and are forgotten at the first scrape after the route is gone.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::{Response, http};

use crate::model::Termination;

/// The responses' classes as HAProxy counts them (`hrsp_1xx` .. `hrsp_5xx`, `hrsp_other`).
const CODES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
/// Servers reported at most (upstream's exporter's default `ServerThreshold`).
const SERVER_THRESHOLD: usize = 500;
/// How many of the last response times the average covers (HAProxy's sliding window).
const WINDOW: u64 = 1024;

/// What a backend (a route) or a server (an endpoint of one) counts.
#[derive(Default, Debug)]
pub struct Counters {
    /// Requests sent (HAProxy's sessions, `stot`).
    sessions: AtomicU64,
    responses: [AtomicU64; 6],
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// Connections that could not be made (`econ`).
    connection_errors: AtomicU64,
    /// Response times in microseconds, a sliding sum over the last `WINDOW` (HAProxy's
    /// `swrate`), and how many were added (up to `WINDOW` they are averaged exactly).
    latency_sum: AtomicU64,
    latency_samples: AtomicU64,
}

impl Counters {
    /// A request sent, with its head and body bytes.
    pub fn sent(&self, bytes: u64) {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A response's time to come.
    pub fn took(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX / WINDOW);
        let before = self.latency_samples.fetch_add(1, Ordering::Relaxed);
        // One request's update may be lost to another's: an average, not an account.
        let sum = self.latency_sum.load(Ordering::Relaxed);
        let sum = match before < WINDOW {
            true => sum.saturating_add(micros),
            false => (sum - sum / WINDOW).saturating_add(micros),
        };
        self.latency_sum.store(sum, Ordering::Relaxed);
    }

    /// A response (its status).
    pub fn responded(&self, status: u16) {
        let class = match status {
            100..=599 => usize::from(status / 100 - 1),
            _ => 5,
        };
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    pub fn bytes_in(&self, bytes: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn bytes_out(&self, bytes: u64) {
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn connection_error(&self) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The average of the last response times, in milliseconds.
    fn average_ms(&self) -> f64 {
        let n = self.latency_samples.load(Ordering::Relaxed).min(WINDOW);
        match n {
            0 => 0.0,
            n => self.latency_sum.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0,
        }
    }
}

/// A route's counters (HAProxy's backend) and its servers', which are few: kept sorted by
/// their ids, found by a binary search when an entry is built. Their labels are read from
/// the names they are kept under when rendered, so that 10,000 routes cost little memory.
#[derive(Debug, Default)]
pub struct RouteStats {
    pub counters: Counters,
    servers: Mutex<Vec<Arc<ServerStats>>>,
}

/// An endpoint's counters, under upstream's server name
/// (`pod:<pod>:<service>:<port name>:<ip>:<port>` or `ept:<service>:<port name>:<ip>:<port>`).
#[derive(Debug)]
pub struct ServerStats {
    id: Box<str>,
    pub counters: Counters,
}

impl RouteStats {
    /// The counters of the server with upstream's id `id`.
    pub fn server(&self, id: &str) -> Arc<ServerStats> {
        let mut servers = self.servers.lock().unwrap_or_else(|p| p.into_inner());
        match servers.binary_search_by(|s| (*s.id).cmp(id)) {
            Ok(i) => servers[i].clone(),
            Err(i) => {
                let server = Arc::new(ServerStats {
                    id: id.into(),
                    counters: Counters::default(),
                });
                servers.insert(i, server.clone());
                server
            }
        }
    }
}

/// `(pod, service, server)` of a server's id as upstream's exporter parses it (the address
/// is what follows the port's name, an IPv6 address's colons included).
fn server_labels(id: &str) -> (&str, &str, &str) {
    match id.split_once(':') {
        Some(("pod", rest)) => match rest.splitn(4, ':').collect::<Vec<_>>().as_slice() {
            [pod, service, _port, server] => (pod, service, server),
            _ => ("", "", id),
        },
        Some(("ept", rest)) => match rest.splitn(3, ':').collect::<Vec<_>>().as_slice() {
            [service, _port, server] => ("", service, server),
            _ => ("", "", id),
        },
        _ => ("", "", id),
    }
}

/// Upstream's backend name prefixes and the `backend` label of each.
const KINDS: [(&str, &str); 4] = [
    ("be_http", "http"),
    ("be_edge_http", "https-edge"),
    ("be_secure", "https"),
    ("be_tcp", "tcp"),
];

/// Every route's counters, by upstream's backend name (`be_http:<namespace>:<route>` ...).
#[derive(Default, Debug)]
pub struct Registry(Mutex<HashMap<Arc<str>, Arc<RouteStats>>>);

impl Registry {
    /// The counters of a route served with `termination` (the same ones as the route's
    /// previous entry's, unless its termination changed).
    pub fn route(&self, namespace: &str, route: &str, termination: Termination) -> Arc<RouteStats> {
        let prefix = match termination {
            Termination::None => KINDS[0].0,
            Termination::Edge => KINDS[1].0,
            Termination::Reencrypt => KINDS[2].0,
            Termination::Passthrough => KINDS[3].0,
        };
        let key = format!("{prefix}:{namespace}:{route}");
        let mut routes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        routes.entry(key.into()).or_default().clone()
    }

    /// The counters in the Prometheus text format, after forgetting those no entry holds:
    /// rendered a chunk at a time as it is read (a scrape of 10,000 routes is some ten
    /// megabytes of text, which would otherwise be held whole, and kept by the allocator).
    pub fn render(&self) -> Rendering {
        let mut routes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        routes.retain(|_, stats| Arc::strong_count(stats) > 1);
        let mut backends: Vec<(Arc<str>, Arc<RouteStats>)> =
            routes.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        drop(routes);
        backends.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Servers are labelled only when they are to be rendered: up to upstream's threshold.
        let (mut servers, mut server_count) = (Vec::new(), 0);
        for (key, stats) in &backends {
            let mut own = stats.servers.lock().unwrap_or_else(|p| p.into_inner());
            own.retain(|server| Arc::strong_count(server) > 1);
            server_count += own.len();
            if server_count > SERVER_THRESHOLD {
                servers = Vec::new();
                continue;
            }
            let (_, namespace, route) = backend_labels(key);
            for server in own.iter() {
                let (pod, service, address) = server_labels(&server.id);
                servers.push((
                    format!(
                        "server=\"{}\",namespace=\"{namespace}\",route=\"{route}\",pod=\"{}\",service=\"{}\"",
                        label(address),
                        label(pod),
                        label(service)
                    ),
                    server.clone(),
                ));
            }
        }
        Rendering {
            backends,
            servers,
            server_count,
            part: 0,
            row: 0,
        }
    }
}

/// `(backend, namespace, route)` labels of a route's key `<prefix>:<namespace>:<route>`
/// (names never hold a colon).
fn backend_labels(key: &str) -> (&'static str, String, String) {
    let mut parts = key.splitn(3, ':');
    let (prefix, namespace, route) = (
        parts.next().unwrap_or_default(),
        label(parts.next().unwrap_or_default()),
        label(parts.next().unwrap_or_default()),
    );
    let kind = KINDS
        .iter()
        .find(|(p, _)| *p == prefix)
        .map_or("other", |(_, k)| k);
    (kind, namespace, route)
}

/// How much text a chunk of a rendering holds before it is handed out.
const CHUNK: usize = 32 * 1024;

/// The counters as they were when a scrape began, rendered chunk by chunk: the backends'
/// families, the server threshold's gauge, then (up to the threshold) the servers' families.
pub struct Rendering {
    backends: Vec<(Arc<str>, Arc<RouteStats>)>,
    /// Each server's labels; none above the threshold.
    servers: Vec<(String, Arc<ServerStats>)>,
    server_count: usize,
    /// Which part is being written (a family of one scope, or the gauge) ...
    part: usize,
    /// ... and in it, the next row (0: its head).
    row: usize,
}

impl Rendering {
    /// Writes the next piece (a part's head or one of its rows); false when all is written.
    fn step(&mut self, text: &mut String) -> bool {
        let families = FAMILIES.len();
        let (scope, rows, family) = match self.part {
            p if p < families => ("backend", self.backends.len(), &FAMILIES[p]),
            p if p == families => {
                // Above upstream's threshold, servers are not reported (scrapes of 10,000
                // routes stay a few megabytes).
                let name = "haproxy_exporter_server_threshold";
                let _ = writeln!(
                    text,
                    "# HELP {name} Number of servers tracked and the current threshold value.\n\
                     # TYPE {name} gauge\n{name}{{type=\"current\"}} {}\n{name}{{type=\"limit\"}} {SERVER_THRESHOLD}",
                    self.server_count
                );
                self.part += 1;
                if self.server_count > SERVER_THRESHOLD {
                    self.part = usize::MAX;
                }
                return true;
            }
            p if p <= 2 * families => ("server", self.servers.len(), &FAMILIES[p - families - 1]),
            _ => return false,
        };
        match self.row {
            0 => family.head(text, scope),
            row if scope == "backend" => {
                let (key, stats) = &self.backends[row - 1];
                let (kind, namespace, route) = backend_labels(key);
                let labels =
                    format!("backend=\"{kind}\",namespace=\"{namespace}\",route=\"{route}\"");
                family.row(text, scope, &labels, &stats.counters);
            }
            row => {
                let (labels, server) = &self.servers[row - 1];
                family.row(text, scope, labels, &server.counters);
            }
        }
        self.row += 1;
        if self.row > rows {
            (self.part, self.row) = (self.part + 1, 0);
        }
        true
    }
}

impl Iterator for Rendering {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let mut text = String::with_capacity(CHUNK + 1024);
        while text.len() < CHUNK && self.step(&mut text) {}
        (!text.is_empty()).then_some(text)
    }
}

/// A metric family of one scope (`haproxy_<scope>_<name>`): each counter, the responses by
/// class, the average latency.
enum Family {
    Counter(&'static str, &'static str, fn(&Counters) -> &AtomicU64),
    Responses,
    Latency,
}

const FAMILIES: [Family; 6] = [
    Family::Counter("connections_total", "Total number of connections.", |c| {
        &c.sessions
    }),
    Family::Counter("bytes_in_total", "Current total of incoming bytes.", |c| {
        &c.bytes_in
    }),
    Family::Counter("bytes_out_total", "Current total of outgoing bytes.", |c| {
        &c.bytes_out
    }),
    Family::Counter(
        "connection_errors_total",
        "Total of connection errors.",
        |c| &c.connection_errors,
    ),
    Family::Responses,
    Family::Latency,
];

impl Family {
    fn head(&self, text: &mut String, scope: &str) {
        let _ = match self {
            Family::Counter(name, help, _) => writeln!(
                text,
                "# HELP haproxy_{scope}_{name} {help}\n# TYPE haproxy_{scope}_{name} counter"
            ),
            Family::Responses => writeln!(
                text,
                "# HELP haproxy_{scope}_http_responses_total Total of HTTP responses.\n\
                 # TYPE haproxy_{scope}_http_responses_total counter"
            ),
            Family::Latency => writeln!(
                text,
                "# HELP haproxy_{scope}_http_average_response_latency_milliseconds Average \
                 response latency of the last {WINDOW} requests in milliseconds.\n\
                 # TYPE haproxy_{scope}_http_average_response_latency_milliseconds gauge"
            ),
        };
    }

    fn row(&self, text: &mut String, scope: &str, labels: &str, c: &Counters) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        match self {
            Family::Counter(name, _, field) => {
                let _ = writeln!(
                    text,
                    "haproxy_{scope}_{name}{{{labels}}} {}",
                    load(field(c))
                );
            }
            Family::Responses => {
                for (code, count) in CODES.iter().zip(&c.responses) {
                    let _ = writeln!(
                        text,
                        "haproxy_{scope}_http_responses_total{{{labels},code=\"{code}\"}} {}",
                        load(count)
                    );
                }
            }
            Family::Latency => {
                let _ = writeln!(
                    text,
                    "haproxy_{scope}_http_average_response_latency_milliseconds{{{labels}}} {:.3}",
                    c.average_ms()
                );
            }
        }
    }
}

/// A request's size as the backend gets it: its request line and headers, and its body's
/// length when known (else what is known of it).
pub fn request_bytes(parts: &http::request::Parts, body: &Incoming) -> u64 {
    use http_body::Body as _;
    let line = parts.method.as_str().len()
        + parts.uri.path_and_query().map_or(1, |p| p.as_str().len())
        + " HTTP/1.1\r\n".len()
        + 1;
    head_bytes(line, &parts.headers) + body.size_hint().lower()
}

/// A response head's size (its body is counted as it passes).
pub fn response_head_bytes<B>(response: &Response<B>) -> u64 {
    let reason = response.status().canonical_reason().unwrap_or_default();
    head_bytes("HTTP/1.1 200 \r\n".len() + reason.len(), response.headers())
}

fn head_bytes(line: usize, headers: &HeaderMap) -> u64 {
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    (line + fields + 2) as u64
}

/// A label value escaped as the text format wants it.
pub fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_labelled_as_upstream_parses_their_names() {
        assert_eq!(
            server_labels("pod:web-1:web:http:10.0.0.5:8080"),
            ("web-1", "web", "10.0.0.5:8080")
        );
        assert_eq!(
            server_labels("ept:web:http:::1:8080"),
            ("", "web", "::1:8080")
        );
        assert_eq!(server_labels("odd"), ("", "", "odd"));
    }

    #[test]
    fn the_average_latency_covers_the_last_requests() {
        let c = Counters::default();
        assert_eq!(c.average_ms(), 0.0);
        c.took(Duration::from_millis(2));
        c.took(Duration::from_millis(4));
        assert!((c.average_ms() - 3.0).abs() < 0.01, "{}", c.average_ms());
        for _ in 0..10 * WINDOW {
            c.took(Duration::from_millis(10));
        }
        assert!((c.average_ms() - 10.0).abs() < 0.1, "{}", c.average_ms());
    }

    #[test]
    fn many_routes_are_rendered_in_chunks_of_whole_lines() {
        let registry = Registry::default();
        let held: Vec<_> = (0..2000)
            .map(|i| registry.route("ns", &format!("r{i}"), Termination::None))
            .collect();
        let chunks: Vec<String> = registry.render().collect();
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        assert!(
            chunks
                .iter()
                .all(|c| c.len() < CHUNK + 1024 && c.ends_with('\n'))
        );
        let text = chunks.concat();
        let rows = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(rows("haproxy_backend_connections_total{"), held.len());
        assert_eq!(
            rows("haproxy_backend_http_responses_total{"),
            6 * held.len()
        );
        assert_eq!(rows("# TYPE haproxy_backend_"), FAMILIES.len());
        assert_eq!(rows("haproxy_server_"), 0);
        // Sorted by the routes' keys.
        let first = text.find("route=\"r0\"").unwrap();
        assert!(first < text.find("route=\"r1\"").unwrap());
        assert!(text.find("route=\"r10\"").unwrap() < text.find("route=\"r2\"").unwrap());
    }

    #[test]
    fn counters_are_rendered_per_route_and_server_and_forgotten_when_unheld() {
        let registry = Registry::default();
        let route = registry.route("ns", "web", Termination::Edge);
        let server = route.server("pod:web-1:web:http:10.0.0.5:8080");
        route.counters.sent(100);
        server.counters.sent(100);
        route.counters.responded(200);
        route.counters.took(Duration::from_millis(1));
        server.counters.responded(503);
        server.counters.took(Duration::from_millis(1));
        route.counters.bytes_out(42);
        // The same counters for the same route and server again.
        assert!(Arc::ptr_eq(
            &route,
            &registry.route("ns", "web", Termination::Edge)
        ));
        let text: String = registry.render().collect();
        let backend = "backend=\"https-edge\",namespace=\"ns\",route=\"web\"";
        let labels =
            "server=\"10.0.0.5:8080\",namespace=\"ns\",route=\"web\",pod=\"web-1\",service=\"web\"";
        for line in [
            "# TYPE haproxy_backend_http_responses_total counter".to_string(),
            format!("haproxy_backend_http_responses_total{{{backend},code=\"2xx\"}} 1"),
            format!("haproxy_backend_bytes_in_total{{{backend}}} 100"),
            format!("haproxy_backend_bytes_out_total{{{backend}}} 42"),
            format!("haproxy_backend_connections_total{{{backend}}} 1"),
            format!("haproxy_server_http_responses_total{{{labels},code=\"5xx\"}} 1"),
            format!("haproxy_server_http_average_response_latency_milliseconds{{{labels}}} 1.000"),
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line} not in\n{text}");
        }
        assert!(text.contains("haproxy_exporter_server_threshold{type=\"current\"} 1\n"));
        // Beyond the threshold, servers are left out.
        let many: Vec<_> = (0..=SERVER_THRESHOLD)
            .map(|i| route.server(&format!("ept:web:http:10.0.{}.{}:80", i / 256, i % 256)))
            .collect();
        let text: String = registry.render().collect();
        assert!(!text.contains("haproxy_server_"), "{text}");
        assert!(text.contains("haproxy_backend_connections_total{"));
        drop(many);
        drop(server);
        let text: String = registry.render().collect();
        assert!(!text.contains("server=\""), "{text}");
        drop(route);
        let text: String = registry.render().collect();
        assert!(!text.contains("route=\"web\""), "{text}");
    }
}
