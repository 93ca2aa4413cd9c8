//! What the image pull secret controller decides, without the API: the secret's name, its
//! `.dockercfg`, whether its token is due for renewal and the service account's pull secrets.

use base64::Engine;
use serde_json::{Value, json};

/// The service account's annotation naming its pull secret (upstream's name).
pub const SECRET_REF: &str = "openshift.io/internal-registry-pull-secret-ref";
/// The secret's annotation naming its service account (upstream's name).
pub const SERVICE_ACCOUNT: &str = "openshift.io/internal-registry-auth-token.service-account";
/// The secret's annotation saying its token is bound (upstream's name and value).
pub const BINDING: &str = "openshift.io/internal-registry-auth-token.binding";
/// When the secret's token expires (Unix seconds), to renew it in time.
pub const EXPIRES: &str = "openshift.io/internal-registry-auth-token.expires";
/// Which registry host the secret was written for.
pub const HOST: &str = "openshift.io/internal-registry-auth-token.host";

/// How long a requested token lives.
pub const TOKEN_SECONDS: i64 = 3600;

/// Consonants and digits, as the API server's generated names use: no words, no look-alikes.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `<sa>-dockercfg-<5 chars>`; the suffix is drawn from the account's uid, so a retried
/// reconcile names the same secret instead of leaving a second one.
pub fn secret_name(account: &str, uid: &str) -> String {
    // FNV-1a: stable across builds and processes, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let suffix: String = (0..5)
        .map(|i| {
            let n = ALPHABET.len() as u64;
            let idx = (hash / n.pow(i)) % n;
            char::from(ALPHABET[idx as usize])
        })
        .collect();
    format!("{account}-dockercfg-{suffix}")
}

/// The `.dockercfg` of a token for the registry at `host`: the user name is upstream's
/// `<token>`, the token the password.
pub fn dockercfg(host: &str, token: &str) -> Value {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("<token>:{token}"));
    json!({ host: { "username": "<token>", "password": token, "auth": auth } })
}

/// Whether a secret written for `host` and expiring at `expires` needs a new token at `now`:
/// another host, no known expiry, or less than a third of the lifetime left.
pub fn needs_token(secret_host: Option<&str>, expires: Option<i64>, host: &str, now: i64) -> bool {
    match (secret_host, expires) {
        (Some(h), Some(e)) if h == host => e - now < TOKEN_SECONDS / 3,
        _ => true,
    }
}

/// When to look again at a token expiring at `expires`: once a third of its life is left.
pub fn renew_in(expires: i64, now: i64) -> i64 {
    (expires - TOKEN_SECONDS / 3 - now).max(1)
}

/// The account's pull secrets with `secret` added, or `None` when it is there already.
pub fn with_pull_secret(current: &[String], secret: &str) -> Option<Vec<String>> {
    if current.iter().any(|s| s == secret) {
        return None;
    }
    let mut all = current.to_vec();
    all.push(secret.to_string());
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_stable_per_uid_and_has_five_chars() {
        let a = secret_name("default", "0c1d-uid");
        assert_eq!(a, secret_name("default", "0c1d-uid"));
        assert_ne!(a, secret_name("default", "other-uid"));
        let suffix = a.strip_prefix("default-dockercfg-").unwrap_or_default();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn the_dockercfg_carries_the_token_for_the_host() {
        let cfg = dockercfg("127.0.0.1:5000", "tok");
        let entry = &cfg["127.0.0.1:5000"];
        assert_eq!(entry["password"], "tok");
        assert_eq!(entry["username"], "<token>");
        let auth = base64::engine::general_purpose::STANDARD
            .decode(entry["auth"].as_str().unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(auth, b"<token>:tok");
    }

    #[test]
    fn tokens_are_renewed_for_another_host_or_near_expiry() {
        let host = "127.0.0.1:5000";
        assert!(needs_token(None, None, host, 0));
        assert!(needs_token(Some("127.0.0.1:6000"), Some(10_000), host, 0));
        assert!(!needs_token(Some(host), Some(TOKEN_SECONDS), host, 0));
        assert!(needs_token(
            Some(host),
            Some(TOKEN_SECONDS),
            host,
            TOKEN_SECONDS - 10
        ));
        assert_eq!(
            renew_in(TOKEN_SECONDS, 0),
            TOKEN_SECONDS - TOKEN_SECONDS / 3
        );
        assert_eq!(renew_in(0, 100), 1);
    }

    #[test]
    fn the_pull_secret_is_added_once() {
        let have = vec!["other".to_string()];
        assert_eq!(
            with_pull_secret(&have, "default-dockercfg-abcde"),
            Some(vec!["other".into(), "default-dockercfg-abcde".into()])
        );
        assert_eq!(with_pull_secret(&have, "other"), None);
    }
}
