//! Against a registry of our own that misbehaves: wrong digests, oversize manifests, slow
//! answers, temporary failures, paged tag lists, Bearer challenges.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, Uri};

use super::support::{basic, image};
use crate::{Options, RegistryClient, RegistryError, Target, media_types, sha256_digest};

#[derive(Default)]
struct Fake {
    flaky_calls: AtomicUsize,
    token_calls: AtomicUsize,
    port: AtomicUsize,
}

fn answer(status: StatusCode, headers: &[(&str, String)], body: Vec<u8>) -> Response<Body> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(Body::from(body)).unwrap()
}

async fn serve(State(fake): State<Arc<Fake>>, uri: Uri, headers: HeaderMap) -> Response<Body> {
    let manifest = image("fake").manifest;
    let digest = sha256_digest(&manifest);
    let schema2 = ("content-type", media_types::DOCKER_SCHEMA2.to_string());
    let path = uri.path();
    let port = fake.port.load(Ordering::SeqCst);
    let bearer_ok =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer good");
    match path {
        "/v2/" => answer(StatusCode::OK, &[], vec![]),
        "/v2/lying/app/manifests/v1" => answer(
            StatusCode::OK,
            &[schema2, ("docker-content-digest", sha256_digest(b"something else"))],
            manifest,
        ),
        p if p == format!("/v2/lying/app/manifests/{digest}") => answer(StatusCode::OK, &[schema2], b"{}".to_vec()),
        "/v2/big/app/manifests/v1" => answer(StatusCode::OK, &[schema2], vec![b' '; crate::MAX_MANIFEST_BYTES + 1]),
        "/v2/big/app/manifests/chunked" => {
            let chunks = (0..5).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1 << 20]));
            Response::builder()
                .header("content-type", media_types::DOCKER_SCHEMA2)
                .body(Body::from_stream(futures::stream::iter(chunks.collect::<Vec<_>>())))
                .unwrap()
        }
        "/v2/slow/app/manifests/v1" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            answer(StatusCode::OK, &[schema2], manifest)
        }
        "/v2/flaky/app/manifests/v1" => {
            if fake.flaky_calls.fetch_add(1, Ordering::SeqCst) < 2 {
                answer(StatusCode::SERVICE_UNAVAILABLE, &[], vec![])
            } else {
                answer(StatusCode::OK, &[("content-type", "application/json".into())], manifest)
            }
        }
        "/v2/paged/app/tags/list" => match uri.query() {
            None => answer(
                StatusCode::OK,
                &[("link", "</v2/paged/app/tags/list?last=b&n=2>; rel=\"next\"".into())],
                br#"{"name":"paged/app","tags":["a","b"]}"#.to_vec(),
            ),
            Some(_) => answer(StatusCode::OK, &[], br#"{"name":"paged/app","tags":["c"]}"#.to_vec()),
        },
        "/v2/denied/app/manifests/v1" => answer(
            StatusCode::FORBIDDEN,
            &[],
            br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#.to_vec(),
        ),
        // A registry behind tokens: /token hands out "good" to alice only.
        "/token" => {
            fake.token_calls.fetch_add(1, Ordering::SeqCst);
            let query = uri.query().unwrap_or_default();
            let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                == Some(basic("alice", "secret").as_str())
                && query.contains("scope=repository%3Aprivate%2Fapp%3Apull")
                && query.contains("service=fake");
            if ok {
                answer(StatusCode::OK, &[], br#"{"access_token":"good","expires_in":300}"#.to_vec())
            } else {
                answer(StatusCode::UNAUTHORIZED, &[], vec![])
            }
        }
        "/v2/private/app/manifests/v1" if bearer_ok => answer(StatusCode::OK, &[schema2], manifest),
        "/v2/private/app/manifests/v1" => answer(
            StatusCode::UNAUTHORIZED,
            &[("www-authenticate", format!("Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\""))],
            vec![],
        ),
        _ => answer(StatusCode::NOT_FOUND, &[], br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.to_vec()),
    }
}

/// A fake registry on a loopback port; `/v2/` challenges for Bearer tokens when `bearer`.
async fn start(bearer: bool) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    fake.port.store(port as usize, Ordering::SeqCst);
    let app = if bearer {
        axum::Router::new().route(
            "/v2/",
            axum::routing::get(move || async move {
                answer(
                    StatusCode::UNAUTHORIZED,
                    &[(
                        "www-authenticate",
                        format!("Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\""),
                    )],
                    vec![],
                )
            }),
        )
    } else {
        axum::Router::new()
    };
    let app = app.fallback(serve).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("127.0.0.1:{port}"), fake)
}

fn insecure() -> Options {
    Options {
        insecure: true,
        timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

#[tokio::test]
async fn refuses_content_that_does_not_match_its_digest() {
    let (host, _) = start(false).await;
    let client = RegistryClient::new();
    let by_tag = Target {
        registry: &host,
        repository: "lying/app",
        reference: "v1",
    };
    assert!(matches!(
        client.manifest(by_tag, &insecure()).await,
        Err(RegistryError::DigestMismatch { .. })
    ));
    let digest = sha256_digest(&image("fake").manifest);
    let by_digest = Target {
        reference: &digest,
        ..by_tag
    };
    match client.manifest(by_digest, &insecure()).await {
        Err(RegistryError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, digest);
            assert_eq!(actual, sha256_digest(b"{}"));
        }
        other => panic!("{other:?}"),
    }
    // A blob is verified the same way.
    let blob = Target {
        repository: "lying/app",
        reference: &sha256_digest(b"x"),
        registry: &host,
    };
    assert!(client.blob(blob, &insecure(), 100).await.is_err());
}

#[tokio::test]
async fn refuses_oversize_manifests_announced_or_not() {
    let (host, _) = start(false).await;
    let client = RegistryClient::new();
    for reference in ["v1", "chunked"] {
        let t = Target {
            registry: &host,
            repository: "big/app",
            reference,
        };
        assert_eq!(
            client.manifest(t, &insecure()).await,
            Err(RegistryError::TooLarge {
                limit: crate::MAX_MANIFEST_BYTES
            }),
            "{reference}"
        );
    }
}

#[tokio::test]
async fn gives_up_on_slow_answers_at_the_deadline() {
    let (host, _) = start(false).await;
    let client = RegistryClient::new();
    let t = Target {
        registry: &host,
        repository: "slow/app",
        reference: "v1",
    };
    let o = Options {
        timeout: Duration::from_millis(300),
        ..insecure()
    };
    let started = std::time::Instant::now();
    assert_eq!(
        client.manifest(t, &o).await,
        Err(RegistryError::Timeout(Duration::from_millis(300)))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_temporary_failures_and_reads_untyped_manifests() {
    let (host, fake) = start(false).await;
    let client = RegistryClient::new();
    let t = Target {
        registry: &host,
        repository: "flaky/app",
        reference: "v1",
    };
    let m = client.manifest(t, &insecure()).await.unwrap();
    assert_eq!(m.media_type, media_types::DOCKER_SCHEMA2);
    assert_eq!(fake.flaky_calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn follows_tag_pages_and_maps_errors() {
    let (host, _) = start(false).await;
    let client = RegistryClient::new();
    assert_eq!(
        client.tags(&host, "paged/app", &insecure()).await.unwrap(),
        ["a", "b", "c"]
    );
    let denied = Target {
        registry: &host,
        repository: "denied/app",
        reference: "v1",
    };
    match client.manifest(denied, &insecure()).await {
        Err(RegistryError::Unauthorized { reason, message }) => {
            assert_eq!(reason, crate::UnauthorizedReason::Denied);
            assert_eq!(message, "requested access to the resource is denied");
        }
        other => panic!("{other:?}"),
    }
    assert!(client.ping(&host, &insecure()).await.is_ok());
}

#[tokio::test]
async fn fetches_and_keeps_bearer_tokens() {
    let (host, fake) = start(true).await;
    let client = RegistryClient::new();
    let t = Target {
        registry: &host,
        repository: "private/app",
        reference: "v1",
    };
    let alice = Options {
        credentials: vec![(format!("http://{host}/"), "alice".into(), "secret".into())],
        ..insecure()
    };
    for _ in 0..3 {
        client.manifest(t, &alice).await.unwrap();
    }
    assert_eq!(
        fake.token_calls.load(Ordering::SeqCst),
        1,
        "the token is kept"
    );
    assert!(matches!(
        client.manifest(t, &insecure()).await,
        Err(RegistryError::Unauthorized {
            reason: crate::UnauthorizedReason::NoCredentials,
            ..
        })
    ));
}
