//! Signatures read from a lookaside signature store, as containers/image's docker transport
//! reads them: `<store>/<repository path>@<algorithm>=<hex>/signature-<n>` for n = 1, 2, …
//! until the first 404. Plain HTTP; only the addresses webhooks may be called at are dialled.
//! `Cache` keeps what was read for a few seconds, for the registry's signature extension,
//! which clients ask at every pull.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use trust::ImageName;
use trust::simple_signing::MAX_SIGNATURE_BYTES;

use super::expiring::Expiring;
use crate::webhook_client::client::allowed;

/// Signatures read per image at most.
const MAX_SIGNATURES: usize = 16;
/// How long reading all of an image's signatures may take.
const DEADLINE: Duration = Duration::from_secs(5);

/// How long what a store published is served without reading it again: a signature
/// published meanwhile is seen this much later at most.
const KEEP: Duration = Duration::from_secs(10);
/// Bytes of signatures kept at most (each image's are at most 16 × 64 KiB); the cache starts
/// over when it would hold more.
const MAX_CACHED_BYTES: usize = 16 << 20;
/// Images kept at most.
const MAX_CACHED: usize = 4096;

/// The signatures published for `name` at `digest` under `store`; an error says why they
/// could not be read (unreachable store, an answer that is neither 200 nor 404, oversized).
pub async fn fetch(store: &str, name: &ImageName, digest: &str) -> Result<Vec<Vec<u8>>, String> {
    let base = base(store, name, digest);
    match tokio::time::timeout(DEADLINE, fetch_all(&base)).await {
        Ok(r) => r,
        Err(_) => Err(format!("reading signatures from {base} timed out")),
    }
}

/// The URL the signatures of `name` at `digest` are numbered under.
fn base(store: &str, name: &ImageName, digest: &str) -> String {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    format!(
        "{}/{}@{algorithm}={hex}",
        store.trim_end_matches('/'),
        name.path
    )
}

type Signatures = Arc<Vec<Vec<u8>>>;

/// What stores published, by image, kept for `KEEP` (failures are not kept: the next read
/// tries again).
pub struct Cache(Expiring<Signatures>);

impl Default for Cache {
    fn default() -> Self {
        Cache::keeping(KEEP)
    }
}

impl Cache {
    fn keeping(keep: Duration) -> Cache {
        Cache(Expiring::new(keep, MAX_CACHED, MAX_CACHED_BYTES))
    }

    /// The signatures published for `name` at `digest` under `store`, as last read if that
    /// was less than `KEEP` ago.
    pub async fn fetch(
        &self,
        store: &str,
        name: &ImageName,
        digest: &str,
    ) -> Result<Signatures, String> {
        self.get_or_read(base(store, name, digest), || fetch(store, name, digest))
            .await
    }

    async fn get_or_read<F>(
        &self,
        url: String,
        read: impl FnOnce() -> F,
    ) -> Result<Signatures, String>
    where
        F: Future<Output = Result<Vec<Vec<u8>>, String>>,
    {
        if let Some(found) = self.0.get(&url) {
            return Ok(found);
        }
        let found = Arc::new(read().await?);
        let weight = found.iter().map(Vec::len).sum();
        self.0.insert(url, found.clone(), weight);
        Ok(found)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Reads through `cache` with a reader that counts its calls and answers `answer`.
    async fn read(
        cache: &Cache,
        url: &str,
        calls: &AtomicUsize,
        answer: Result<Vec<Vec<u8>>, String>,
    ) -> Result<Signatures, String> {
        cache
            .get_or_read(url.to_string(), || async {
                calls.fetch_add(1, Ordering::SeqCst);
                answer
            })
            .await
    }

    #[tokio::test]
    async fn what_a_store_published_is_read_once_until_it_is_stale() {
        let cache = Cache::default();
        let calls = AtomicUsize::new(0);
        let sig = vec![b"sig".to_vec()];
        for _ in 0..3 {
            let found = read(&cache, "http://s/a@sha256=1", &calls, Ok(sig.clone())).await;
            assert_eq!(*found.unwrap(), sig);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another image (or store) is read on its own.
        read(&cache, "http://s/a@sha256=2", &calls, Ok(Vec::new()))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Stale entries are read again; failures are never kept.
        let cache = Cache::keeping(Duration::ZERO);
        let calls = AtomicUsize::new(0);
        read(&cache, "u", &calls, Ok(sig.clone())).await.unwrap();
        read(&cache, "u", &calls, Ok(Vec::new())).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let cache = Cache::default();
        assert!(read(&cache, "u", &calls, Err("down".into())).await.is_err());
        let found = read(&cache, "u", &calls, Ok(sig.clone())).await.unwrap();
        assert_eq!(*found, sig);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn the_cache_holds_a_bounded_number_of_bytes() {
        let cache = Cache::default();
        let calls = AtomicUsize::new(0);
        let big = vec![vec![0u8; 1 << 20]];
        for i in 0..40 {
            read(&cache, &format!("u{i}"), &calls, Ok(big.clone()))
                .await
                .unwrap();
            let (bytes, counted) = cache.0.bytes();
            assert!(bytes <= MAX_CACHED_BYTES, "{bytes}");
            assert_eq!(bytes, counted);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 40);
    }
}
