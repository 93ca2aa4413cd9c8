//! The browser session of the OAuth server: after a login-form sign-in, the `ssn` cookie
//! names the user until it expires or `/logout` clears it. The cookie is the user's name, uid
//! and expiry, signed with HMAC-SHA256 under a key kept in the server's data directory, so it
//! survives restarts and cannot be forged. A second cookie, `csrf`, carries a random value that
//! the server's own forms must echo (double submit), so that another site cannot post them.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SESSION_COOKIE: &str = "ssn";
pub const CSRF_COOKIE: &str = "csrf";
/// How long a login lasts (upstream's default `sessionMaxAgeSeconds`).
pub const SESSION_MAX_AGE: i64 = 300;

pub struct SessionKey([u8; 32]);

impl SessionKey {
    pub fn random() -> SessionKey {
        SessionKey(rand::random())
    }

    /// The key stored at `path`, created (readable by the owner only) on first use.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<SessionKey> {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(SessionKey(key));
        }
        let key = SessionKey::random();
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&key.0)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(key)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        // A 32-byte key is always a valid HMAC key.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// The cookie value naming `user` (name, uid) until `expires` (seconds).
    pub fn seal(&self, user: &(String, String), expires: i64) -> String {
        let payload = serde_json::json!([user.0, user.1, expires]).to_string();
        let signature = self.mac(payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The user a cookie value names, if it is genuine and unexpired at `now`.
    pub fn open(&self, value: &str, now: i64) -> Option<(String, String)> {
        let (payload, signature) = value.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).ok()?;
        mac.update(&payload);
        mac.verify_slice(&signature).ok()?;
        let (name, uid, expires): (String, String, i64) = serde_json::from_slice(&payload).ok()?;
        (expires > now).then_some((name, uid))
    }
}

/// The value of cookie `name` in a request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for the OAuth pages: secure, HTTP only, same-site.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a form's `csrf` field matches the request's CSRF cookie.
pub fn csrf_matches(headers: &HeaderMap, field: &str) -> bool {
    !field.is_empty() && cookie(headers, CSRF_COOKIE) == Some(field)
}

/// The request's CSRF value, or a fresh one (with the cookie to set) if it has none.
pub fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF_COOKIE).filter(|v| v.len() >= 16) {
        Some(value) => (value.to_string(), None),
        None => {
            let value = super::tokens::random_token();
            let header = set_cookie(CSRF_COOKIE, &value, 86_400);
            (value, Some(header))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_signed_and_expire() {
        let key = SessionKey::random();
        let user = ("alice".to_string(), "u-1".to_string());
        let sealed = key.seal(&user, 1_000);
        assert_eq!(key.open(&sealed, 999), Some(user.clone()));
        assert_eq!(key.open(&sealed, 1_000), None);
        assert_eq!(SessionKey::random().open(&sealed, 0), None);
        // A forged payload under the genuine signature is refused.
        let (_, signature) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(r#"["root","u-0",9999]"#);
        assert_eq!(key.open(&format!("{forged}.{signature}"), 0), None);
        assert_eq!(key.open("garbage", 0), None);
    }

    #[test]
    fn keys_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("session.key");
        let a = SessionKey::load_or_create(&path).unwrap();
        let b = SessionKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; ssn=xyz"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "b"), None);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("csrf=0123456789abcdef0"),
        );
        assert!(csrf_matches(&headers, "0123456789abcdef0"));
        assert!(!csrf_matches(&headers, "other"));
        assert_eq!(csrf_token(&headers).0, "0123456789abcdef0");
    }
}
