//! Container probes as the kubelet's prober runs them: exec (exit code 0), httpGet (a status
//! from 200 to 399) and tcpSocket (a connection), each after its initial delay, every
//! period, with its timeout; a result flips after `successThreshold` successes or
//! `failureThreshold` failures in a row. Readiness and startup start failed, liveness
//! succeeded; until the startup probe succeeds the others do not run. Probes dial only the pod's address or loopback.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::runtime::Runtime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Startup => "Startup",
            Kind::Liveness => "Liveness",
            Kind::Readiness => "Readiness",
        }
    }
}

/// One probe of one container instance.
#[derive(Debug, Clone)]
pub struct ProbeState {
    pub kind: Kind,
    spec: Probe,
    /// The probe's current verdict.
    pub ok: bool,
    successes: i32,
    failures: i32,
    next: Option<Instant>,
}

/// What the probe of a container reaches: the pod's address, the container's runtime ID.
pub struct Target<'a> {
    pub ip: IpAddr,
    pub container_id: &'a str,
    pub container: &'a Container,
    pub runtime: &'a dyn Runtime,
}

/// The probes of a container, in the order they gate each other.
pub fn for_container(c: &Container) -> Vec<ProbeState> {
    let mut out = Vec::new();
    for (kind, probe) in [
        (Kind::Startup, &c.startup_probe),
        (Kind::Liveness, &c.liveness_probe),
        (Kind::Readiness, &c.readiness_probe),
    ] {
        if let Some(spec) = probe {
            out.push(ProbeState {
                kind,
                spec: spec.clone(),
                ok: kind == Kind::Liveness,
                successes: 0,
                failures: 0,
                next: None,
            });
        }
    }
    out
}

fn seconds(value: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(value.unwrap_or(default).max(0)).unwrap_or(0))
}

impl ProbeState {
    /// Whether the probe is due at `now` for a container running since `started`.
    pub fn due(&self, started: Instant, now: Instant) -> bool {
        match self.next {
            Some(next) => now >= next,
            None => now >= started + seconds(self.spec.initial_delay_seconds, 0),
        }
    }

    /// Records an outcome; whether the verdict changed.
    pub fn record(&mut self, success: bool, now: Instant) -> bool {
        self.next = Some(now + seconds(self.spec.period_seconds, 10).max(Duration::from_secs(1)));
        let before = self.ok;
        if success {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.spec.success_threshold.unwrap_or(1).max(1) {
                self.ok = true;
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.spec.failure_threshold.unwrap_or(3).max(1) {
                self.ok = false;
            }
        }
        before != self.ok
    }

    /// Failed `failureThreshold` times in a row (a liveness or startup probe then has the
    /// container restarted).
    pub fn failed(&self) -> bool {
        self.failures >= self.spec.failure_threshold.unwrap_or(3).max(1)
    }

    /// The grace period a liveness or startup failure kills the container with.
    pub fn termination_grace(&self) -> Option<Duration> {
        self.spec
            .termination_grace_period_seconds
            .map(|s| Duration::from_secs(u64::try_from(s.max(0)).unwrap_or(0)))
    }

    /// Runs the probe once: `Ok` with a warning for redirects, `Err` with the failure's
    /// text.
    pub async fn run(&self, target: &Target<'_>) -> Result<(), String> {
        let timeout = seconds(self.spec.timeout_seconds, 1).max(Duration::from_secs(1));
        if let Some(exec) = &self.spec.exec {
            let command = exec.command.clone().unwrap_or_default();
            return match target
                .runtime
                .exec_sync(target.container_id, &command, timeout)
                .await
            {
                Ok((0, _)) => Ok(()),
                Ok((_, output)) => Err(output.trim_end().to_string()),
                Err(e) => Err(e.0),
            };
        }
        if let Some(http) = &self.spec.http_get {
            let ip = host(http.host.as_deref(), target.ip)?;
            let port = port(&http.port, target.container)?;
            if http
                .scheme
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("HTTPS"))
            {
                return Err("HTTPS probes are not supported by this node".into());
            }
            let path = http
                .path
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".into());
            let headers: Vec<(String, String)> = http
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect();
            return match tokio::time::timeout(timeout, http_status(ip, port, &path, &headers)).await
            {
                Err(_) => Err(format!(
                    "Get \"http://{}{path}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                    join(ip, port)
                )),
                Ok(Err(e)) => Err(format!(
                    "Get \"http://{}{path}\": dial tcp {}: {e}",
                    join(ip, port),
                    join(ip, port)
                )),
                Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
                Ok(Ok(code)) => Err(format!("HTTP probe failed with statuscode: {code}")),
            };
        }
        if let Some(tcp) = &self.spec.tcp_socket {
            let ip = host(tcp.host.as_deref(), target.ip)?;
            let port = port(&tcp.port, target.container)?;
            return match tokio::time::timeout(timeout, TcpStream::connect((ip, port))).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(format!(
                    "dial tcp {}: connect: {}",
                    join(ip, port),
                    plain(&e)
                )),
                Err(_) => Err(format!("dial tcp {}: i/o timeout", join(ip, port))),
            };
        }
        Err("probe has no exec, httpGet or tcpSocket action this node runs".into())
    }
}

pub(crate) fn join(ip: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

/// The error as Go words it (`connection refused`), without Rust's OS error suffix.
pub(crate) fn plain(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

/// The probe's address: the pod's, unless a loopback or pod-network host is named.
pub(crate) fn host(named: Option<&str>, pod_ip: IpAddr) -> Result<IpAddr, String> {
    match named.filter(|h| !h.is_empty()) {
        None => Ok(pod_ip),
        Some(h) => {
            let ip: IpAddr = h
                .parse()
                .map_err(|_| format!("probe host {h:?} is not an address this node may dial"))?;
            let in_cluster = matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10 && (v4.octets()[1] & 0xfc) == 128);
            if ip.is_loopback() || in_cluster {
                Ok(ip)
            } else {
                Err(format!(
                    "probe host {h:?} is not an address this node may dial"
                ))
            }
        }
    }
}

/// A probe's port: a number, or the name of one of the container's ports.
pub(crate) fn port(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port number: {n}")),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .ok_or_else(|| format!("couldn't find port: {name} in {}", container.name)),
    }
}

/// The status code of `GET path` (HTTP/1.1, the kubelet's headers, a small read).
pub(crate) async fn http_status(
    ip: IpAddr,
    port: u16,
    path: &str,
    headers: &[(String, String)],
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect((ip, port)).await?;
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        join(ip, port)
    );
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("User-Agent") {
        request.push_str("User-Agent: kube-probe/1.32\r\n");
    }
    if !has("Accept") {
        request.push_str("Accept: */*\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = vec![0u8; 1024];
    let mut read = 0;
    while read < head.len() {
        let n = stream.read(&mut head[read..]).await?;
        if n == 0 || head[..read + n].contains(&b'\n') {
            read += n;
            break;
        }
        read += n;
    }
    let line = String::from_utf8_lossy(&head[..read]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("malformed HTTP response"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::runtime::simulated::Simulated;
    use k8s_openapi::api::core::v1::{ContainerPort, HTTPGetAction, TCPSocketAction};

    fn probe(kind: Kind, failure_threshold: i32) -> ProbeState {
        ProbeState {
            kind,
            spec: Probe {
                failure_threshold: Some(failure_threshold),
                period_seconds: Some(1),
                ..Default::default()
            },
            ok: kind == Kind::Liveness,
            successes: 0,
            failures: 0,
            next: None,
        }
    }

    #[test]
    fn verdicts_flip_after_their_thresholds() {
        let now = Instant::now();
        let mut ready = probe(Kind::Readiness, 2);
        assert!(!ready.ok);
        assert!(ready.record(true, now));
        assert!(!ready.record(false, now));
        assert!(ready.ok);
        assert!(ready.record(false, now));
        assert!(!ready.ok);
        let mut live = probe(Kind::Liveness, 3);
        assert!(live.ok);
        live.record(false, now);
        live.record(false, now);
        assert!(live.ok);
        assert!(!live.failed());
        assert!(live.record(false, now));
        assert!(live.failed());
        assert!(!live.due(now, now));
        assert!(live.due(now, now + Duration::from_secs(1)));
    }

    #[tokio::test]
    async fn http_and_tcp_probes_judge_by_status_and_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let status = if n == 0 {
                    "200 OK"
                } else {
                    "500 Internal Server Error"
                };
                n += 1;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let container = Container {
            name: "app".into(),
            ports: Some(vec![ContainerPort {
                name: Some("http".into()),
                container_port: i32::from(port),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let runtime = Simulated::new();
        let target = Target {
            ip: "127.0.0.1".parse().unwrap(),
            container_id: "x",
            container: &container,
            runtime: &runtime,
        };
        let mut http = probe(Kind::Readiness, 1);
        http.spec.http_get = Some(HTTPGetAction {
            port: IntOrString::String("http".into()),
            path: Some("/healthz".into()),
            ..Default::default()
        });
        assert_eq!(http.run(&target).await, Ok(()));
        assert_eq!(
            http.run(&target).await,
            Err("HTTP probe failed with statuscode: 500".into())
        );
        let mut tcp = probe(Kind::Liveness, 1);
        tcp.spec.tcp_socket = Some(TCPSocketAction {
            port: IntOrString::Int(i32::from(port)),
            ..Default::default()
        });
        assert_eq!(tcp.run(&target).await, Ok(()));
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        tcp.spec.tcp_socket = Some(TCPSocketAction {
            port: IntOrString::Int(i32::from(closed)),
            ..Default::default()
        });
        assert_eq!(
            tcp.run(&target).await,
            Err(format!(
                "dial tcp 127.0.0.1:{closed}: connect: connection refused"
            ))
        );
        tcp.spec.tcp_socket = Some(TCPSocketAction {
            port: IntOrString::Int(80),
            host: Some("192.0.2.1".into()),
        });
        assert!(
            tcp.run(&target)
                .await
                .unwrap_err()
                .contains("not an address this node may dial")
        );
    }
}
