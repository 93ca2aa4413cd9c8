//! Source code locations of `oc new-app` and `oc new-build`: which arguments name one (Git
//! URLs, `user@host:path`, local Git repositories; `builder~source` pairs a builder image with
//! it), the name upstream derives from the URL, and what the repository holds — learned, as
//! upstream learns it, from a shallow clone made here (the Dockerfile of the context
//! directory, else the language its files mark).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::CliError;

/// A source code location, with the builder image named before `~` (if any).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceRepo {
    /// The URL the build clones (a local repository's `origin`).
    pub uri: String,
    /// The `#ref` of the URL.
    pub git_ref: Option<String>,
    pub builder: Option<String>,
    /// The local repository the URL was read from, which detection reads directly.
    pub local: Option<PathBuf>,
}

const SCHEMES: [&str; 6] = ["http", "https", "git", "ssh", "file", "git+ssh"];

/// Whether `term` is a URL of a scheme git fetches, or `user@host:path`.
fn is_git_url(term: &str) -> bool {
    if let Some((scheme, rest)) = term.split_once("://") {
        return SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) && !rest.is_empty();
    }
    match term.split_once('@') {
        Some((user, rest)) => {
            !user.is_empty()
                && !user.contains('/')
                && rest
                    .split_once(':')
                    .is_some_and(|(host, path)| !host.is_empty() && !path.is_empty())
        }
        None => false,
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, CliError> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| CliError::msg(format!("git: {e}")))?;
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        false => Err(CliError::msg(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )),
    }
}

/// The source location `term` names, or `None` when it names none. A local directory must be
/// a Git repository with a remote the server can clone.
pub fn classify(term: &str) -> Result<Option<SourceRepo>, CliError> {
    let (builder, location) = match term.split_once('~') {
        Some((b, l)) => (Some(b.to_string()).filter(|b| !b.is_empty()), l),
        None => (None, term),
    };
    let (location, git_ref) = match location.split_once('#') {
        Some((l, r)) => (l, Some(r.to_string()).filter(|r| !r.is_empty())),
        None => (location, None),
    };
    if is_git_url(location) {
        return Ok(Some(SourceRepo {
            uri: location.to_string(),
            git_ref,
            builder,
            local: None,
        }));
    }
    let dir = Path::new(location);
    if !dir.is_dir() || (builder.is_none() && term.contains(':')) {
        return Ok(None);
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
        CliError::msg(format!(
            "{location} is a local directory but not a Git repository"
        ))
    })?;
    let origin = git(dir, &["config", "--get", "remote.origin.url"]).unwrap_or_default();
    if origin.is_empty() {
        return Err(CliError::msg(format!(
            "the directory {location:?} has no Git remote 'origin' the server can clone: push it to a repository and use its URL"
        )));
    }
    Ok(Some(SourceRepo {
        uri: origin,
        git_ref,
        builder,
        local: Some(PathBuf::from(top)),
    }))
}

/// The name upstream derives from a repository URL: its last path segment without `.git`
/// (the host when the path has none), made a valid name.
pub fn name_from_uri(uri: &str) -> String {
    let without_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = match without_scheme.split_once('/') {
        Some((_, path)) => path,
        None => without_scheme
            .split_once(':')
            .map_or(without_scheme, |(_, p)| p),
    };
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let base = last.strip_suffix(".git").unwrap_or(last);
    let base = match base.is_empty() {
        true => without_scheme
            .split(['/', ':', '@'])
            .find(|s| !s.is_empty())
            .unwrap_or(""),
        false => base,
    };
    let simple: String = base
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    simple.trim_matches('-').chars().take(58).collect()
}

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the repository holds at its context directory.
#[derive(Debug, Default)]
pub struct Detected {
    /// The Dockerfile's text, when there is one.
    pub dockerfile: Option<String>,
    /// The language its files mark (`language::detect`).
    pub language: Option<&'static str>,
}

/// Reads the repository: a local one in place, a remote one from a shallow clone of its ref.
pub fn detect(repo: &SourceRepo, context_dir: &str) -> Result<Detected, CliError> {
    let context = context_dir.trim_matches('/');
    let read = |root: &Path| Detected {
        dockerfile: std::fs::read_to_string(root.join(context).join("Dockerfile")).ok(),
        language: super::language::detect(&root.join(context)),
    };
    if let Some(local) = &repo.local {
        return Ok(read(local));
    }
    let dir = std::env::temp_dir().join(format!("oc-new-app-{:016x}", rand::random::<u64>()));
    let scratch = Scratch(dir);
    let mut args = vec!["clone", "--quiet", "--depth=1", "--recurse-submodules"];
    if let Some(r) = &repo.git_ref {
        args.extend(["--branch", r.as_str()]);
    }
    let target = scratch.0.to_string_lossy().into_owned();
    args.extend([repo.uri.as_str(), target.as_str()]);
    git(&std::env::temp_dir(), &args).map_err(|e| {
        CliError::msg(format!(
            "unable to load source from the repository {:?}: {e}",
            repo.uri
        ))
    })?;
    Ok(read(&scratch.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_builders_are_told_apart() {
        let repo = classify("openshift/ruby~https://example.com/org/app.git#v2")
            .unwrap()
            .unwrap();
        assert_eq!(repo.uri, "https://example.com/org/app.git");
        assert_eq!(repo.git_ref.as_deref(), Some("v2"));
        assert_eq!(repo.builder.as_deref(), Some("openshift/ruby"));
        assert!(classify("git@example.com:org/app.git").unwrap().is_some());
        for not_source in ["busybox", "quay.io/org/web:v1", "127.0.0.1:5000/shop/web"] {
            assert_eq!(classify(not_source).unwrap(), None, "{not_source}");
        }
    }

    #[test]
    fn names_from_urls() {
        assert_eq!(name_from_uri("https://example.com/org/App_1.git"), "app1");
        assert_eq!(name_from_uri("git://127.0.0.1:9418/web/"), "web");
        assert_eq!(name_from_uri("git@example.com:org/shop.git"), "shop");
        assert_eq!(name_from_uri("file:///tmp/x/repo"), "repo");
    }
}
