//! The server's resources, from aggregated discovery (`/api` and `/apis`, two requests),
//! cached on disk under `~/.kube/cache/discovery/<host_port>/` as kubectl and oc cache them,
//! for six hours or until a name is not found in them. Resolves what users type (`cm`,
//! `configmaps`, `ConfigMap`, `deployments.apps`, `is`) to a resource.

use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};

use crate::client::{Session, send};
use crate::error::CliError;

const TTL: Duration = Duration::from_secs(6 * 3600);
const ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    /// The categories it belongs to (`all`).
    pub categories: Vec<String>,
}

impl Resource {
    /// `group/version`, or `v1` for the core group.
    pub fn group_version(&self) -> String {
        match self.group.as_str() {
            "" => self.version.clone(),
            g => format!("{g}/{}", self.version),
        }
    }

    /// The collection's path, in `namespace` for namespaced resources.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = match self.group.as_str() {
            "" => format!("/api/{}", self.version),
            g => format!("/apis/{g}/{}", self.version),
        };
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// How `-o name` and multi-type tables name objects: `configmap`, `deployment.apps`.
    pub fn qualified_kind(&self) -> String {
        let kind = self.kind.to_lowercase();
        match self.group.as_str() {
            "" => kind,
            g => format!("{kind}.{g}"),
        }
    }

    /// Whether the user's `word` names this resource.
    fn named(&self, word: &str) -> bool {
        let (name, group) = match word.split_once('.') {
            Some((n, g)) => (n, Some(g)),
            None => (word, None),
        };
        let name = name.to_lowercase();
        group.is_none_or(|g| g == self.group)
            && (name == self.plural
                || name == self.singular
                || name == self.kind.to_lowercase()
                || self.short_names.contains(&name))
    }
}

fn cache_file(server: &str) -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .replace([':', '/'], "_");
    home.join(".kube/cache/discovery")
        .join(host)
        .join("oc-aggregated.json")
}

fn parse(lists: &[Value]) -> Vec<Resource> {
    let mut out = Vec::new();
    for list in lists {
        for group in list["items"].as_array().into_iter().flatten() {
            let name = group["metadata"]["name"].as_str().unwrap_or_default();
            // The first version is the preferred one.
            let Some(version) = group["versions"].as_array().and_then(|v| v.first()) else {
                continue;
            };
            for r in version["resources"].as_array().into_iter().flatten() {
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                };
                out.push(Resource {
                    group: name.to_string(),
                    version: version["version"].as_str().unwrap_or_default().to_string(),
                    plural: r["resource"].as_str().unwrap_or_default().to_string(),
                    singular: r["singularResource"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    kind: r["responseKind"]["kind"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    short_names: strings(&r["shortNames"]),
                    namespaced: r["scope"] == "Namespaced",
                    verbs: strings(&r["verbs"]),
                    categories: strings(&r["categories"]),
                });
            }
        }
    }
    out
}

/// The server's resources: from the disk cache while it is fresh (and `refresh` is false).
pub async fn resources(session: &Session, refresh: bool) -> Result<Vec<Resource>, CliError> {
    Ok(parse(&documents(session, refresh).await?))
}

/// Every group version the server serves, preferred or not (`oc api-versions`).
pub async fn group_versions(session: &Session) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for list in documents(session, true).await? {
        for group in list["items"].as_array().into_iter().flatten() {
            let name = group["metadata"]["name"].as_str().unwrap_or_default();
            for version in group["versions"].as_array().into_iter().flatten() {
                let version = version["version"].as_str().unwrap_or_default();
                out.push(match name {
                    "" => version.to_string(),
                    group => format!("{group}/{version}"),
                });
            }
        }
    }
    Ok(out)
}

/// The aggregated discovery documents of `/api` and `/apis`, from the disk cache while it is
/// fresh (and `refresh` is false).
async fn documents(session: &Session, refresh: bool) -> Result<Vec<Value>, CliError> {
    let file = cache_file(&session.server);
    if !refresh
        && let Ok(meta) = std::fs::metadata(&file)
        && meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age < TTL)
        && let Ok(text) = std::fs::read(&file)
        && let Ok(cached) = serde_json::from_slice::<Value>(&text)
        && let Some(lists) = cached.as_array()
    {
        return Ok(lists.clone());
    }
    let mut lists = Vec::new();
    for path in ["/api", "/apis"] {
        let answer = send(
            &session.client,
            Method::GET,
            path,
            &[("Accept", ACCEPT.to_string())],
            None,
        )
        .await?;
        lists.push(answer.json()?);
    }
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
        let _ = std::fs::write(&file, json!(lists).to_string());
    }
    Ok(lists)
}

/// The resource `word` names (refreshing the cache once if it names nothing).
pub async fn resolve(session: &Session, word: &str) -> Result<Resource, CliError> {
    for refresh in [false, true] {
        let all = resources(session, refresh).await?;
        if let Some(r) = all.iter().find(|r| r.named(word)) {
            return Ok(r.clone());
        }
    }
    Err(CliError::msg(format!(
        "the server doesn't have a resource type \"{word}\""
    )))
}

/// The resources `word` names: one resource, else the members of the category of that name
/// (`all`), in discovery order.
pub async fn resolve_many(session: &Session, word: &str) -> Result<Vec<Resource>, CliError> {
    for refresh in [false, true] {
        let all = resources(session, refresh).await?;
        if let Some(r) = all.iter().find(|r| r.named(word)) {
            return Ok(vec![r.clone()]);
        }
        let members: Vec<Resource> = all
            .iter()
            .filter(|r| !r.plural.contains('/') && r.categories.iter().any(|c| c == word))
            .cloned()
            .collect();
        if !members.is_empty() {
            return Ok(members);
        }
    }
    Err(CliError::msg(format!(
        "the server doesn't have a resource type \"{word}\""
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Vec<Resource> {
        parse(&[json!({"items": [
            {"metadata": {"name": ""}, "versions": [{"version": "v1", "resources": [
                {"resource": "configmaps", "singularResource": "configmap", "responseKind": {"kind": "ConfigMap"},
                 "shortNames": ["cm"], "scope": "Namespaced", "verbs": ["get", "list"]}]}]},
            {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [
                {"resource": "deployments", "singularResource": "deployment", "responseKind": {"kind": "Deployment"},
                 "shortNames": ["deploy"], "scope": "Namespaced", "verbs": ["get"]}]}]}]})])
    }

    #[test]
    fn names_resolve_as_users_type_them() {
        let all = list();
        let find = |w: &str| all.iter().find(|r| r.named(w)).map(|r| r.plural.clone());
        for word in ["cm", "configmaps", "configmap", "ConfigMap"] {
            assert_eq!(find(word).as_deref(), Some("configmaps"), "{word}");
        }
        assert_eq!(find("deployments.apps").as_deref(), Some("deployments"));
        assert_eq!(find("deploy").as_deref(), Some("deployments"));
        assert_eq!(find("deployments.batch"), None);
        assert_eq!(all[1].qualified_kind(), "deployment.apps");
        assert_eq!(
            all[0].path(Some("dev")),
            "/api/v1/namespaces/dev/configmaps"
        );
        assert_eq!(all[1].group_version(), "apps/v1");
    }
}
