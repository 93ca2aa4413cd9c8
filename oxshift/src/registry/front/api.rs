//! The front's calls to the API server, over HTTPS with the caller's OpenShift token: a
//! SelfSubjectAccessReview for pulls, ImageSignatures created for pushes of signatures.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

use crate::registry::BoxError;

const TIMEOUT: Duration = Duration::from_secs(30);
/// More than any Status or review the API answers with.
const MOST_BYTES: usize = 1 << 20;

pub(super) struct Api {
    base: String,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// The API's answer: its status and JSON body (`null` when it was not JSON).
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// A Status's message, else the status code.
    pub(super) fn message(&self) -> String {
        match self.body["message"].as_str() {
            Some(m) => m.to_string(),
            None => format!("the server answered {}", self.status),
        }
    }
}

impl Api {
    /// A client of the API server at `base` (`https://host:port`), trusting `ca_pem` only.
    pub(super) fn new(base: &str, ca_pem: &str) -> Result<Api, BoxError> {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(ca?)?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(auth::pki::tls_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build(https),
        })
    }

    /// `POST path` of `body` as the holder of `token`.
    async fn post(&self, path: &str, token: &str, body: &Value) -> Result<Answer, String> {
        let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token is not a header value".to_string())?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.base))
            .header(AUTHORIZATION, bearer)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MOST_BYTES)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(Answer {
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            })
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| "the API server did not answer in time".to_string())?
    }

    /// Whether the token's holder may `get imagestreams/layers` of `stream` in `namespace`
    /// (what pulling from it takes); the API's answer when it refused the review itself.
    pub(super) async fn may_pull(
        &self,
        token: &str,
        namespace: &str,
        stream: &str,
    ) -> Result<Result<bool, Answer>, String> {
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {
                "namespace": namespace,
                "verb": "get",
                "group": "image.openshift.io",
                "resource": "imagestreams",
                "subresource": "layers",
                "name": stream,
            }},
        });
        let answer = self
            .post(
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                token,
                &review,
            )
            .await?;
        Ok(match answer.status {
            200 | 201 => Ok(answer.body["status"]["allowed"] == json!(true)),
            _ => Err(answer),
        })
    }

    /// Creates the ImageSignature `name` as the token's holder.
    pub(super) async fn create_signature(
        &self,
        token: &str,
        name: &str,
        kind: &str,
        content: &str,
    ) -> Result<Answer, String> {
        let signature = json!({
            "apiVersion": "image.openshift.io/v1",
            "kind": "ImageSignature",
            "metadata": {"name": name},
            "type": kind,
            "content": content,
        });
        self.post(
            "/apis/image.openshift.io/v1/imagesignatures",
            token,
            &signature,
        )
        .await
    }
}
