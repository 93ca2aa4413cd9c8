//! A git server over HTTPS on loopback that asks for basic auth: `git http-backend` run as a
//! CGI program by a small Python server (with a certificate for 127.0.0.1 from a test CA),
//! serving the repositories under a directory at `https://127.0.0.1:<port>/<name>`. Every
//! request without the right credentials gets 401. Stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::wait_until;

const SERVER: &str = r#"
import base64, os, ssl, subprocess, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, root, user, password, cert, key = sys.argv[1:7]
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def serve(self):
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {"GIT_PROJECT_ROOT": root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": user,
               "REMOTE_ADDR": "127.0.0.1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for header, variable in [("Content-Encoding", "HTTP_CONTENT_ENCODING"),
                                 ("Git-Protocol", "GIT_PROTOCOL")]:
            if self.headers.get(header):
                env[variable] = self.headers[header]
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True).stdout
        separator = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(separator)
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = serve
    do_POST = serve

server = ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

pub struct GitHttpServer {
    child: Child,
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca: PathBuf,
}

impl GitHttpServer {
    /// Serves the repositories under `base` to `user` with `password`; its files go in `dir`.
    pub fn start(dir: &Path, base: &Path, user: &str, password: &str) -> GitHttpServer {
        let tls = dir.join("git-tls");
        std::fs::create_dir_all(&tls).expect("the certificates' directory");
        let (ca, cert, key) = crate::loopback_certificates(&tls);
        let script = dir.join("git-http-server.py");
        std::fs::write(&script, SERVER).expect("write the server's script");
        let port = crate::free_port();
        let child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(base)
            .args([user, password])
            .arg(&cert)
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the git server");
        wait_until("the git server to listen", Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        GitHttpServer { child, port, ca }
    }

    /// The URL of the repository `name` under the base.
    pub fn url(&self, name: &str) -> String {
        format!("https://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
