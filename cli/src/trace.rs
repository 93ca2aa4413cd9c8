//! `--loglevel`/`-v`: request tracing on stderr in klog's line format, with kubectl's
//! levels: 6 the request line with status and duration, 7 the request headers too, 8 the
//! response headers and body (cut at 1 KiB), 9 the whole body. Credentials never reach this
//! layer (the transport adds them), so nothing secret is printed.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

static LEVEL: AtomicU8 = AtomicU8::new(0);
static SERVER: OnceLock<String> = OnceLock::new();

pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// The server the paths of this run are relative to (for full URLs in the trace).
pub fn set_server(server: &str) {
    let _ = SERVER.set(server.trim_end_matches('/').to_string());
}

fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// One klog line: `I1123 19:20:01.123456  4242 client.rs] message`.
fn log(message: &str) {
    let now = jiff::Zoned::now();
    eprintln!(
        "I{} {:>7} client.rs] {message}",
        now.strftime("%m%d %H:%M:%S%.6f"),
        std::process::id()
    );
}

/// A request being traced (a no-op below level 6).
pub struct Request {
    line: Option<(String, Instant)>,
}

impl Request {
    pub fn start<B>(request: &http::Request<B>) -> Request {
        if level() < 6 {
            return Request { line: None };
        }
        let url = format!(
            "{} {}{}",
            request.method(),
            SERVER.get().map(String::as_str).unwrap_or_default(),
            request.uri()
        );
        if level() >= 7 {
            log(&url);
            log("Request Headers:");
            for (name, value) in request.headers() {
                log(&format!(
                    "    {}: {}",
                    header_name(name.as_str()),
                    value.to_str().unwrap_or("<binary>")
                ));
            }
        }
        Request {
            line: Some((url, Instant::now())),
        }
    }

    pub fn finish(self, parts: &http::response::Parts, body: &[u8]) {
        let Some((url, started)) = self.line else {
            return;
        };
        log(&format!(
            "{url} {} in {} milliseconds",
            parts.status,
            started.elapsed().as_millis()
        ));
        if level() < 8 {
            return;
        }
        log("Response Headers:");
        for (name, value) in &parts.headers {
            log(&format!(
                "    {}: {}",
                header_name(name.as_str()),
                value.to_str().unwrap_or("<binary>")
            ));
        }
        let text = String::from_utf8_lossy(body);
        let shown: String = match level() {
            9.. => text.into_owned(),
            _ if text.chars().count() > 1024 => {
                text.chars().take(1024).collect::<String>() + " [truncated]"
            }
            _ => text.into_owned(),
        };
        log(&format!("Response Body: {shown}"));
    }
}

/// `content-type` as Go's canonical `Content-Type`.
fn header_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_names_are_canonical() {
        assert_eq!(super::header_name("content-type"), "Content-Type");
        assert_eq!(super::header_name("accept"), "Accept");
    }
}
