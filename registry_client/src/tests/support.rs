//! Helpers of the tests: docker-registry on a free loopback port, pushing content to it, a
//! token server issuing the JWTs distribution verifies, and a small image to push.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::media_types;
use crate::sha256_digest;

pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// docker-registry serving `extra` config (an `auth:` section) on a free loopback port.
pub struct DockerRegistry {
    child: Child,
    pub port: u16,
}

impl DockerRegistry {
    pub fn start(dir: &Path, extra: &str) -> DockerRegistry {
        let port = free_port();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen: {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        DockerRegistry { child, port }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for DockerRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A schema 2 image: a config and one layer, and its manifest.
pub struct Image {
    pub config: Vec<u8>,
    pub layer: Vec<u8>,
    pub manifest: Vec<u8>,
}

pub fn image(seed: &str) -> Image {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":["SEED={seed}"]}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
    )
    .into_bytes();
    let layer = format!("layer of {seed}").into_bytes();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_types::DOCKER_SCHEMA2,
        "config": {"mediaType": media_types::DOCKER_CONFIG, "size": config.len(), "digest": sha256_digest(&config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.len(), "digest": sha256_digest(&layer)}],
    }))
    .unwrap();
    Image {
        config,
        layer,
        manifest,
    }
}

/// Pushes `image` as `repository:tag` over plain HTTP, with `authorization` when given.
pub async fn push(
    host: &str,
    repository: &str,
    tag: &str,
    img: &Image,
    authorization: Option<&str>,
) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let send = |method: &str, url: String, body: Vec<u8>, content_type: Option<&str>| {
        let mut r = Request::builder().method(method).uri(url);
        if let Some(a) = authorization {
            r = r.header("authorization", a);
        }
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        let request = r.body(Full::new(Bytes::from(body))).unwrap();
        let client = client.clone();
        async move {
            let response = client.request(request).await.unwrap();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            assert!(
                parts.status.is_success(),
                "{}: {}",
                parts.status,
                String::from_utf8_lossy(&body)
            );
            parts.headers
        }
    };
    for blob in [&img.config, &img.layer] {
        let headers = send(
            "POST",
            format!("http://{host}/v2/{repository}/blobs/uploads/"),
            vec![],
            None,
        )
        .await;
        let location = headers["location"].to_str().unwrap().to_string();
        let location = if location.starts_with('/') {
            format!("http://{host}{location}")
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        send(
            "PUT",
            format!("{location}{sep}digest={}", sha256_digest(blob)),
            blob.clone(),
            Some("application/octet-stream"),
        )
        .await;
    }
    send(
        "PUT",
        format!("http://{host}/v2/{repository}/manifests/{tag}"),
        img.manifest.clone(),
        Some(media_types::DOCKER_SCHEMA2),
    )
    .await;
}

/// An ES256 key with its self-signed certificate: what docker-registry's `rootcertbundle`
/// trusts, and the libtrust key ID it knows the key by.
pub struct Signer {
    pub cert_pem: String,
    key: jsonwebtoken::EncodingKey,
    kid: String,
}

impl Signer {
    pub fn new() -> Signer {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["token-signer".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let spki = rcgen::PublicKeyData::subject_public_key_info(&key);
        let hash = sha2::Sha256::digest(&spki);
        let b32 = data_encoding::BASE32_NOPAD.encode(&hash[..30]);
        let kid = b32
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        Signer {
            cert_pem: cert.pem(),
            key: jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).unwrap(),
            kid,
        }
    }

    /// A token granting `actions` on `repository`.
    pub fn token(&self, subject: &str, repository: &str, actions: &[&str]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let claims = serde_json::json!({
            "iss": "test-issuer", "sub": subject, "aud": "test-registry",
            "exp": now + 300, "nbf": now, "iat": now, "jti": format!("{now}-{subject}"),
            "access": [{"type": "repository", "name": repository, "actions": actions}],
        });
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

use sha2::Digest as _;

pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
