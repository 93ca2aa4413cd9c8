//! Calls to webhooks the server's users configure (admission webhooks, conversion webhooks):
//! where a `clientConfig` points (`Target`: a URL, or a service resolved to its endpoints at
//! call time, `resolve.rs`), its `caBundle`, and the HTTPS client that trusts only that
//! bundle and dials only loopback and pod addresses (`client.rs`). One POST of a review,
//! within a deadline, with the errors upstream's REST client reports (`Post "<url>": ...`).

pub mod client;
pub mod resolve;

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use client::Client;

/// Where a webhook is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `clientConfig.url`: `https://host[:port]/path`.
    Url {
        host: String,
        port: u16,
        path: String,
    },
    /// `clientConfig.service`, resolved to its endpoints at call time.
    Service {
        namespace: String,
        name: String,
        port: u16,
        path: String,
    },
}

/// The target of a `clientConfig` (admission's `WebhookClientConfig` and the conversion's
/// share the shape).
pub fn target(client_config: &Value) -> Result<Target, String> {
    if let Some(url) = client_config["url"].as_str() {
        return parse_url(url);
    }
    let service = &client_config["service"];
    match (service["namespace"].as_str(), service["name"].as_str()) {
        (Some(namespace), Some(name)) => Ok(Target::Service {
            namespace: namespace.to_string(),
            name: name.to_string(),
            port: service["port"].as_u64().unwrap_or(443) as u16,
            path: service["path"].as_str().unwrap_or("/").to_string(),
        }),
        _ => Err("neither url nor service is specified".into()),
    }
}

/// `https://host[:port][/path]`; hosts are addresses or `localhost` (no name is resolved).
pub fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("{url:?}: 'https' is the only allowed URL scheme"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (h.starts_with('[') || !h.contains(':')) => {
            let port = p.parse().map_err(|_| format!("{url:?}: bad port {p:?}"))?;
            (h, port)
        }
        _ => (authority, 443),
    };
    Ok(Target::Url {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port,
        path: path.to_string(),
    })
}

/// `caBundle` is base64 of PEM certificates.
pub fn ca_bundle(b64: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("caBundle: {e}"))
}

/// POSTs `body` to `target` with `?timeout=<s>s` added, as upstream's webhook clients do, and
/// returns the answer of a 200; every failure in the REST client's words.
pub async fn post(
    resolver: &resolve::Resolver,
    client: &Client,
    target: &Target,
    timeout: Duration,
    body: Bytes,
) -> Result<Bytes, String> {
    let mut to = resolve::destination(resolver, target).await?;
    let query = format!("timeout={}s", timeout.as_secs());
    to.path = match to.path.contains('?') {
        true => format!("{}&{query}", to.path),
        false => format!("{}?{query}", to.path),
    };
    let host = match to.server_name.contains(':') {
        true => format!("[{}]", to.server_name),
        false => to.server_name.clone(),
    };
    let url = format!("https://{host}:{}{}", to.addr.port(), to.path);
    let (code, body) = match tokio::time::timeout(timeout, client.post(&to, body)).await {
        Err(_) => return Err(format!("Post \"{url}\": context deadline exceeded")),
        Ok(Err(e)) => return Err(format!("Post \"{url}\": {e}")),
        Ok(Ok(answer)) => answer,
    };
    if code != 200 {
        return Err(format!(
            "the server responded with the status code {code} but did not return more information"
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = |u| match parse_url(u) {
            Ok(Target::Url { host, port, path }) => format!("{host} {port} {path}"),
            other => format!("{other:?}"),
        };
        assert_eq!(t("https://127.0.0.1:8443/mutate"), "127.0.0.1 8443 /mutate");
        assert_eq!(t("https://localhost"), "localhost 443 /");
        assert_eq!(t("https://[::1]:9000/v?x=1"), "::1 9000 /v?x=1");
        assert!(parse_url("http://127.0.0.1/").is_err());
    }
}
