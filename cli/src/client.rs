//! Talking to the server: a client for the current context of the kubeconfig (with the
//! global flags' overrides), or for a bare server URL (`oc login` before it has credentials).
//! Requests are plain HTTP over kube-rs's transport (TLS, credentials); redirects are not
//! followed (the OAuth flow reads them).

use std::path::Path;

use base64::Engine;
use http::{Method, Request, StatusCode};
use kube::config::{KubeConfigOptions, Kubeconfig as KubeFile};
use serde_json::{Value, json};

use crate::error::CliError;
use crate::kubeconfig::Kubeconfig;

/// The connection settings of a server: its URL and how its certificate is checked.
#[derive(Clone, Debug, Default)]
pub struct ServerTls {
    pub server: String,
    /// PEM of the CA to trust (none: the system's roots).
    pub ca_pem: Option<Vec<u8>>,
    pub insecure: bool,
}

/// The global flags that override the kubeconfig.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub context: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub insecure: bool,
    pub certificate_authority: Option<std::path::PathBuf>,
    pub request_timeout: Option<std::time::Duration>,
    /// `--as`: the user to impersonate.
    pub impersonate: Option<String>,
    /// `--as-group`: the groups to impersonate.
    pub impersonate_groups: Vec<String>,
}

pub struct Session {
    pub client: kube::Client,
    pub server: String,
    pub namespace: String,
    /// The kubeconfig context in use.
    pub context: String,
    pub token: Option<String>,
}

/// An answer: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The JSON body of a 2xx answer, else the error it stands for.
    pub fn json(self) -> Result<Value, CliError> {
        if !self.status.is_success() {
            return Err(CliError::from_response(self.status, &self.body));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::msg(format!("the server sent invalid JSON: {e}")))
    }
}

/// Sends one request.
pub async fn send(
    client: &kube::Client,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Option<(&str, Vec<u8>)>,
) -> Result<Answer, CliError> {
    let mut request = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let request = match body {
        Some((content_type, bytes)) => request
            .header(http::header::CONTENT_TYPE, content_type)
            .body(kube::client::Body::from(bytes)),
        None => request.body(kube::client::Body::empty()),
    }
    .map_err(|e| CliError::msg(e.to_string()))?;
    let trace = crate::trace::Request::start(&request);
    let response = answer_of(client, request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect_bytes().await?.to_vec();
    trace.finish(&parts, &body);
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// Sends a GET whose answer is a stream of JSON lines (a watch), handing each line to
/// `each` until the server ends the stream or `each` says to stop.
pub async fn watch_lines(
    client: &kube::Client,
    path: &str,
    headers: &[(&str, String)],
    mut each: impl FnMut(&[u8]) -> Result<bool, CliError>,
) -> Result<(), CliError> {
    use http_body_util::BodyExt;
    let mut request = Request::builder().method(Method::GET).uri(path);
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let request = request
        .body(kube::client::Body::empty())
        .map_err(|e| CliError::msg(e.to_string()))?;
    let trace = crate::trace::Request::start(&request);
    let response = answer_of(client, request).await?;
    let (parts, mut body) = response.into_parts();
    if !parts.status.is_success() {
        let bytes = body.collect_bytes().await?.to_vec();
        trace.finish(&parts, &bytes);
        return Err(CliError::from_response(parts.status, &bytes));
    }
    trace.finish(&parts, b"");
    let mut pending: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            // With --request-timeout, the stream ending on the deadline ends the watch, as
            // kubectl ends it.
            Err(_) if REQUEST_TIMEOUT.get().is_some() => return Ok(()),
            Err(e) => return Err(CliError::from(e)),
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&data);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if line.len() > 1 && !each(&line[..line.len() - 1])? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// `--request-timeout`, for every request of this run (unset: no limit).
static REQUEST_TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// The server's answer (its headers) to `request`, within `--request-timeout` if one is set.
async fn answer_of(
    client: &kube::Client,
    request: Request<kube::client::Body>,
) -> Result<http::Response<kube::client::Body>, CliError> {
    let sent = client.send(request);
    let answer = match REQUEST_TIMEOUT.get() {
        Some(limit) => tokio::time::timeout(*limit, sent).await.map_err(|_| {
            CliError::Plain(format!(
                "Unable to connect to the server: the request timed out after {limit:?} (--request-timeout)"
            ))
        })?,
        None => sent.await,
    };
    let answer = answer.map_err(connection_error)?;
    crate::warnings::print(answer.headers());
    Ok(answer)
}

const UNKNOWN_AUTHORITY: &str = "The server uses a certificate signed by unknown authority. You may need to use the --certificate-authority flag to provide the path to a certificate file for the certificate authority, or --insecure-skip-tls-verify to bypass the certificate check and use insecure connections.";

/// What a connection failure means to a user.
fn connection_error(e: kube::Error) -> CliError {
    let text = format!("{e:?}");
    if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") {
        return CliError::msg(UNKNOWN_AUTHORITY);
    }
    CliError::from(e)
}

/// Whether `e` is the refusal of a server certificate from an unknown authority.
pub fn is_unknown_authority(e: &CliError) -> bool {
    matches!(e, CliError::Message(m) if m == UNKNOWN_AUTHORITY)
}

/// A client of `tls.server` with a bearer token, or with no credentials.
pub async fn anonymous(tls: &ServerTls, token: Option<&str>) -> Result<kube::Client, CliError> {
    let mut cluster = json!({"server": tls.server});
    if let Some(pem) = &tls.ca_pem {
        cluster["certificate-authority-data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(pem));
    }
    if tls.insecure {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    let user = match token {
        Some(t) => json!({"token": t}),
        None => json!({}),
    };
    let file = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    });
    crate::trace::set_server(&tls.server);
    client_of(file, &KubeConfigOptions::default(), None).await
}

async fn client_of(
    file: Value,
    options: &KubeConfigOptions,
    timeout: Option<std::time::Duration>,
) -> Result<kube::Client, CliError> {
    client_with(file, options, timeout, true).await
}

/// The client of a kubeconfig; `retry`: answers 429, 503 and 504 are retried with back-off
/// before they are reported.
async fn client_with(
    file: Value,
    options: &KubeConfigOptions,
    timeout: Option<std::time::Duration>,
    retry: bool,
) -> Result<kube::Client, CliError> {
    let file: KubeFile = serde_json::from_value(file)
        .map_err(|e| CliError::msg(format!("invalid kubeconfig: {e}")))?;
    let mut config = kube::Config::from_custom_kubeconfig(file, options)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    if let Some(t) = timeout {
        config.read_timeout = Some(t);
        config.connect_timeout = Some(t);
    }
    config.default_retry = retry;
    kube::Client::try_from(config).map_err(CliError::from)
}

/// A session on the current context (or `--context`) of the kubeconfig, with the flags'
/// overrides.
pub async fn session(config: &Kubeconfig, o: &Overrides) -> Result<Session, CliError> {
    open(config, o, true).await
}

/// A session whose refusals (429, 503, 504) come back at once, for commands that retry on
/// their own terms and say so (a drain's evictions refused by a disruption budget).
pub async fn session_without_retries(
    config: &Kubeconfig,
    o: &Overrides,
) -> Result<Session, CliError> {
    open(config, o, false).await
}

async fn open(config: &Kubeconfig, o: &Overrides, retry: bool) -> Result<Session, CliError> {
    let context_name = o
        .context
        .clone()
        .or_else(|| config.current_context().map(str::to_string));
    let context = context_name.as_deref().and_then(|c| config.context(c));
    let Some(context) = context
        .cloned()
        .or_else(|| o.server.as_ref().map(|_| json!({})))
    else {
        return Err(CliError::msg(
            "Missing or incomplete configuration info.  Please point to an existing, complete config file:\n\n\n  1. Via the command-line flag --kubeconfig\n  2. Via the KUBECONFIG environment variable\n  3. In your home directory as ~/.kube/config\n\nTo view or setup config directly use the 'config' command.",
        ));
    };
    let mut cluster = context["cluster"]
        .as_str()
        .and_then(|c| config.cluster(c))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut user = context["user"]
        .as_str()
        .and_then(|u| config.user(u))
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(server) = &o.server {
        cluster["server"] = json!(server);
    }
    if o.insecure {
        cluster["insecure-skip-tls-verify"] = json!(true);
        if let Some(m) = cluster.as_object_mut() {
            m.remove("certificate-authority-data");
            m.remove("certificate-authority");
        }
    }
    if let Some(ca) = &o.certificate_authority {
        cluster["certificate-authority"] = json!(ca.display().to_string());
    }
    if let Some(token) = &o.token {
        user = json!({"token": token});
    }
    if let Some(name) = &o.impersonate {
        user["as"] = json!(name);
    }
    if !o.impersonate_groups.is_empty() {
        user["as-groups"] = json!(o.impersonate_groups);
    }
    let server = cluster["server"].as_str().unwrap_or_default().to_string();
    let token = user["token"].as_str().map(str::to_string);
    let namespace = o
        .namespace
        .clone()
        .or_else(|| context["namespace"].as_str().map(str::to_string))
        .unwrap_or_else(|| "default".into());
    let file = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    });
    let client = client_with(
        file,
        &KubeConfigOptions::default(),
        o.request_timeout,
        retry,
    )
    .await?;
    if let Some(limit) = o.request_timeout {
        let _ = REQUEST_TIMEOUT.set(limit);
    }
    crate::trace::set_server(&server);
    Ok(Session {
        client,
        server,
        namespace,
        context: context_name.unwrap_or_default(),
        token,
    })
}

impl Session {
    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        send(&self.client, Method::GET, path, &[], None)
            .await?
            .json()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        self.write(Method::POST, path, body).await
    }

    /// `body` sent with `method` to `path`, the answer's object returned.
    pub async fn write(&self, method: Method, path: &str, body: &Value) -> Result<Value, CliError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CliError::msg(e.to_string()))?;
        send(
            &self.client,
            method,
            path,
            &[],
            Some(("application/json", bytes)),
        )
        .await?
        .json()
    }

    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        send(&self.client, Method::DELETE, path, &[], None)
            .await?
            .json()
    }
}

/// A value percent-encoded for a URL query (unreserved characters kept).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads a PEM file given on the command line.
pub fn read_pem(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::msg(format!("{}: {e}", path.display())))
}

/// Sends a GET and copies the answer's body to `out` as it comes (a log, followed), or
/// returns the error a failed answer stands for.
pub async fn copy_body(
    client: &kube::Client,
    path: &str,
    out: &mut (dyn std::io::Write + Send),
) -> Result<(), CliError> {
    use http_body_util::BodyExt;
    let request = Request::builder()
        .method(Method::GET)
        .uri(path)
        .body(kube::client::Body::empty())
        .map_err(|e| CliError::msg(e.to_string()))?;
    let trace = crate::trace::Request::start(&request);
    let response = answer_of(client, request).await?;
    let (parts, mut body) = response.into_parts();
    if !parts.status.is_success() {
        let bytes = body.collect_bytes().await?.to_vec();
        trace.finish(&parts, &bytes);
        return Err(CliError::from_response(parts.status, &bytes));
    }
    trace.finish(&parts, b"");
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(CliError::from)?.into_data() else {
            continue;
        };
        out.write_all(&data)
            .and_then(|()| out.flush())
            .map_err(|e| CliError::msg(e.to_string()))?;
    }
    Ok(())
}
