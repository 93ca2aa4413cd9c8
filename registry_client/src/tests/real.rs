//! Against docker-registry (distribution 2.8) on loopback: open, htpasswd, token auth.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::support::{DOCKER_REGISTRY, DockerRegistry, Signer, basic, free_port, image, push};
use crate::{
    Options, RegistryClient, RegistryError, Target, UnauthorizedReason, media_types, sha256_digest,
};

fn available() -> bool {
    let there = Path::new(DOCKER_REGISTRY).exists();
    if !there {
        eprintln!("{DOCKER_REGISTRY} is missing (hack/setup.sh installs it)");
    }
    there
}

fn insecure() -> Options {
    Options {
        insecure: true,
        timeout: Duration::from_secs(10),
        ..Options::default()
    }
}

#[tokio::test]
async fn reads_manifests_blobs_and_tags_of_an_open_registry() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = DockerRegistry::start(dir.path(), "");
    let host = registry.host();
    let img = image("open");
    for tag in ["v1", "v2", "latest"] {
        push(&host, "ns/app", tag, &img, None).await;
    }
    let client = RegistryClient::new();
    let o = insecure();
    let m = client
        .manifest(
            Target {
                registry: &host,
                repository: "ns/app",
                reference: "v1",
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(m.digest, sha256_digest(&img.manifest));
    assert_eq!(m.media_type, media_types::DOCKER_SCHEMA2);
    assert_eq!(&m.bytes[..], &img.manifest[..]);

    let by_digest = client
        .manifest(
            Target {
                registry: &host,
                repository: "ns/app",
                reference: &m.digest,
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(by_digest, m);
    let empty_means_latest = client
        .manifest(
            Target {
                registry: &host,
                repository: "ns/app",
                reference: "",
            },
            &o,
        )
        .await
        .unwrap();
    assert_eq!(empty_means_latest.digest, m.digest);

    let config_digest = sha256_digest(&img.config);
    let config = Target {
        registry: &host,
        repository: "ns/app",
        reference: &config_digest,
    };
    assert_eq!(
        &client.blob(config, &o, 1 << 20).await.unwrap()[..],
        &img.config[..]
    );
    assert_eq!(
        client.blob(config, &o, 10).await,
        Err(RegistryError::TooLarge { limit: 10 })
    );

    let mut tags = client.tags(&host, "ns/app", &o).await.unwrap();
    tags.sort();
    assert_eq!(tags, ["latest", "v1", "v2"]);

    match client
        .manifest(
            Target {
                registry: &host,
                repository: "ns/app",
                reference: "nope",
            },
            &o,
        )
        .await
    {
        Err(RegistryError::NotFound { code, .. }) => {
            assert_eq!(code.as_deref(), Some("MANIFEST_UNKNOWN"))
        }
        other => panic!("{other:?}"),
    }
    match client.tags(&host, "ns/missing", &o).await {
        Err(RegistryError::NotFound { code, .. }) => {
            assert_eq!(code.as_deref(), Some("NAME_UNKNOWN"))
        }
        other => panic!("{other:?}"),
    }
    // Without insecure access a plain HTTP registry is refused, never silently used.
    let secure = Options {
        timeout: Duration::from_secs(10),
        ..Options::default()
    };
    assert_eq!(
        client
            .manifest(
                Target {
                    registry: &host,
                    repository: "ns/app",
                    reference: "v1"
                },
                &secure
            )
            .await,
        Err(RegistryError::HttpOnly {
            registry: host.clone()
        })
    );
}

#[tokio::test]
async fn sends_basic_credentials_to_an_htpasswd_registry() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("secret", 4).unwrap()),
    )
    .unwrap();
    let registry = DockerRegistry::start(
        dir.path(),
        &format!(
            "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
            htpasswd.display()
        ),
    );
    let host = registry.host();
    let img = image("basic");
    push(&host, "ns/app", "v1", &img, Some(&basic("alice", "secret"))).await;
    let client = RegistryClient::new();
    let target = Target {
        registry: &host,
        repository: "ns/app",
        reference: "v1",
    };

    let with = |user: &str, password: &str| Options {
        credentials: vec![(host.clone(), user.into(), password.into())],
        ..insecure()
    };
    let m = client
        .manifest(target, &with("alice", "secret"))
        .await
        .unwrap();
    assert_eq!(m.digest, sha256_digest(&img.manifest));
    assert!(matches!(
        client.manifest(target, &insecure()).await,
        Err(RegistryError::Unauthorized {
            reason: UnauthorizedReason::NoCredentials,
            ..
        })
    ));
    assert!(matches!(
        client.manifest(target, &with("alice", "wrong")).await,
        Err(RegistryError::Unauthorized {
            reason: UnauthorizedReason::BadCredentials,
            ..
        })
    ));
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    service: String,
    scope: String,
}

/// Grants `pull` on `ns/*` repositories to alice; nothing to anyone else.
async fn token_server(
    State(signer): State<Arc<Signer>>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(basic("alice", "secret").as_str());
    if !authorized || q.service != "test-registry" {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    let mut parts = q.scope.split(':');
    let (_, name) = (parts.next(), parts.next().unwrap_or_default());
    let actions: &[&str] = if name.starts_with("ns/") {
        &["pull"]
    } else {
        &[]
    };
    let token = signer.token("alice", name, actions);
    (
        StatusCode::OK,
        serde_json::json!({"token": token, "expires_in": 300}).to_string(),
    )
}

#[tokio::test]
async fn fetches_tokens_for_a_token_authenticated_registry() {
    if !available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(Signer::new());
    let bundle = dir.path().join("token-ca.pem");
    std::fs::write(&bundle, &signer.cert_pem).unwrap();
    let token_port = free_port();
    let app = axum::Router::new()
        .route("/token", axum::routing::get(token_server))
        .with_state(signer.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", token_port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let registry = DockerRegistry::start(
        dir.path(),
        &format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
            bundle.display()
        ),
    );
    let host = registry.host();
    let img = image("token");
    for repo in ["ns/app", "other/app"] {
        let push_token = signer.token("pusher", repo, &["pull", "push"]);
        push(
            &host,
            repo,
            "v1",
            &img,
            Some(&format!("Bearer {push_token}")),
        )
        .await;
    }
    let client = RegistryClient::new();
    let alice = Options {
        credentials: vec![(host.clone(), "alice".into(), "secret".into())],
        ..insecure()
    };
    let target = Target {
        registry: &host,
        repository: "ns/app",
        reference: "v1",
    };
    let m = client.manifest(target, &alice).await.unwrap();
    assert_eq!(m.digest, sha256_digest(&img.manifest));
    let config_digest = sha256_digest(&img.config);
    let blob = Target {
        reference: &config_digest,
        ..target
    };
    assert_eq!(
        &client.blob(blob, &alice, 1 << 20).await.unwrap()[..],
        &img.config[..]
    );

    // A token the caller holds is used as it is.
    let own = signer.token("system:registry", "ns/app", &["pull"]);
    assert_eq!(
        client
            .manifest_with_token(target, &insecure(), &own)
            .await
            .unwrap(),
        m
    );

    assert!(matches!(
        client.manifest(target, &insecure()).await,
        Err(RegistryError::Unauthorized {
            reason: UnauthorizedReason::NoCredentials,
            ..
        })
    ));
    let wrong = Options {
        credentials: vec![(host.clone(), "alice".into(), "wrong".into())],
        ..insecure()
    };
    assert!(matches!(
        client.manifest(target, &wrong).await,
        Err(RegistryError::Unauthorized {
            reason: UnauthorizedReason::BadCredentials,
            ..
        })
    ));
    // The token server grants nothing on other/app: the registry refuses the empty token.
    let other = Target {
        repository: "other/app",
        ..target
    };
    assert!(matches!(
        client.manifest(other, &alice).await,
        Err(RegistryError::Unauthorized {
            reason: UnauthorizedReason::Denied,
            ..
        })
    ));
}
