//! Bearer tokens from a registry's token server (docker's token authentication spec):
//! `GET <realm>?service=<service>&scope=<scope>` with Basic credentials when there are some;
//! tokens are kept until shortly before they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::transport::{SendError, Transport};
use crate::{RegistryError, UnauthorizedReason};

/// A token's life when the server does not say, and the shortest one honoured (the spec's).
const MIN_LIFE: u64 = 60;
/// Tokens are renewed this long before they expire.
const MARGIN: Duration = Duration::from_secs(10);

/// What stays unescaped in a query value (RFC 3986 unreserved).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: String,
    #[serde(default)]
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    realm: String,
    service: String,
    scope: String,
    user: String,
    /// The password's digest: a token fetched with other credentials is never reused.
    password: String,
}

#[derive(Default)]
pub(crate) struct Tokens {
    known: Mutex<HashMap<Key, (String, Instant)>>,
}

pub(crate) struct TokenRequest<'a> {
    pub realm: &'a str,
    pub service: Option<&'a str>,
    pub scope: &'a str,
    pub credentials: Option<(&'a str, &'a str)>,
    pub trust: crate::transport::Trust,
    pub timeout: Duration,
}

impl Tokens {
    pub(crate) async fn get(
        &self,
        transport: &Transport,
        r: TokenRequest<'_>,
    ) -> Result<String, RegistryError> {
        let key = Key {
            realm: r.realm.into(),
            service: r.service.unwrap_or_default().into(),
            scope: r.scope.into(),
            user: r.credentials.map(|(u, _)| u).unwrap_or_default().into(),
            password: crate::sha256_digest(
                r.credentials.map(|(_, p)| p).unwrap_or_default().as_bytes(),
            ),
        };
        if let Ok(known) = self.known.lock()
            && let Some((token, until)) = known.get(&key)
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, life) = fetch(transport, &r).await?;
        let until = Instant::now() + life.saturating_sub(MARGIN);
        if let Ok(mut known) = self.known.lock() {
            known.retain(|_, (_, u)| Instant::now() < *u);
            known.insert(key, (token.clone(), until));
        }
        Ok(token)
    }

    /// Drops every kept token (one was refused).
    pub(crate) fn forget(&self) {
        if let Ok(mut known) = self.known.lock() {
            known.clear();
        }
    }
}

async fn fetch(
    transport: &Transport,
    r: &TokenRequest<'_>,
) -> Result<(String, Duration), RegistryError> {
    let mut url = r.realm.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    let mut add = |k: &str, v: &str| {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.push_str(&utf8_percent_encode(v, QUERY).to_string());
        sep = '&';
    };
    if let Some(service) = r.service {
        add("service", service);
    }
    add("scope", r.scope);
    if let Some((user, _)) = r.credentials
        && !user.is_empty()
    {
        add("account", user);
    }
    let mut request = Request::get(&url);
    if let Some((user, password)) = r.credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
    }
    let request = request
        .body(Full::new(Bytes::new()))
        .map_err(|_| RegistryError::protocol(format!("invalid token realm {:?}", r.realm)))?;
    let answer = match transport
        .exchange(request, &r.trust, r.timeout, 1 << 20)
        .await
    {
        Ok(a) => a,
        Err(SendError::Registry(e)) => return Err(e),
        Err(SendError::HttpOnly) => {
            return Err(RegistryError::Unreachable {
                registry: r.realm.into(),
                message: "the token server speaks plain HTTP".into(),
            });
        }
        Err(SendError::Failed(message)) => {
            return Err(RegistryError::Unreachable {
                registry: r.realm.into(),
                message,
            });
        }
    };
    match answer.status {
        s if s.is_success() => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(match r.credentials {
                Some(_) => RegistryError::Unauthorized {
                    reason: UnauthorizedReason::BadCredentials,
                    message: "incorrect username or password".into(),
                },
                None => RegistryError::Unauthorized {
                    reason: UnauthorizedReason::NoCredentials,
                    message: "the token server requires credentials".into(),
                },
            });
        }
        s => {
            return Err(RegistryError::protocol(format!(
                "the token server answered {s}"
            )));
        }
    }
    let parsed: TokenAnswer = serde_json::from_slice(&answer.body)
        .map_err(|e| RegistryError::protocol(format!("unreadable token answer: {e}")))?;
    let token = if parsed.token.is_empty() {
        parsed.access_token
    } else {
        parsed.token
    };
    if token.is_empty() {
        return Err(RegistryError::protocol("the token server sent no token"));
    }
    let life = parsed.expires_in.unwrap_or(MIN_LIFE).max(MIN_LIFE);
    Ok((token, Duration::from_secs(life)))
}
