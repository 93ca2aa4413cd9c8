//! Everything but the extension goes to docker-registry as it came: method, path, headers
//! (the client's `Host` included, so the registry's `Location`s name the front) and bodies
//! streamed both ways, never held. Hop-by-hop headers stay on their own connection. Answers to
//! `/v2/` say the registry supports signatures.

use std::net::SocketAddr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use super::Body;
use super::errors::UNAVAILABLE;

pub(super) type Upstream = Client<HttpConnector, Incoming>;

/// What containers/image looks for on `/v2/` to use the signature extension.
pub(super) const SUPPORTS_SIGNATURES: &str = "x-registry-supports-signatures";

pub(super) async fn forward(
    client: &Upstream,
    upstream: SocketAddr,
    challenge: &HeaderValue,
    mut request: Request<Incoming>,
) -> Response<Body> {
    let base = is_base(request.uri().path());
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let Ok(uri) = format!("http://{upstream}{path}").parse::<Uri>() else {
        return UNAVAILABLE
            .with_detail("bad request target")
            .response(challenge);
    };
    *request.uri_mut() = uri;
    drop_hop_by_hop(request.headers_mut());
    match client.request(request).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            drop_hop_by_hop(&mut parts.headers);
            if base {
                parts.headers.insert(
                    HeaderName::from_static(SUPPORTS_SIGNATURES),
                    HeaderValue::from_static("1"),
                );
            }
            Response::from_parts(parts, body.map_err(Into::into).boxed())
        }
        Err(e) => {
            tracing::warn!(error = %e, "the integrated registry did not answer");
            UNAVAILABLE.bare().response(challenge)
        }
    }
}

/// The API's base, `/v2/` (distribution also answers `/v2`).
fn is_base(path: &str) -> bool {
    path == "/v2/" || path == "/v2"
}

/// Removes the headers of one connection (RFC 9110 §7.6.1), and those `Connection` names.
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;
    use hyper::service::service_fn;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    /// Serves every connection of `listener` with `handle`.
    fn serve<F, Fut>(listener: tokio::net::TcpListener, handle: F)
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
    {
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handle = handle.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |r| {
                        let handle = handle.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(r).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }

    #[tokio::test]
    async fn requests_and_answers_pass_through_whole() {
        // The registry stand-in answers with what it received: method, path, Host, body size
        // and SHA-256, then a body of its own of 3 MiB.
        let registry = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = registry.local_addr().unwrap();
        serve(registry, |r: Request<Incoming>| async move {
            use sha2::Digest;
            let (parts, body) = r.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            let seen = format!(
                "{} {} {} {} {:x}",
                parts.method,
                parts.uri,
                parts.headers[header::HOST].to_str().unwrap(),
                bytes.len(),
                sha2::Sha256::digest(&bytes)
            );
            let mut response = Response::new(
                Full::new(Bytes::from(vec![7u8; 3 << 20]))
                    .map_err(|never| match never {})
                    .boxed(),
            );
            response
                .headers_mut()
                .insert("x-seen", HeaderValue::from_str(&seen).unwrap());
            response
        });
        let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let client: Upstream = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let challenge = HeaderValue::from_static("Bearer realm=\"x\"");
        serve(front, move |r| {
            let (client, challenge) = (client.clone(), challenge.clone());
            async move { forward(&client, upstream, &challenge, r).await }
        });

        // A chunked upload of 5 MiB in 64 KiB pieces.
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = (0..80u8)
            .map(|i| Ok(Frame::data(Bytes::from(vec![i; 64 << 10]))))
            .collect();
        let sent: Vec<u8> = (0..80u8).flat_map(|i| vec![i; 64 << 10]).collect();
        let body = StreamBody::new(futures::stream::iter(chunks));
        let caller = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let request = Request::builder()
            .method("PATCH")
            .uri(format!(
                "http://{front_addr}/v2/ns/app/blobs/uploads/u1?_state=s"
            ))
            .header(header::HOST, "registry.example:5000")
            .body(body)
            .unwrap();
        let response = caller.request(request).await.unwrap();
        assert!(response.headers().get(SUPPORTS_SIGNATURES).is_none());
        let seen = response.headers()["x-seen"].to_str().unwrap().to_string();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), 3 << 20);
        use sha2::Digest;
        assert_eq!(
            seen,
            format!(
                "PATCH /v2/ns/app/blobs/uploads/u1?_state=s registry.example:5000 {} {:x}",
                sent.len(),
                sha2::Sha256::digest(&sent)
            )
        );

        // The base says the extension is there.
        let caller = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let request = Request::builder()
            .uri(format!("http://{front_addr}/v2/"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = caller.request(request).await.unwrap();
        assert_eq!(response.headers()[SUPPORTS_SIGNATURES], "1");
    }

    #[test]
    fn only_the_base_is_the_base() {
        assert!(is_base("/v2/"));
        assert!(is_base("/v2"));
        assert!(!is_base("/v2/shop/web/tags/list"));
        assert!(!is_base("/v2//"));
    }

    #[test]
    fn hop_by_hop_headers_are_dropped_end_to_end_ones_kept() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-hop"),
        );
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:5000"));
        drop_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["authorization", "content-length", "host"]);
    }
}
