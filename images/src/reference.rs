//! Pull specs as OpenShift reads them (`DockerImageReference`): docker's reference grammar,
//! not normalised, split into registry, namespace, name, tag and ID. The registry is the
//! first path component when it looks like a host (has `.` or `:`, or is `localhost`); of the
//! rest, the first component is the namespace and the remainder (which may hold `/`) the name.

use crate::digest::is_digest;

pub const DOCKER_DEFAULT_REGISTRY: &str = "docker.io";
pub const DOCKER_DEFAULT_V1_REGISTRY: &str = "index.docker.io";
pub const DOCKER_DEFAULT_V2_REGISTRY: &str = "registry-1.docker.io";
pub const DOCKER_DEFAULT_NAMESPACE: &str = "library";
pub const DEFAULT_TAG: &str = "latest";

/// Longest repository name the grammar allows.
const MAX_NAME: usize = 255;

/// Why a pull spec does not parse, in the words of docker's reference package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub &'static str);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ParseError {}

const INVALID: ParseError = ParseError("invalid reference format");
const UPPERCASE: ParseError =
    ParseError("invalid reference format: repository name must be lowercase");

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerImageReference {
    pub registry: String,
    pub namespace: String,
    pub name: String,
    pub tag: String,
    pub id: String,
}

/// Whether `registry` is one of Docker Hub's names.
pub fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        DOCKER_DEFAULT_REGISTRY | DOCKER_DEFAULT_V1_REGISTRY | DOCKER_DEFAULT_V2_REGISTRY
    )
}

impl DockerImageReference {
    /// Parses a pull spec (`[registry/][namespace/]name[:tag][@digest]`).
    pub fn parse(spec: &str) -> Result<DockerImageReference, ParseError> {
        if spec.is_empty() {
            return Err(ParseError(
                "repository name must have at least one component",
            ));
        }
        let (rest, id) = match spec.split_once('@') {
            Some((rest, digest)) => (rest, digest),
            None => (spec, ""),
        };
        if !id.is_empty() {
            check_digest(id)?;
        } else if spec.ends_with('@') {
            return Err(INVALID);
        }
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], &rest[last_slash + i + 1..]),
            None => (rest, ""),
        };
        if rest.len() > name.len() && !valid_tag(tag) {
            return Err(INVALID);
        }
        check_name(name).map_err(|e| match e {
            e if e == INVALID && check_name(&spec.to_ascii_lowercase()).is_ok() => UPPERCASE,
            e => e,
        })?;
        if name.len() > MAX_NAME {
            return Err(ParseError(
                "repository name must not be more than 255 characters",
            ));
        }
        let mut r = DockerImageReference {
            tag: tag.to_string(),
            id: id.to_string(),
            ..Default::default()
        };
        let mut path = name;
        if let Some((first, rest)) = name.split_once('/')
            && (first.contains(['.', ':']) || first == "localhost")
        {
            r.registry = first.to_string();
            path = rest;
        }
        match path.split_once('/') {
            Some((ns, name)) => {
                r.namespace = ns.to_string();
                r.name = name.to_string();
            }
            None => r.name = path.to_string(),
        }
        Ok(r)
    }

    /// `name[:tag|@id]`; the ID wins over the tag, printed `@id` when it is a digest.
    pub fn name_string(&self) -> String {
        if self.name.is_empty() {
            return String::new();
        }
        if !self.id.is_empty() {
            let sep = if is_digest(&self.id) { '@' } else { ':' };
            return format!("{}{sep}{}", self.name, self.id);
        }
        if !self.tag.is_empty() {
            return format!("{}:{}", self.name, self.tag);
        }
        self.name.clone()
    }

    /// The fields as set, nothing defaulted.
    pub fn exact(&self) -> String {
        let name = self.name_string();
        if name.is_empty() {
            return name;
        }
        let mut s = String::new();
        if !self.registry.is_empty() {
            s.push_str(&self.registry);
            s.push('/');
        }
        if !self.namespace.is_empty() {
            s.push_str(&self.namespace);
            s.push('/');
        }
        s + &name
    }

    /// `[registry/][namespace/]name`: the repository without tag or ID.
    pub fn repository(&self) -> String {
        DockerImageReference {
            tag: String::new(),
            id: String::new(),
            ..self.clone()
        }
        .exact()
    }

    /// The repository name inside its registry (`namespace/name`).
    pub fn repository_name(&self) -> String {
        DockerImageReference {
            registry: String::new(),
            tag: String::new(),
            id: String::new(),
            ..self.clone()
        }
        .exact()
    }

    /// What a docker client would pull: Docker Hub, its `library` namespace and `latest`
    /// filled in where missing.
    pub fn docker_client_defaults(&self) -> DockerImageReference {
        let mut r = self.clone();
        if r.registry.is_empty() {
            r.registry = DOCKER_DEFAULT_REGISTRY.into();
        }
        if r.namespace.is_empty() && is_docker_hub(&r.registry) {
            r.namespace = DOCKER_DEFAULT_NAMESPACE.into();
        }
        if r.tag.is_empty() {
            r.tag = DEFAULT_TAG.into();
        }
        r
    }

    /// The ID when it is a digest (the tag dropped), else the tag (the ID as tag if none).
    pub fn most_specific(&self) -> DockerImageReference {
        let mut r = self.clone();
        if r.id.is_empty() {
            return r;
        }
        if is_digest(&r.id) {
            r.tag.clear();
        } else if r.tag.is_empty() {
            r.tag = std::mem::take(&mut r.id);
        }
        r
    }

    /// Docker Hub's v1 names replaced by its v2 registry.
    pub fn as_v2(&self) -> DockerImageReference {
        let mut r = self.clone();
        if matches!(
            r.registry.as_str(),
            DOCKER_DEFAULT_REGISTRY | DOCKER_DEFAULT_V1_REGISTRY
        ) {
            r.registry = DOCKER_DEFAULT_V2_REGISTRY.into();
        }
        r
    }

    /// Host and port of the registry a client talks to: 80 or 443 when none is written.
    pub fn registry_host_port(&self, insecure: bool) -> (String, String) {
        let host = self.as_v2().docker_client_defaults().registry;
        if let Some((h, p)) = host.rsplit_once(':')
            && !h.is_empty()
            && !h.ends_with(']')
            && p.bytes().all(|b| b.is_ascii_digit())
        {
            return (h.to_string(), p.to_string());
        }
        let port = if insecure { "80" } else { "443" };
        (host, port.to_string())
    }
}

impl std::fmt::Display for DockerImageReference {
    /// `exact()` with Docker Hub's `library` namespace filled in.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut r = self.clone();
        if r.namespace.is_empty() && is_docker_hub(&r.registry) {
            r.namespace = DOCKER_DEFAULT_NAMESPACE.into();
        }
        f.write_str(&r.exact())
    }
}

fn check_digest(id: &str) -> Result<(), ParseError> {
    match id.split_once(':') {
        None => Err(ParseError("invalid checksum digest format")),
        Some(("sha256" | "sha384" | "sha512", _)) if is_digest(id) => Ok(()),
        Some(("sha256" | "sha384" | "sha512", _)) => {
            Err(ParseError("invalid checksum digest length"))
        }
        Some(_) => Err(ParseError("unsupported digest algorithm")),
    }
}

fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[domain/]component(/component)*` of docker's grammar.
fn check_name(name: &str) -> Result<(), ParseError> {
    let parts: Vec<&str> = name.split('/').collect();
    let path = match parts.as_slice() {
        [first, rest @ ..] if !rest.is_empty() && !valid_component(first) => {
            if !valid_domain(first) {
                return Err(INVALID);
            }
            rest
        }
        all => all,
    };
    if path.iter().all(|c| valid_component(c)) {
        Ok(())
    } else {
        Err(INVALID)
    }
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    let mut expect_alnum = true;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            while i < bytes.len() && alnum(bytes[i]) {
                i += 1;
            }
            expect_alnum = false;
            continue;
        }
        if expect_alnum {
            return false;
        }
        let sep_len = match bytes[i] {
            b'.' => 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[i..].iter().take_while(|&&b| b == b'-').count(),
            _ => return false,
        };
        i += sep_len;
        expect_alnum = true;
    }
    !bytes.is_empty() && !expect_alnum
}

/// `host[:port]`, host labels of letters, digits and inner hyphens joined by dots.
fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parse(s: &str) -> DockerImageReference {
        match DockerImageReference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn splits_registry_namespace_name_tag_and_id() {
        let r = parse("quay.io/a/b/c:v1");
        assert_eq!(
            (
                r.registry.as_str(),
                r.namespace.as_str(),
                r.name.as_str(),
                r.tag.as_str()
            ),
            ("quay.io", "a", "b/c", "v1")
        );
        let r = parse("busybox");
        assert_eq!((r.registry.as_str(), r.namespace.as_str()), ("", ""));
        let r = parse("127.0.0.1:5000/ns/app");
        assert_eq!(r.registry, "127.0.0.1:5000");
        let r = parse(&format!("localhost/app:1@{D}"));
        assert_eq!(
            (
                r.registry.as_str(),
                r.name.as_str(),
                r.tag.as_str(),
                r.id.as_str()
            ),
            ("localhost", "app", "1", D)
        );
        let r = parse("library/busybox");
        assert_eq!((r.registry.as_str(), r.namespace.as_str()), ("", "library"));
    }

    #[test]
    fn exact_prefers_the_digest_and_string_fills_the_hub_namespace() {
        let r = parse(&format!("docker.io/busybox:1@{D}"));
        assert_eq!(r.exact(), format!("docker.io/busybox@{D}"));
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(parse("busybox").exact(), "busybox");
        assert_eq!(r.most_specific().tag, "");
        assert_eq!(parse("a/b:t").repository(), "a/b");
    }

    #[test]
    fn client_defaults_and_host_ports() {
        let r = parse("busybox").docker_client_defaults();
        assert_eq!(r.exact(), "docker.io/library/busybox:latest");
        assert_eq!(
            parse("busybox").registry_host_port(false),
            ("docker.io".to_string(), "443".to_string())
        );
        assert_eq!(
            parse("127.0.0.1:5000/a/b").registry_host_port(true),
            ("127.0.0.1".to_string(), "5000".to_string())
        );
        assert_eq!(parse("quay.io/a").registry_host_port(true).1, "80");
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let err = |s: &str| DockerImageReference::parse(s).err().map(|e| e.0);
        assert_eq!(
            err(""),
            Some("repository name must have at least one component")
        );
        assert_eq!(
            err("Busybox"),
            Some("invalid reference format: repository name must be lowercase")
        );
        assert_eq!(err("a//b"), Some("invalid reference format"));
        assert_eq!(err("a:b:c"), Some("invalid reference format"));
        assert_eq!(err("a@sha256:12"), Some("invalid checksum digest length"));
        assert_eq!(err("a@md5:12"), Some("unsupported digest algorithm"));
        assert_eq!(
            err(&"a".repeat(256)),
            Some("repository name must not be more than 255 characters")
        );
        assert!(err("my-registry.example.com:5000/team/app:v1.2-rc_3").is_none());
        assert!(err("a__b/c--d/e.f").is_none());
    }
}
