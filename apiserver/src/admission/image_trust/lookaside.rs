//! Signatures read from a lookaside signature store, as containers/image's docker transport
//! reads them: `<store>/<repository path>@<algorithm>=<hex>/signature-<n>` for n = 1, 2, …
//! until the first 404. Plain HTTP; only the addresses webhooks may be called at are dialled.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use trust::ImageName;
use trust::simple_signing::MAX_SIGNATURE_BYTES;

use crate::webhook_client::client::allowed;

/// Signatures read per image at most.
const MAX_SIGNATURES: usize = 16;
/// How long reading all of an image's signatures may take.
const DEADLINE: Duration = Duration::from_secs(5);

/// The signatures published for `name` at `digest` under `store`; an error says why they
/// could not be read (unreachable store, an answer that is neither 200 nor 404, oversized).
pub async fn fetch(store: &str, name: &ImageName, digest: &str) -> Result<Vec<Vec<u8>>, String> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    let base = format!(
        "{}/{}@{algorithm}={hex}",
        store.trim_end_matches('/'),
        name.path
    );
    match tokio::time::timeout(DEADLINE, fetch_all(&base)).await {
        Ok(r) => r,
        Err(_) => Err(format!("reading signatures from {base} timed out")),
    }
}

async fn fetch_all(base: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for n in 1..=MAX_SIGNATURES {
        let url = format!("{base}/signature-{n}");
        match get(&url).await? {
            Some(body) => out.push(body.to_vec()),
            None => break,
        }
    }
    Ok(out)
}

/// GET `url`: Some(body) on 200, None on 404.
async fn get(url: &str) -> Result<Option<Bytes>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// signature stores are read"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = resolve(authority).await?;
    if !allowed(addr.ip()) {
        return Err(format!(
            "{url}: {} is neither a loopback address nor a pod's: signature stores are only read there",
            addr.ip()
        ));
    }
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("{url}: dial tcp {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(async move {
        // Ends when the store closes the connection or the sender is dropped.
        let _ = connection.await;
    });
    let request = hyper::Request::get(format!("/{path}"))
        .header(hyper::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{url}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    match response.status().as_u16() {
        200 => {}
        404 => return Ok(None),
        code => return Err(format!("{url}: the signature store answered {code}")),
    }
    let body = Limited::new(response.into_body(), MAX_SIGNATURE_BYTES)
        .collect()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .to_bytes();
    Ok(Some(body))
}

async fn resolve(authority: &str) -> Result<SocketAddr, String> {
    let with_port = match authority.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => authority.to_string(),
        _ => format!("{authority}:80"),
    };
    tokio::net::lookup_host(&with_port)
        .await
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))
}
