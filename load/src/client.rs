//! A lean HTTPS client: one HTTP/1.1 keep-alive connection per simulated client, as real API
//! clients hold them, with the credentials of a kubeconfig (client certificate or token).

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub type Error = String;

/// Where requests go and with which credentials.
pub struct Target {
    address: String,
    authority: String,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    bearer: Option<String>,
}

impl Target {
    /// The current context of a kubeconfig; `server` and `token` override it.
    pub fn from_kubeconfig(
        path: &str,
        server: Option<&str>,
        token: Option<&str>,
    ) -> Result<Arc<Target>, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let config: Value =
            serde_saphyr::from_str(&text).map_err(|e| format!("{path}: not a kubeconfig: {e}"))?;
        let current = config["current-context"].as_str().unwrap_or_default();
        let named = |list: &str, name: &str| -> Value {
            config[list]
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .find(|i| name.is_empty() || i["name"] == name)
                        .cloned()
                })
                .unwrap_or(Value::Null)
        };
        let context = &named("contexts", current)["context"];
        let cluster = named("clusters", context["cluster"].as_str().unwrap_or_default());
        let user = named("users", context["user"].as_str().unwrap_or_default());
        let (cluster, user) = (&cluster["cluster"], &user["user"]);
        let server = server
            .or(cluster["server"].as_str())
            .ok_or("the kubeconfig names no server")?;
        let data = |field: &Value| -> Result<Option<Vec<u8>>, Error> {
            field
                .as_str()
                .map(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| format!("{path}: bad base64: {e}"))
                })
                .transpose()
        };

        let mut roots = rustls::RootCertStore::empty();
        let ca = data(&cluster["certificate-authority-data"])?
            .ok_or("the kubeconfig has no certificate-authority-data")?;
        for cert in CertificateDer::pem_slice_iter(&ca) {
            roots
                .add(cert.map_err(|e| format!("CA: {e}"))?)
                .map_err(|e| format!("CA: {e}"))?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
        let bearer = token
            .map(str::to_string)
            .or_else(|| user["token"].as_str().map(str::to_string));
        let cert = data(&user["client-certificate-data"])?;
        let key = data(&user["client-key-data"])?;
        let tls = match (cert, key, &bearer) {
            (Some(cert), Some(key), None) => {
                let chain = CertificateDer::pem_slice_iter(&cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("client certificate: {e}"))?;
                let key =
                    PrivateKeyDer::from_pem_slice(&key).map_err(|e| format!("client key: {e}"))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| e.to_string())?
            }
            _ => builder.with_no_client_auth(),
        };

        let authority = server
            .strip_prefix("https://")
            .ok_or("only https:// servers are supported")?
            .trim_end_matches('/')
            .to_string();
        let host = match authority.rsplit_once(':') {
            Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
            None => authority.as_str(),
        };
        let server_name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let address = if authority.contains(':') {
            authority.clone()
        } else {
            format!("{authority}:443")
        };
        Ok(Arc::new(Target {
            address,
            authority,
            server_name,
            tls: TlsConnector::from(Arc::new(tls)),
            bearer,
        }))
    }

    /// A new keep-alive connection.
    pub async fn connect(self: &Arc<Self>) -> Result<Conn, Error> {
        let tcp = TcpStream::connect(&self.address)
            .await
            .map_err(|e| format!("connect {}: {e}", self.address))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(Conn {
            send,
            target: self.clone(),
        })
    }
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    /// The server's `Retry-After` in seconds (429s and 503s).
    pub retry_after: Option<std::time::Duration>,
    pub body: Bytes,
}

/// One connection; requests on it are sequential.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    target: Arc<Target>,
}

impl Conn {
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, Bytes)>,
    ) -> Result<hyper::Response<Incoming>, Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.target.authority)
            .header(hyper::header::ACCEPT, "application/json");
        let body = match body {
            Some((content_type, body)) => {
                request = request.header(hyper::header::CONTENT_TYPE, content_type);
                body
            }
            None => Bytes::new(),
        };
        if let Some(token) = &self.target.bearer {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        self.send
            .send_request(request)
            .await
            .map_err(|e| e.to_string())
    }

    /// A request with a JSON body (if any) and its whole response body.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), Error> {
        let body = body.map(|b| ("application/json", b));
        let answer = self.request_as(method, path, body).await?;
        Ok((answer.status, answer.body))
    }

    /// A request with a body of the given media type; the answer keeps `Retry-After`.
    pub async fn request_as(
        &mut self,
        method: Method,
        path: &str,
        body: Option<(&str, Bytes)>,
    ) -> Result<Answer, Error> {
        let response = self.send(method, path, body).await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// A streaming GET (a watch): the response body as it arrives.
    pub async fn stream(&mut self, path: &str) -> Result<Incoming, Error> {
        let response = self.send(Method::GET, path, None).await?;
        if !response.status().is_success() {
            return Err(format!("watch {path}: {}", response.status()));
        }
        Ok(response.into_body())
    }
}
