//! A real etcd process for tests and benchmarks: loopback ports etcd picks itself, a private
//! data directory, stopped (and its directory removed) on drop. Needs the `etcd` binary
//! (Debian's `etcd-server` package; `hack/setup.sh` installs it).
//!
//! etcd binds port 0 and logs the address it serves clients on; that report is read back
//! rather than choosing a "free" port beforehand, which another process could take before
//! etcd binds it. A restart binds the reported port again, as clients point there.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Large enough for a maximal value (1.5 MiB) plus key and framing; etcd's default is
/// exactly 1.5 MiB for the whole request.
const MAX_REQUEST_BYTES: u64 = 3 << 20;

/// How long etcd may take to serve.
const STARTUP: Duration = Duration::from_secs(30);

pub struct EtcdServer {
    child: Option<Child>,
    dir: PathBuf,
    /// 0 until etcd reports the port it bound on its first start.
    client_port: u16,
}

fn unique_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("oxshift-etcd-{}-{nanos}", std::process::id()))
}

/// The port of the client listener etcd's log (zap, JSON lines) reports serving on.
fn reported_client_port(log: &str) -> Option<u16> {
    log.lines()
        .filter(|line| line.contains(r#""msg":"serving client traffic"#))
        .find_map(|line| {
            let (_, rest) = line.split_once(r#""address":""#)?;
            let (address, _) = rest.split_once('"')?;
            address.rsplit_once(':')?.1.parse().ok()
        })
}

impl EtcdServer {
    /// Starts etcd and waits until it serves requests.
    pub fn start() -> Result<EtcdServer, String> {
        let mut server = EtcdServer {
            child: None,
            dir: unique_dir(),
            client_port: 0,
        };
        std::fs::create_dir_all(&server.dir).map_err(|e| e.to_string())?;
        server.restart()?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Kills etcd (as a crash would); `restart` brings it back on the same data and client
    /// port.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let log = std::fs::File::create(self.log_path()).map_err(|e| e.to_string())?;
        let client = self.endpoint();
        // Nothing connects to the peer port of a single member: any will do, every time.
        let peer = "http://127.0.0.1:0";
        let child = Command::new("etcd")
            .args(["--name", "oxshift-test", "--data-dir"])
            .arg(self.dir.join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
            ])
            .args(["--initial-cluster", &format!("oxshift-test={peer}")])
            .args(["--max-request-bytes", &MAX_REQUEST_BYTES.to_string()])
            // The gateway would dial the client URL as given, port 0 included.
            .arg("--enable-grpc-gateway=false")
            // JSON lines, whose "serving client traffic" entry names the bound address.
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!("cannot start etcd ({e}); install Debian's etcd-server (hack/setup.sh)")
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("etcd.log")
    }

    /// Waits until etcd reports the client port it bound (the one asked for, on a restart)
    /// and answers /health there.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        let log_path = self.log_path();
        let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let mut bound = None;
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Err(format!("etcd exited with {status}:\n{}", read_log()));
            }
            if bound.is_none() {
                bound = reported_client_port(&read_log());
            }
            if let Some(port) = bound {
                if self.client_port != 0 && port != self.client_port {
                    return Err(format!(
                        "etcd serves on port {port}, not on {} as asked:\n{}",
                        self.client_port,
                        read_log()
                    ));
                }
                self.client_port = port;
                if healthy(port) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "etcd did not become healthy within {STARTUP:?}:\n{}",
            read_log()
        ))
    }
}

/// Whether etcd answers /health on `port` (it does once it has a leader).
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(b"GET /health HTTP/1.0\r\n\r\n");
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body.contains("\"health\":\"true\"")
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_port_comes_from_etcds_report() {
        let log = concat!(
            r#"{"level":"info","msg":"serving peer traffic","address":"127.0.0.1:34421"}"#,
            "\n",
            r#"{"level":"info","msg":"now serving peer/client/metrics","listen-client-urls":["http://127.0.0.1:0"]}"#,
            "\n",
            r#"{"level":"info","caller":"embed/serve.go:145","msg":"serving client traffic insecurely; this is strongly discouraged!","address":"127.0.0.1:35849"}"#,
            "\n",
        );
        assert_eq!(reported_client_port(log), Some(35849));
        assert_eq!(reported_client_port(&log[..log.len() / 2]), None);
    }
}
