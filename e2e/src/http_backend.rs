//! A keep-alive HTTP/1.1 server on loopback standing in for an application behind a route:
//! each request's path and headers go to the test's function, whose text is the answer (200,
//! `text/plain`); an upgrade request is answered 101 and then echoed back byte for byte.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// A request as the backend read it.
pub struct Request {
    pub path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of header `name` (any case), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Starts the server on a free loopback port; its port.
pub fn serve(answer: fn(&Request) -> String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || connection(stream, answer));
        }
    });
    port
}

fn connection(stream: TcpStream, answer: fn(&Request) -> String) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    while let Some(request) = read_request(&mut reader) {
        if request.header("upgrade").is_some() {
            echo(&mut reader, &mut out);
            return;
        }
        let body = answer(&request);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
            body.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(body.as_bytes()).is_err() {
            return;
        }
    }
}

/// The next request's line and headers (bodies are not read: the tests send none), or None
/// once the connection ends.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut first = String::new();
    if reader.read_line(&mut first).ok()? == 0 {
        return None;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Some(Request { path, headers });
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}

fn echo(reader: &mut BufReader<TcpStream>, out: &mut TcpStream) {
    let upgraded =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    if out.write_all(upgraded).is_err() {
        return;
    }
    let mut buf = [0_u8; 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if out.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// A selector-less Service `web` (port `http` 8080) in `namespace` whose EndpointSlice names
/// the backend on 127.0.0.1:`port`, as route tests put an application behind the router.
pub fn expose(c: &crate::Cluster, namespace: &str, port: u16) {
    let service = format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"web","namespace":"{namespace}"}},
        "spec":{{"ports":[{{"name":"http","port":8080,"protocol":"TCP"}}]}}}}"#
    );
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(&format!("{namespace}-svc.json"), &service),
    ]);
    let slice = format!(
        r#"{{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
        "metadata":{{"name":"web-1","namespace":"{namespace}","labels":{{"kubernetes.io/service-name":"web"}}}},
        "addressType":"IPv4","endpoints":[{{"addresses":["127.0.0.1"],"conditions":{{"ready":true}}}}],
        "ports":[{{"name":"http","port":{port},"protocol":"TCP"}}]}}"#
    );
    c.kubectl_ok(&[
        "create",
        "-f",
        &c.file(&format!("{namespace}-slice.json"), &slice),
    ]);
}

/// curl's status code and body, within 10 seconds (`000` and curl's error when nothing answered).
pub fn curl(args: &[&str]) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "-m", "10", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    if code == "000" {
        // No answer: curl's own words say why (refused, reset, timed out).
        return (
            code.to_string(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
    }
    (code.to_string(), body.to_string())
}
