//! What the controllers log must never carry an object's content (a Secret's data). Two
//! sources could: kube-client logs a whole response body at WARN when it cannot decode it
//! (target `kube_client::client`), and a decoding error's message quotes the value it
//! stumbled on. The first is silenced in the log filter; the second is described here without
//! its message.

use kube::runtime::watcher;
use tracing_subscriber::EnvFilter;

/// The directives that keep response bodies out of the log, whatever else is asked for.
pub const QUIET_CLIENT: [&str; 1] = ["kube_client::client=error"];

/// `filter` with [`QUIET_CLIENT`] added last, so that they override the same targets from
/// `RUST_LOG` (a more general directive, such as `debug`, never reaches them). A span
/// directive (`[name]=debug`) is the exception: an `EnvFilter` enables every event inside
/// matching spans whatever its target.
pub fn quiet_client_logs(mut filter: EnvFilter) -> EnvFilter {
    for directive in QUIET_CLIENT {
        match directive.parse() {
            Ok(directive) => filter = filter.add_directive(directive),
            // Constant and tested: cannot happen.
            Err(error) => tracing::error!(%error, directive, "invalid log directive"),
        }
    }
    filter
}

/// A kube error as it may be logged: a decoding error by its kind and position only.
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::SerdeError(e) => format!(
            "cannot decode a response ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
        e => e.to_string(),
    }
}

/// A watch error as it may be logged.
pub fn describe_watch(error: &watcher::Error) -> String {
    match error {
        watcher::Error::InitialListFailed(e) => format!("initial list failed: {}", describe(e)),
        watcher::Error::WatchStartFailed(e) => format!("watch start failed: {}", describe(e)),
        watcher::Error::WatchFailed(e) => format!("watch failed: {}", describe(e)),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What is logged under a filter built from `env` as the server builds it.
    fn logged(env: &str) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(quiet_client_logs(EnvFilter::new(env)))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "kube_client::client", "SECRET-BODY");
            tracing::debug!(target: "kube_client::client", "SECRET-DEBUG");
            tracing::error!(target: "kube_client::client", "client error");
            tracing::warn!(target: "controllers", "kept");
        });
        let text = capture.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_directives_parse() {
        for directive in QUIET_CLIENT {
            assert!(
                directive
                    .parse::<tracing_subscriber::filter::Directive>()
                    .is_ok()
            );
        }
    }

    #[test]
    fn no_filter_lets_response_bodies_through() {
        for env in [
            "info",
            "debug",
            "trace",
            "info,kube_client=trace",
            "info,kube_client::client=trace",
        ] {
            let text = logged(env);
            assert!(!text.contains("SECRET"), "{env}: {text}");
            assert!(text.contains("client error"), "{env}: {text}");
            assert!(text.contains("kept"), "{env}: {text}");
        }
    }

    #[test]
    fn decoding_errors_are_described_without_their_value() {
        let error = serde_json::from_str::<bool>(r#""hunter2""#).unwrap_err();
        assert!(error.to_string().contains("hunter2"));
        let text = describe(&kube::Error::SerdeError(error));
        assert!(!text.contains("hunter2"), "{text}");
        let error = serde_json::from_str::<bool>(r#""hunter2""#).unwrap_err();
        let text = describe_watch(&watcher::Error::InitialListFailed(kube::Error::SerdeError(
            error,
        )));
        assert!(!text.contains("hunter2"), "{text}");
    }
}
