//! Finding how to talk to a registry: `GET /v2/` over HTTPS (verified unless insecure), then
//! plain HTTP when insecure access is allowed and HTTPS failed; the answer's challenge says
//! which authentication the registry wants. Results are kept for a while per registry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;

use crate::challenge::{self, Challenge};
use crate::transport::{SendError, Transport, Trust};
use crate::{Options, RegistryError};

/// As upstream's registry client, the ping has a deadline of its own.
const PING_TIMEOUT: Duration = Duration::from_secs(15);
const KEEP: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// `https://host[:port]` or `http://host[:port]`.
    pub base: String,
    pub trust: Trust,
    pub auth: Auth,
}

#[derive(Default)]
pub(crate) struct Endpoints {
    known: Mutex<HashMap<(String, Trust), (Endpoint, Instant)>>,
}

impl Endpoints {
    pub(crate) async fn get(
        &self,
        transport: &Transport,
        registry: &str,
        o: &Options,
    ) -> Result<Endpoint, RegistryError> {
        let key = (registry.to_string(), trust_of(registry, o));
        if let Ok(known) = self.known.lock()
            && let Some((endpoint, at)) = known.get(&key)
            && at.elapsed() < KEEP
        {
            return Ok(endpoint.clone());
        }
        let endpoint = discover(transport, registry, o).await?;
        if let Ok(mut known) = self.known.lock() {
            known.insert(key, (endpoint.clone(), Instant::now()));
        }
        Ok(endpoint)
    }

    /// Forgets what was learnt about a registry (it stopped answering as it did).
    pub(crate) fn forget(&self, registry: &str) {
        if let Ok(mut known) = self.known.lock() {
            known.retain(|(r, _), _| r != registry);
        }
    }
}

/// How `registry`'s certificate is checked: not at all when insecure, against its trusted CAs
/// when the caller has some for it, else against the system's roots.
fn trust_of(registry: &str, o: &Options) -> Trust {
    if o.insecure {
        return Trust::Unverified;
    }
    match o.trusted_cas.iter().find(|(host, _)| host == registry) {
        Some((_, pem)) => Trust::Bundle(pem.clone()),
        None => Trust::System,
    }
}

async fn discover(
    transport: &Transport,
    registry: &str,
    o: &Options,
) -> Result<Endpoint, RegistryError> {
    let timeout = o.timeout.min(PING_TIMEOUT);
    let https = format!("https://{registry}");
    let trust = trust_of(registry, o);
    match ping(transport, &https, &trust, timeout).await {
        Ok(auth) => {
            return Ok(Endpoint {
                base: https,
                trust,
                auth,
            });
        }
        Err(SendError::Registry(e)) => return Err(e),
        Err(SendError::HttpOnly) if !o.insecure => {
            return Err(RegistryError::HttpOnly {
                registry: registry.into(),
            });
        }
        Err(SendError::Failed(message)) if !o.insecure => {
            return Err(RegistryError::Unreachable {
                registry: registry.into(),
                message,
            });
        }
        Err(_) => {}
    }
    let http = format!("http://{registry}");
    match ping(transport, &http, &Trust::System, timeout).await {
        Ok(auth) => Ok(Endpoint {
            base: http,
            trust: Trust::System,
            auth,
        }),
        Err(SendError::Registry(e)) => Err(e),
        Err(SendError::HttpOnly) => Err(RegistryError::Unreachable {
            registry: registry.into(),
            message: "no HTTP answer".into(),
        }),
        Err(SendError::Failed(message)) => Err(RegistryError::Unreachable {
            registry: registry.into(),
            message,
        }),
    }
}

async fn ping(
    transport: &Transport,
    base: &str,
    trust: &Trust,
    timeout: Duration,
) -> Result<Auth, SendError> {
    let request = Request::get(format!("{base}/v2/"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| SendError::Registry(RegistryError::protocol(e.to_string())))?;
    let answer = transport
        .exchange(request, trust, timeout, 64 << 10)
        .await?;
    match answer.status {
        StatusCode::UNAUTHORIZED => {
            let challenges: Vec<Challenge> = answer
                .headers
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(challenge::parse)
                .collect();
            let bearer = challenges.iter().find_map(|c| match c {
                Challenge::Bearer { realm, service } => Some(Auth::Bearer {
                    realm: realm.clone(),
                    service: service.clone(),
                }),
                Challenge::Basic => None,
            });
            match bearer {
                Some(b) => Ok(b),
                None if challenges.contains(&Challenge::Basic) => Ok(Auth::Basic),
                None => Err(SendError::Registry(RegistryError::protocol(format!(
                    "{base}/v2/ asks for an authentication this client does not support"
                )))),
            }
        }
        s if s.is_success() || s == StatusCode::FORBIDDEN => Ok(Auth::None),
        s => Err(SendError::Registry(RegistryError::protocol(format!(
            "endpoint \"{base}/v2/\" does not support v2 API (got {s})"
        )))),
    }
}
