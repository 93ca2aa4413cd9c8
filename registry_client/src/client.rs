//! The operations: manifests, blobs and tag lists of one repository, each request authorized
//! as the registry's ping asked, retried on temporary failures, and its answer verified.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;

use crate::credentials::lookup;
use crate::digest::{is_digest, sha256_digest, verify};
use crate::endpoint::{Auth, Endpoint, Endpoints};
use crate::media_types::{self, MANIFEST_ACCEPT};
use crate::token::{TokenRequest, Tokens};
use crate::transport::{Answer, SendError, Transport};
use crate::{MAX_MANIFEST_BYTES, Manifest, Options, RegistryError, Target, UnauthorizedReason};

/// Attempts after the first for connection failures, 429 and 5xx answers (as upstream's).
const RETRIES: u32 = 2;
const MAX_REDIRECTS: usize = 5;
/// A tag list longer than this many pages is refused rather than followed forever.
const MAX_TAG_PAGES: usize = 100;

/// One per process: it keeps connection pools, what each registry's ping said and tokens.
pub struct RegistryClient {
    transport: Transport,
    endpoints: Endpoints,
    tokens: Tokens,
}

impl Default for RegistryClient {
    fn default() -> Self {
        Self::new()
    }
}

/// How one request is authorized.
enum Authorization<'a> {
    /// As the registry's challenge asks, with the options' credentials.
    Challenge,
    /// With a token the caller already holds (e.g. one it issued itself).
    Bearer(&'a str),
}

/// One GET of one repository.
struct Get<'a> {
    registry: &'a str,
    repository: &'a str,
    path: String,
    accept: &'a [&'a str],
    limit: usize,
    /// What a 404 names.
    what: String,
    authorization: Authorization<'a>,
}

#[derive(Deserialize)]
struct ErrorsBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    pub fn new() -> Self {
        RegistryClient {
            transport: Transport::new(),
            endpoints: Endpoints::default(),
            tokens: Tokens::default(),
        }
    }

    /// Checks that `registry` speaks the v2 API (`GET /v2/`), as `oc registry info --check`.
    pub async fn ping(&self, registry: &str, o: &Options) -> Result<(), RegistryError> {
        check_registry(registry)?;
        self.endpoints.forget(registry);
        self.endpoints.get(&self.transport, registry, o).await?;
        Ok(())
    }

    /// The manifest `t` names (tag or digest), verified against the digest asked for or the
    /// one the registry announced (`Docker-Content-Digest`).
    pub async fn manifest(&self, t: Target<'_>, o: &Options) -> Result<Manifest, RegistryError> {
        self.manifest_authorized(t, o, Authorization::Challenge)
            .await
    }

    /// [`manifest`](Self::manifest) with a Bearer token the caller holds.
    pub async fn manifest_with_token(
        &self,
        t: Target<'_>,
        o: &Options,
        token: &str,
    ) -> Result<Manifest, RegistryError> {
        self.manifest_authorized(t, o, Authorization::Bearer(token))
            .await
    }

    /// The blob `t.reference` (a digest), at most `max` bytes, verified against its digest.
    pub async fn blob(
        &self,
        t: Target<'_>,
        o: &Options,
        max: usize,
    ) -> Result<Bytes, RegistryError> {
        self.blob_authorized(t, o, max, Authorization::Challenge)
            .await
    }

    /// [`blob`](Self::blob) with a Bearer token the caller holds.
    pub async fn blob_with_token(
        &self,
        t: Target<'_>,
        o: &Options,
        max: usize,
        token: &str,
    ) -> Result<Bytes, RegistryError> {
        self.blob_authorized(t, o, max, Authorization::Bearer(token))
            .await
    }

    /// Every tag of a repository, following the `Link` header across pages.
    pub async fn tags(
        &self,
        registry: &str,
        repository: &str,
        o: &Options,
    ) -> Result<Vec<String>, RegistryError> {
        check_registry(registry)?;
        check_repository(repository)?;
        let mut tags = Vec::new();
        let mut path = format!("/v2/{repository}/tags/list");
        for _ in 0..MAX_TAG_PAGES {
            let answer = self
                .get(
                    Get {
                        registry,
                        repository,
                        path: path.clone(),
                        accept: &["application/json"],
                        limit: 4 << 20,
                        what: format!("repository {registry}/{repository}"),
                        authorization: Authorization::Challenge,
                    },
                    o,
                )
                .await?;
            let page: TagList = serde_json::from_slice(&answer.body)
                .map_err(|e| RegistryError::protocol(format!("unreadable tag list: {e}")))?;
            tags.extend(page.tags.unwrap_or_default());
            match next_page(&answer.headers) {
                Some(next) => path = next,
                None => return Ok(tags),
            }
        }
        Err(RegistryError::protocol(format!(
            "the tag list of {repository} has more than {MAX_TAG_PAGES} pages"
        )))
    }

    async fn manifest_authorized(
        &self,
        t: Target<'_>,
        o: &Options,
        authorization: Authorization<'_>,
    ) -> Result<Manifest, RegistryError> {
        let reference = if t.reference.is_empty() {
            "latest"
        } else {
            t.reference
        };
        check_registry(t.registry)?;
        check_repository(t.repository)?;
        check_reference(reference)?;
        let answer = self
            .get(
                Get {
                    registry: t.registry,
                    repository: t.repository,
                    path: format!("/v2/{}/manifests/{reference}", t.repository),
                    accept: &MANIFEST_ACCEPT,
                    limit: MAX_MANIFEST_BYTES,
                    what: format!("manifest {}/{}:{reference}", t.registry, t.repository),
                    authorization,
                },
                o,
            )
            .await?;
        let media_type = media_type_of(&answer);
        let digest = if is_digest(reference) {
            verify(reference, &answer.body)?
        } else {
            match announced_digest(&answer.headers) {
                // Signed schema 1 manifests are announced by the digest of their payload
                // without signatures; only the other kinds hash as they are served.
                Some(d) if d.starts_with("sha256:") && !is_schema1(&media_type) => {
                    verify(&d, &answer.body)?
                }
                _ => sha256_digest(&answer.body),
            }
        };
        Ok(Manifest {
            digest,
            media_type,
            bytes: answer.body,
        })
    }

    async fn blob_authorized(
        &self,
        t: Target<'_>,
        o: &Options,
        max: usize,
        authorization: Authorization<'_>,
    ) -> Result<Bytes, RegistryError> {
        check_registry(t.registry)?;
        check_repository(t.repository)?;
        if !is_digest(t.reference) {
            return Err(RegistryError::protocol(format!(
                "a blob is named by its digest, not {:?}",
                t.reference
            )));
        }
        check_reference(t.reference)?;
        let answer = self
            .get(
                Get {
                    registry: t.registry,
                    repository: t.repository,
                    path: format!("/v2/{}/blobs/{}", t.repository, t.reference),
                    accept: &["*/*"],
                    limit: max,
                    what: format!("blob {}/{}@{}", t.registry, t.repository, t.reference),
                    authorization,
                },
                o,
            )
            .await?;
        verify(t.reference, &answer.body)?;
        Ok(answer.body)
    }

    /// One GET with retries; a refused cached token is replaced once.
    async fn get(&self, g: Get<'_>, o: &Options) -> Result<Answer, RegistryError> {
        let endpoint = self.endpoints.get(&self.transport, g.registry, o).await?;
        let mut attempt = 0;
        let mut fresh_token = false;
        loop {
            let result = self.get_once(&endpoint, &g, o).await;
            match result {
                Ok(answer) if answer.status.is_success() => return Ok(answer),
                Ok(answer) => {
                    let status = answer.status;
                    if status == StatusCode::UNAUTHORIZED
                        && !fresh_token
                        && matches!(endpoint.auth, Auth::Bearer { .. })
                        && matches!(g.authorization, Authorization::Challenge)
                    {
                        fresh_token = true;
                        self.tokens.forget();
                        continue;
                    }
                    if retryable(status) && attempt < RETRIES {
                        attempt += 1;
                        tokio::time::sleep(backoff(status, attempt)).await;
                        continue;
                    }
                    return Err(error_of(&answer, &g, o, &endpoint));
                }
                Err(RegistryError::Unreachable { .. }) if attempt < RETRIES => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => {
                    if e.is_temporary() {
                        self.endpoints.forget(g.registry);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One GET, following redirects (blobs are often served from elsewhere); credentials go
    /// only to the registry itself.
    async fn get_once(
        &self,
        endpoint: &Endpoint,
        g: &Get<'_>,
        o: &Options,
    ) -> Result<Answer, RegistryError> {
        let authorization = self.authorization(endpoint, g, o).await?;
        let mut url = format!("{}{}", endpoint.base, g.path);
        for _ in 0..=MAX_REDIRECTS {
            let own = url.starts_with(&format!("{}/", endpoint.base));
            let mut request = Request::get(&url);
            for a in g.accept {
                request = request.header(http::header::ACCEPT, *a);
            }
            if own && let Some(value) = &authorization {
                request = request.header(http::header::AUTHORIZATION, value);
            }
            let request = request
                .body(Full::new(Bytes::new()))
                .map_err(|_| RegistryError::protocol(format!("invalid URL {url:?}")))?;
            let answer = match self
                .transport
                .exchange(request, &endpoint.trust, o.timeout, g.limit)
                .await
            {
                Ok(a) => a,
                Err(SendError::Registry(e)) => return Err(e),
                Err(SendError::HttpOnly) => {
                    return Err(RegistryError::HttpOnly {
                        registry: g.registry.into(),
                    });
                }
                Err(SendError::Failed(message)) => {
                    return Err(RegistryError::Unreachable {
                        registry: g.registry.into(),
                        message,
                    });
                }
            };
            if !answer.status.is_redirection() {
                return Ok(answer);
            }
            let location = answer
                .headers
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| RegistryError::protocol("a redirect without a location"))?;
            url = resolve(&endpoint.base, location);
        }
        Err(RegistryError::protocol(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    async fn authorization(
        &self,
        endpoint: &Endpoint,
        g: &Get<'_>,
        o: &Options,
    ) -> Result<Option<String>, RegistryError> {
        if let Authorization::Bearer(token) = g.authorization {
            return Ok(Some(format!("Bearer {token}")));
        }
        let credentials = lookup(&o.credentials, g.registry);
        match &endpoint.auth {
            Auth::None => Ok(None),
            Auth::Basic => Ok(credentials.map(|(u, p)| {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                format!("Basic {basic}")
            })),
            Auth::Bearer { realm, service } => {
                let scope = format!("repository:{}:pull", g.repository);
                let token = self
                    .tokens
                    .get(
                        &self.transport,
                        TokenRequest {
                            realm,
                            service: service.as_deref(),
                            scope: &scope,
                            credentials,
                            trust: endpoint.trust.clone(),
                            timeout: o.timeout,
                        },
                    )
                    .await?;
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

fn backoff(status: StatusCode, attempt: u32) -> Duration {
    let base = if status == StatusCode::TOO_MANY_REQUESTS {
        500
    } else {
        250
    };
    Duration::from_millis(base * u64::from(attempt))
}

/// The error a failed answer means, using the registry's error code when it sent one.
fn error_of(answer: &Answer, g: &Get<'_>, o: &Options, endpoint: &Endpoint) -> RegistryError {
    let first = serde_json::from_slice::<ErrorsBody>(&answer.body)
        .ok()
        .and_then(|b| b.errors.into_iter().next());
    let code = first.as_ref().map(|e| e.code.clone());
    let message = first
        .as_ref()
        .map(|e| e.message.clone())
        .filter(|m| !m.is_empty());
    match answer.status {
        StatusCode::NOT_FOUND => RegistryError::NotFound {
            what: g.what.clone(),
            code,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let has_credentials = matches!(g.authorization, Authorization::Bearer(_))
                || lookup(&o.credentials, g.registry).is_some();
            let reason = if answer.status == StatusCode::FORBIDDEN {
                UnauthorizedReason::Denied
            } else if !has_credentials {
                UnauthorizedReason::NoCredentials
            } else if endpoint.auth == Auth::Basic {
                UnauthorizedReason::BadCredentials
            } else {
                UnauthorizedReason::Denied
            };
            RegistryError::Unauthorized {
                reason,
                message: message.unwrap_or_else(|| "authentication required".into()),
            }
        }
        s => RegistryError::protocol(format!(
            "{} answered {s}{}",
            g.registry,
            message.map(|m| format!(": {m}")).unwrap_or_default()
        )),
    }
}

fn announced_digest(headers: &HeaderMap) -> Option<String> {
    headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn is_schema1(media_type: &str) -> bool {
    media_type == media_types::DOCKER_SCHEMA1_SIGNED || media_type == media_types::DOCKER_SCHEMA1
}

/// `Content-Type` without parameters, unless it is generic; then the manifest's own type.
fn media_type_of(answer: &Answer) -> String {
    let declared = answer
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .unwrap_or_default();
    if declared.is_empty() || declared == "application/json" || declared == "text/plain" {
        media_types::sniff(&answer.body).unwrap_or(declared)
    } else {
        declared
    }
}

/// The path of the next page in `Link: <...>; rel="next"`.
fn next_page(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then_some(())?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let path = match target.find("/v2/") {
            Some(i) if !target.starts_with('/') => &target[i..],
            _ => target,
        };
        path.starts_with("/v2/").then(|| path.to_string())
    })
}

/// An absolute URL for a `Location`, relative ones taken against the registry.
fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    }
}

fn check_registry(registry: &str) -> Result<(), RegistryError> {
    let ok = !registry.is_empty()
        && registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then_some(())
        .ok_or_else(|| RegistryError::protocol(format!("invalid registry {registry:?}")))
}

/// Repository names of the distribution grammar (lower-case components joined by `/`).
fn check_repository(repository: &str) -> Result<(), RegistryError> {
    let ok = !repository.is_empty()
        && repository.len() <= 255
        && repository.split('/').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
        });
    ok.then_some(())
        .ok_or_else(|| RegistryError::protocol(format!("invalid repository name {repository:?}")))
}

fn check_reference(reference: &str) -> Result<(), RegistryError> {
    let ok = !reference.is_empty()
        && reference.len() <= 200
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '+'));
    ok.then_some(())
        .ok_or_else(|| RegistryError::protocol(format!("invalid reference {reference:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_link_headers_to_the_next_page() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LINK,
            "</v2/a/b/tags/list?last=x&n=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_page(&h).as_deref(),
            Some("/v2/a/b/tags/list?last=x&n=2")
        );
        h.insert(
            http::header::LINK,
            "<https://r.example/v2/a/tags/list?last=y>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_page(&h).as_deref(), Some("/v2/a/tags/list?last=y"));
        assert_eq!(next_page(&HeaderMap::new()), None);
    }

    #[test]
    fn refuses_names_that_would_leave_the_repository() {
        assert!(check_repository("ns/app").is_ok());
        assert!(check_repository("ns/../x").is_err());
        assert!(check_repository("Ns/app").is_err());
        assert!(check_reference("sha256:abc").is_ok());
        assert!(check_reference("a/b").is_err());
        assert!(check_registry("127.0.0.1:5000").is_ok());
        assert!(check_registry("a/b").is_err());
    }
}
