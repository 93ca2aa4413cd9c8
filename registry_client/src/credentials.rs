//! Credentials for registries: read from `kubernetes.io/dockerconfigjson` (and the older
//! `kubernetes.io/dockercfg`) secrets, and matched to a registry host as the kubelet's keyring
//! does (scheme and path of the key ignored, default ports optional, Docker Hub's aliases).

use base64::Engine;
use serde::Deserialize;

/// `(registry, user, password)`.
pub type Credential = (String, String, String);

#[derive(Deserialize)]
struct ConfigJson {
    auths: Option<std::collections::BTreeMap<String, Entry>>,
}

#[derive(Deserialize, Default)]
struct Entry {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The credentials of a `.dockerconfigjson` (`{"auths": {...}}`) or `.dockercfg` (the map
/// alone) document. Entries give `auth` (base64 of `user:password`) or `username` and
/// `password`; unreadable entries are skipped.
pub fn credentials_from_dockerconfigjson(bytes: &[u8]) -> Vec<Credential> {
    let entries = match serde_json::from_slice::<ConfigJson>(bytes) {
        Ok(ConfigJson { auths: Some(auths) }) => auths,
        _ => serde_json::from_slice(bytes).unwrap_or_default(),
    };
    entries
        .into_iter()
        .filter_map(|(registry, entry)| {
            let (user, password) = if entry.auth.is_empty() {
                (entry.username, entry.password)
            } else {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(entry.auth.trim())
                    .ok()?;
                let decoded = String::from_utf8(decoded).ok()?;
                let (u, p) = decoded.split_once(':')?;
                (u.to_string(), p.to_string())
            };
            (!user.is_empty() || !password.is_empty()).then_some((registry, user, password))
        })
        .collect()
}

/// The user and password for `registry` (`host[:port]`): the first entry naming the same host,
/// else one naming it without (or with) its default port, else for Docker Hub any of its names.
pub(crate) fn lookup<'a>(
    credentials: &'a [Credential],
    registry: &str,
) -> Option<(&'a str, &'a str)> {
    let wanted = registry.to_ascii_lowercase();
    let found = |test: &dyn Fn(&str) -> bool| {
        credentials
            .iter()
            .find(|(r, _, _)| test(&host_of(r)))
            .map(|(_, u, p)| (u.as_str(), p.as_str()))
    };
    found(&|h| h == wanted)
        .or_else(|| found(&|h| without_default_port(h) == without_default_port(&wanted)))
        .or_else(|| {
            (is_docker_hub(&wanted))
                .then(|| found(&|h| is_docker_hub(h)))
                .flatten()
        })
}

/// The host part of a credential's key: `https://index.docker.io/v1/` → `index.docker.io`.
fn host_of(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key).to_ascii_lowercase()
}

fn without_default_port(host: &str) -> &str {
    host.strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(host)
}

fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auth_and_username_password_entries() {
        let doc = br#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYTpzcw=="},
            "https://index.docker.io/v1/":{"username":"hub","password":"secret"},
            "broken.example":{"auth":"!!"}}}"#;
        let creds = credentials_from_dockerconfigjson(doc);
        assert_eq!(
            creds,
            vec![
                ("127.0.0.1:5000".into(), "user".into(), "pa:ss".into()),
                (
                    "https://index.docker.io/v1/".into(),
                    "hub".into(),
                    "secret".into()
                ),
            ]
        );
        assert_eq!(lookup(&creds, "127.0.0.1:5000"), Some(("user", "pa:ss")));
        assert_eq!(lookup(&creds, "docker.io"), Some(("hub", "secret")));
        assert_eq!(lookup(&creds, "127.0.0.1:5001"), None);
    }

    #[test]
    fn reads_the_older_dockercfg_map() {
        let creds = credentials_from_dockerconfigjson(br#"{"r.example:443":{"auth":"YTpi"}}"#);
        assert_eq!(lookup(&creds, "r.example"), Some(("a", "b")));
        assert!(credentials_from_dockerconfigjson(b"[]").is_empty());
    }
}
