//! What each registry token the token server issued stands for: the OpenShift token its caller
//! authenticated with (none for anonymous callers) and the access it grants. docker-registry
//! only reads a token's signed claims, but the signature extension the registry's front serves
//! acts as the caller through the API, as OpenShift's registry does with the OpenShift token
//! its clients send; the front finds that token here by the registry token it was given.
//! Entries are kept by the registry token's SHA-256, as long as the token lives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use auth::registry_tokens::Access;

/// Past this many live entries the oldest half is dropped (a token is asked for per pull or
/// push, so this is far above what a node's clients hold at once).
const MOST: usize = 50_000;

/// What one registry token was issued for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The OpenShift token (OAuth or service account) the caller authenticated with.
    pub token: Option<String>,
    pub access: Vec<Access>,
}

impl Grant {
    /// Whether the token grants `action` on the repository `name`.
    pub fn allows(&self, name: &str, action: &str) -> bool {
        self.access.iter().any(|a| {
            a.kind == "repository" && a.name == name && a.actions.iter().any(|x| x == action)
        })
    }
}

#[derive(Default)]
pub(crate) struct Grants {
    issued: Mutex<HashMap<[u8; 32], (Grant, Instant)>>,
}

fn key(registry_token: &str) -> [u8; 32] {
    Sha256::digest(registry_token.as_bytes()).into()
}

impl Grants {
    pub(crate) fn remember(&self, registry_token: &str, grant: Grant, lifetime: Duration) {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if issued.len() >= MOST {
            issued.retain(|_, (_, until)| until.elapsed().is_zero());
            if issued.len() >= MOST {
                let mut ends: Vec<Instant> = issued.values().map(|(_, until)| *until).collect();
                ends.sort_unstable();
                let cut = ends[ends.len() / 2];
                issued.retain(|_, (_, until)| *until > cut);
            }
        }
        issued.insert(key(registry_token), (grant, Instant::now() + lifetime));
    }

    /// The grant of a live registry token the token server issued.
    pub(crate) fn get(&self, registry_token: &str) -> Option<Grant> {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued
            .get(&key(registry_token))
            .filter(|(_, until)| Instant::now() < *until)
            .map(|(grant, _)| grant.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(name: &str) -> Grant {
        Grant {
            token: Some("sha256~t".into()),
            access: vec![Access {
                kind: "repository".into(),
                name: name.into(),
                actions: vec!["pull".into()],
            }],
        }
    }

    #[test]
    fn grants_are_found_by_their_token_while_it_lives() {
        let grants = Grants::default();
        grants.remember("jwt-a", pull("ns/app"), Duration::from_secs(300));
        grants.remember("jwt-b", pull("ns/b"), Duration::ZERO);
        let a = grants.get("jwt-a").unwrap();
        assert_eq!(a.token.as_deref(), Some("sha256~t"));
        assert!(a.allows("ns/app", "pull"));
        assert!(!a.allows("ns/app", "push"));
        assert!(!a.allows("ns/other", "pull"));
        assert_eq!(grants.get("jwt-b"), None, "expired");
        assert_eq!(grants.get("sha256~t"), None, "not a registry token");
    }

    #[test]
    fn the_oldest_are_dropped_past_the_bound() {
        let grants = Grants::default();
        for i in 0..MOST {
            grants.remember(
                &format!("t{i}"),
                pull("ns/app"),
                Duration::from_secs(300 + i as u64),
            );
        }
        grants.remember("newest", pull("ns/app"), Duration::from_secs(10_000));
        let kept = grants.issued.lock().unwrap().len();
        assert!(kept <= MOST / 2 + 1, "{kept}");
        assert!(grants.get("newest").is_some());
        assert!(grants.get(&format!("t{}", MOST - 1)).is_some());
        assert!(grants.get("t0").is_none());
    }
}
