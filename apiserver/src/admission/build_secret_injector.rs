//! `build.openshift.io/BuildConfigSecretInjector`: a new BuildConfig with a git source and no
//! `sourceSecret` gets the secret of its namespace whose `build.openshift.io/source-secret-
//! match-uri-*` annotation matches the source URL — the longest matching pattern wins — among
//! the secrets its creator may list. Basic-auth secrets are not used for ssh URLs, nor ssh-auth
//! secrets for others. Patterns are upstream's: `<scheme or *>://<host, *.domain or *>/<path
//! with * wildcards>`; one that does not parse is skipped.

use auth::rbac::Attributes as RbacAttributes;
use serde_json::{Value, json};
use storage::ListOptions;

use super::{Attributes, Operation};
use crate::ApiServer;
use crate::authz::authorizer::user_info;
use crate::error::{ApiError, from_storage};
use crate::registry::object;

pub const NAME: &str = "build.openshift.io/BuildConfigSecretInjector";

const ANNOTATION_PREFIX: &str = "build.openshift.io/source-secret-match-uri-";

pub fn applies(a: &Attributes<'_>) -> bool {
    a.def.group == "build.openshift.io"
        && a.def.plural == "buildconfigs"
        && a.subresource.is_empty()
        && a.operation == Operation::Create
        && a.user.is_some()
}

/// A source URL's parts, as Go's `url.Parse` gives them.
struct SourceUrl<'a> {
    scheme: &'a str,
    /// Host and port.
    host: &'a str,
    path: &'a str,
}

fn source_url(uri: &str) -> Option<SourceUrl<'_>> {
    let (scheme, rest) = uri.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    Some(SourceUrl { scheme, host, path })
}

/// One annotation's pattern, compiled.
struct Pattern {
    text: String,
    scheme: regex::Regex,
    host: regex::Regex,
    path: regex::Regex,
}

fn anchored(body: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?:{body})$")).ok()
}

fn pattern(text: &str) -> Option<Pattern> {
    let (scheme, rest) = text.split_once("://")?;
    let scheme = match scheme {
        "*" => "git|http|https|ssh".to_string(),
        "git" | "http" | "https" | "ssh" => regex::escape(scheme),
        _ => return None,
    };
    let slash = rest.find('/')?;
    let (host, path) = (&rest[..slash], &rest[slash..]);
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if host.is_empty() || (host != "*" && (bare.is_empty() || bare.contains(['@', '*']))) {
        return None;
    }
    let host = match host {
        "*" => ".*".to_string(),
        h if h.starts_with("*.") => format!("(?:.*\\.)?{}", regex::escape(bare)),
        h => regex::escape(h),
    };
    let path: Vec<String> = path.split('*').map(regex::escape).collect();
    Some(Pattern {
        text: text.to_string(),
        scheme: anchored(&scheme)?,
        host: anchored(&host)?,
        path: anchored(&path.join(".*"))?,
    })
}

impl Pattern {
    fn matches(&self, url: &SourceUrl<'_>) -> bool {
        self.scheme.is_match(url.scheme)
            && self.host.is_match(url.host)
            && self.path.is_match(url.path)
    }
}

/// The secret (by name) whose pattern matches `uri`, the longest pattern first.
fn matching_secret(secrets: &[Value], uri: &str) -> Option<String> {
    let url = source_url(uri)?;
    let mut candidates: Vec<(Pattern, String)> = Vec::new();
    for secret in secrets {
        let kind = secret["type"].as_str().unwrap_or_default();
        let ssh = url.scheme == "ssh";
        if (kind == "kubernetes.io/basic-auth" && ssh) || (kind == "kubernetes.io/ssh-auth" && !ssh)
        {
            continue;
        }
        let name = secret["metadata"]["name"].as_str().unwrap_or_default();
        let annotations = secret["metadata"]["annotations"].as_object();
        for (key, value) in annotations.into_iter().flatten() {
            let text = value.as_str().unwrap_or_default().trim();
            if !key.starts_with(ANNOTATION_PREFIX) || text.is_empty() {
                continue;
            }
            if let Some(p) = pattern(text) {
                candidates.push((p, name.to_string()));
            }
        }
    }
    // Longest first; among equals, by secret name, so the choice does not vary.
    candidates.sort_by(|(a, an), (b, bn)| b.text.len().cmp(&a.text.len()).then(an.cmp(bn)));
    candidates
        .into_iter()
        .find(|(p, _)| p.matches(&url))
        .map(|(_, name)| name)
}

pub async fn admit(server: &ApiServer, a: &Attributes<'_>, bc: &mut Value) -> Result<(), ApiError> {
    let source = &bc["spec"]["source"];
    let (Some(user), Some(namespace), Some(uri)) =
        (a.user, a.namespace, source["git"]["uri"].as_str())
    else {
        return Ok(());
    };
    if !source["sourceSecret"].is_null() {
        return Ok(());
    }
    // Only the secrets the creator could read themselves.
    let may_list = server
        .authorizer
        .policy()
        .await
        .authorize(
            &user_info(user),
            &RbacAttributes {
                verb: "list".into(),
                namespace: namespace.into(),
                resource: "secrets".into(),
                resource_request: true,
                ..Default::default()
            },
        )
        .allowed();
    if !may_list {
        return Ok(());
    }
    let def = server
        .scheme
        .lookup("", "v1", "secrets")
        .ok_or_else(|| ApiError::Internal("the scheme has no secrets".into()))?;
    let list = server
        .store
        .list(
            &def.namespace_prefix(Some(namespace)),
            ListOptions::default(),
        )
        .await
        .map_err(|e| from_storage(e, object::target(def, "")))?;
    let secrets: Vec<Value> = list
        .kvs
        .iter()
        .filter_map(|kv| object::from_store(kv).ok())
        .collect();
    if let Some(name) = matching_secret(&secrets, uri) {
        bc["spec"]["source"]["sourceSecret"] = json!({"name": name});
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, kind: &str, patterns: &[&str]) -> Value {
        let annotations: serde_json::Map<String, Value> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{ANNOTATION_PREFIX}{i}"), json!(p)))
            .collect();
        json!({"metadata": {"name": name, "annotations": annotations}, "type": kind})
    }

    #[test]
    fn patterns_parse_as_upstreams() {
        assert!(pattern("*://*.example.com/*").is_some());
        assert!(pattern("https://127.0.0.1:8443/*").is_some());
        assert!(pattern("ftp://h/*").is_none());
        assert!(pattern("https://h").is_none());
        assert!(pattern("https://u@h/*").is_none());
        assert!(pattern("https://a*b/*").is_none());
        let p = pattern("*://*.example.com/*").unwrap();
        let url = |u| source_url(u).unwrap();
        assert!(p.matches(&url("https://git.example.com/r.git")));
        assert!(p.matches(&url("ssh://example.com/r")));
        assert!(!p.matches(&url("https://example.org/r")));
        assert!(!p.matches(&url("https://git.example.com:8443/r")));
    }

    #[test]
    fn the_longest_matching_pattern_wins_and_types_fit_the_scheme() {
        let secrets = vec![
            secret("all", "kubernetes.io/basic-auth", &["https://*/*"]),
            secret(
                "repo",
                "kubernetes.io/basic-auth",
                &["https://127.0.0.1:8443/team/*"],
            ),
            secret("key", "kubernetes.io/ssh-auth", &["*://*/*"]),
            secret("broken", "Opaque", &["not a pattern", ""]),
        ];
        assert_eq!(
            matching_secret(&secrets, "https://127.0.0.1:8443/team/r.git").as_deref(),
            Some("repo")
        );
        assert_eq!(
            matching_secret(&secrets, "https://127.0.0.1:8443/other/r.git").as_deref(),
            Some("all")
        );
        assert_eq!(
            matching_secret(&secrets, "ssh://127.0.0.1/r").as_deref(),
            Some("key")
        );
        assert_eq!(matching_secret(&secrets, "git://127.0.0.1/r"), None);
        assert_eq!(matching_secret(&secrets, "/srv/repo"), None);
    }
}
