//! An image's name as containers/image's docker transport sees it: normalized (Docker Hub
//! and its `library` namespace filled in), with the scopes of policy.json that may hold its
//! requirements, most specific first.

use images::DockerImageReference;
use images::digest::is_digest;
use images::reference::{DOCKER_DEFAULT_REGISTRY, is_docker_hub};

/// A normalized pull spec: `host/path` and a tag or a digest (never both: a digest wins).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    pub host: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageName {
    /// An image to run: a missing tag is `latest`, as the runtime pulls it.
    pub fn parse(spec: &str) -> Result<ImageName, String> {
        let mut name = ImageName::parse_reference(spec)?;
        if name.tag.is_none() && name.digest.is_none() {
            name.tag = Some("latest".into());
        }
        Ok(name)
    }

    /// A reference as a signature or a policy names it: nothing defaulted but the host.
    pub fn parse_reference(spec: &str) -> Result<ImageName, String> {
        let parsed = DockerImageReference::parse(spec)
            .map_err(|e| format!("invalid reference {spec:?}: {e}"))?;
        let tag = parsed.tag.clone();
        let mut r = parsed.docker_client_defaults();
        r.tag = tag;
        if is_docker_hub(&r.registry) {
            r.registry = DOCKER_DEFAULT_REGISTRY.into();
        }
        let digest = (!r.id.is_empty() && is_digest(&r.id)).then(|| r.id.clone());
        let tag = match (&digest, r.tag.is_empty()) {
            (None, false) => Some(r.tag.clone()),
            _ => None,
        };
        Ok(ImageName {
            host: r.registry.clone(),
            path: r.repository_name(),
            tag,
            digest,
        })
    }

    /// `host/path`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.host, self.path)
    }

    /// `host/path:tag` or `host/path@digest` (the repository alone when neither is set).
    pub fn full(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{}@{d}", self.repository()),
            (None, Some(t)) => format!("{}:{t}", self.repository()),
            (None, None) => self.repository(),
        }
    }

    /// The same image by digest.
    pub fn with_digest(&self, digest: &str) -> ImageName {
        ImageName {
            digest: Some(digest.to_string()),
            tag: None,
            ..self.clone()
        }
    }

    /// The docker transport's scopes for this image, most specific first: the full
    /// reference, the repository, each parent namespace, the host, then the host's wildcard
    /// domains (`*.example.com`, `*.com`; the port left out).
    pub fn scopes(&self) -> Vec<String> {
        let mut out = vec![self.full(), self.repository()];
        let mut path = self.path.as_str();
        while let Some((parent, _)) = path.rsplit_once('/') {
            out.push(format!("{}/{parent}", self.host));
            path = parent;
        }
        out.push(self.host.clone());
        let mut host = self.host.split(':').next().unwrap_or_default();
        while let Some((_, rest)) = host.split_once('.') {
            out.push(format!("*.{rest}"));
            host = rest;
        }
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        let n = ImageName::parse("busybox").unwrap();
        assert_eq!(n.full(), "docker.io/library/busybox:latest");
        let n = ImageName::parse("127.0.0.1:5000/team/app@sha256:0000000000000000000000000000000000000000000000000000000000000000").unwrap();
        assert_eq!(n.repository(), "127.0.0.1:5000/team/app");
        assert_eq!(n.tag, None);
        let n = ImageName::parse_reference("quay.io/a/b/c").unwrap();
        assert_eq!((n.path.as_str(), n.tag.as_ref()), ("a/b/c", None));
        assert!(ImageName::parse("bad//name").is_err());
    }

    #[test]
    fn scopes_go_from_most_to_least_specific() {
        let n = ImageName::parse("registry.example.com:8443/a/b/c:v1").unwrap();
        assert_eq!(
            n.scopes(),
            [
                "registry.example.com:8443/a/b/c:v1",
                "registry.example.com:8443/a/b/c",
                "registry.example.com:8443/a/b",
                "registry.example.com:8443/a",
                "registry.example.com:8443",
                "*.example.com",
                "*.com",
            ]
        );
    }
}
