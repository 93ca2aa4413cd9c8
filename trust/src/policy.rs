//! The cluster's trust policy (the `spec` of `ImageTrustPolicy cluster`), in the model of
//! containers-policy.json: `default`, `transports.docker` and `transports.atomic` by scope,
//! requirements `insecureAcceptAnything`, `reject` and `signedBy` (GPG keys as `keyData`, or
//! `keyRef` to a ConfigMap or Secret of `openshift-config`), and `lookaside`: where the
//! signatures of images under a scope are published (registries.d's `lookaside`). Read
//! strictly: every problem is reported with its field path.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::identity::{self, SignedIdentity};
use crate::keyring::Keyring;
use crate::name::ImageName;

/// The namespace `keyRef` objects live in (as other cluster configuration references).
pub const KEY_NAMESPACE: &str = "openshift-config";
/// Requirement types.
pub const REQUIREMENT_TYPES: &[&str] = &["insecureAcceptAnything", "reject", "signedBy"];
/// The transports a policy may name.
pub const TRANSPORTS: &[&str] = &["atomic", "docker"];
const KEY_TYPES: &[&str] = &["GPGKeys"];
const REF_KINDS: &[&str] = &["ConfigMap", "Secret"];

/// One problem of a policy, with its field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Required {
        path: String,
        detail: String,
    },
    Invalid {
        path: String,
        value: String,
        detail: String,
    },
    NotSupported {
        path: String,
        value: String,
        supported: &'static [&'static str],
    },
    Forbidden {
        path: String,
        detail: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub default: Vec<Requirement>,
    /// `transports.docker`, by scope.
    pub docker: BTreeMap<String, Vec<Requirement>>,
    /// `transports.atomic`, by scope (rendered for the nodes; admission reads `docker`).
    pub atomic: BTreeMap<String, Vec<Requirement>>,
    /// Signature stores by scope: `http` URLs under which `<repo>@<algo>=<hex>/signature-N`
    /// are published.
    pub lookaside: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub enum Requirement {
    InsecureAcceptAnything,
    Reject,
    SignedBy(Box<SignedBy>),
}

#[derive(Debug, Clone)]
pub struct SignedBy {
    pub keys: KeySource,
    pub identity: SignedIdentity,
    /// The keys, once read (at parse time for `keyData`, from the object for `keyRef`).
    pub keyring: Result<Keyring, String>,
    /// The keyring's bytes once read (what the nodes' policy.json gets as `keyData`).
    pub key_bytes: Option<Vec<u8>>,
    /// The requirement as written, for rendering.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The keyring's bytes (decoded from base64).
    Data(Vec<u8>),
    Ref(KeyRef),
}

/// `keyRef`: a key of a ConfigMap (`data` or `binaryData`) or Secret of `openshift-config`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyRef {
    pub kind: String,
    pub name: String,
    pub key: String,
}

impl TrustPolicy {
    /// Reads `spec`; all problems at once.
    pub fn parse(spec: &Value) -> Result<TrustPolicy, Vec<Problem>> {
        let mut p = Problems::default();
        let mut policy = TrustPolicy::default();
        let Some(spec) = p.object(spec, "spec") else {
            return Err(p.0);
        };
        for key in spec.keys() {
            if !["default", "transports", "lookaside"].contains(&key.as_str()) {
                p.forbidden(&format!("spec.{key}"), "unknown field");
            }
        }
        match spec.get("default") {
            None => p.required("spec.default", ""),
            Some(v) => policy.default = requirements(v, "spec.default", &mut p),
        }
        if let Some(transports) = spec.get("transports")
            && let Some(transports) = p.object(transports, "spec.transports")
        {
            for (name, scopes) in transports {
                let path = format!("spec.transports.{name}");
                if !TRANSPORTS.contains(&name.as_str()) {
                    p.not_supported(&path, name, TRANSPORTS);
                    continue;
                }
                let Some(scopes) = p.object(scopes, &path) else {
                    continue;
                };
                let mut parsed = BTreeMap::new();
                for (scope, reqs) in scopes {
                    let path = format!("{path}[{scope}]");
                    if let Err(e) = validate_scope(scope) {
                        p.invalid(&path, scope, &e);
                    }
                    parsed.insert(scope.clone(), requirements(reqs, &path, &mut p));
                }
                match name.as_str() {
                    "docker" => policy.docker = parsed,
                    _ => policy.atomic = parsed,
                }
            }
        }
        if let Some(stores) = spec.get("lookaside")
            && let Some(stores) = p.object(stores, "spec.lookaside")
        {
            for (scope, url) in stores {
                let path = format!("spec.lookaside[{scope}]");
                if let Err(e) = validate_scope(scope) {
                    p.invalid(&path, scope, &e);
                }
                match url.as_str() {
                    Some(u) if u.len() > "http://".len() && u.starts_with("http://") => {
                        if own_address(u) {
                            policy.lookaside.insert(scope.clone(), u.to_string());
                        } else {
                            p.invalid(&path, u, "must name localhost, a loopback address or a pod's address (10.128.0.0/14): signature stores are only read there");
                        }
                    }
                    Some(u) => p.invalid(&path, u, "must be an http:// URL"),
                    None => p.invalid(&path, &url.to_string(), "must be a string"),
                }
            }
        }
        match p.0.is_empty() {
            true => Ok(policy),
            false => Err(p.0),
        }
    }

    /// A node's policy.json (as rendered from the cluster's policy): transports other than
    /// `docker` and `atomic` (`docker-daemon`, local files) name no registry images and are
    /// left out; the rest is read as a policy's `spec`.
    pub fn from_policy_json(policy: &Value) -> Result<TrustPolicy, Vec<Problem>> {
        let mut policy = policy.clone();
        if let Some(transports) = policy.get_mut("transports").and_then(Value::as_object_mut) {
            transports.retain(|name, _| TRANSPORTS.contains(&name.as_str()));
        }
        TrustPolicy::parse(&policy)
    }

    /// Whether running `image` needs more than its presence: some requirement of its scope is
    /// not `insecureAcceptAnything`.
    pub fn must_check(&self, image: &ImageName) -> bool {
        !self
            .requirements_for(image)
            .1
            .iter()
            .all(|r| matches!(r, Requirement::InsecureAcceptAnything))
    }

    /// The docker transport's requirements for `image`: the most specific scope that holds
    /// it, else the transport's `""` scope, else `default`. Returns the scope too (`None`
    /// for `default`).
    pub fn requirements_for(&self, image: &ImageName) -> (Option<&str>, &[Requirement]) {
        scope_lookup(&self.docker, &image.scopes())
            .map(|(s, r)| (Some(s), r))
            .unwrap_or((None, &self.default))
    }

    /// The requirements the nodes get for `scope` itself (used when a registry is allowed
    /// by `Image cluster`): as `requirements_for` an image named by the scope.
    pub fn requirements_for_scope(&self, scope: &str) -> &[Requirement] {
        let candidates = match ImageName::parse_reference(scope) {
            Ok(name) if name.tag.is_some() || name.digest.is_some() => name.scopes(),
            Ok(name) => name.scopes().into_iter().skip(1).collect(),
            Err(_) => vec![scope.to_string()],
        };
        scope_lookup(&self.docker, &candidates)
            .map(|(_, r)| r)
            .unwrap_or(&self.default)
    }

    /// Where signatures of `image` are published: the lookaside of its most specific scope.
    pub fn lookaside_for(&self, image: &ImageName) -> Option<&str> {
        image
            .scopes()
            .iter()
            .find_map(|s| self.lookaside.get(s))
            .map(String::as_str)
    }

    /// The first time after `now` at which a key of the policy expires: verdicts reached
    /// before then may change then.
    pub fn next_key_expiry(&self, now: i64) -> Option<i64> {
        self.all_requirements()
            .filter_map(|r| match r {
                Requirement::SignedBy(s) => s.keyring.as_ref().ok(),
                _ => None,
            })
            .flat_map(|k| k.keys().iter().flat_map(crate::validity::expiries))
            .filter(|&t| t > now)
            .min()
    }

    /// Every `keyRef` the requirements name.
    pub fn key_refs(&self) -> Vec<KeyRef> {
        let mut refs: Vec<KeyRef> = self
            .all_requirements()
            .filter_map(|r| match r {
                Requirement::SignedBy(s) => match &s.keys {
                    KeySource::Ref(k) => Some(k.clone()),
                    KeySource::Data(_) => None,
                },
                _ => None,
            })
            .collect();
        refs.sort();
        refs.dedup();
        refs
    }

    /// Reads the keys of every `keyRef` with `read` (the ref's bytes, or why not).
    pub fn resolve_refs(&mut self, mut read: impl FnMut(&KeyRef) -> Result<Vec<u8>, String>) {
        let lists = std::iter::once(&mut self.default)
            .chain(self.docker.values_mut())
            .chain(self.atomic.values_mut());
        for list in lists {
            for r in list.iter_mut() {
                if let Requirement::SignedBy(s) = r
                    && let KeySource::Ref(k) = &s.keys
                {
                    let read = read(k).and_then(|b| Keyring::parse(&b).map(|k| (k, b)));
                    s.key_bytes = read.as_ref().ok().map(|(_, b)| b.clone());
                    s.keyring = read.map(|(k, _)| k).map_err(|e| {
                        format!(
                            "the keys of {} {KEY_NAMESPACE}/{} (key {:?}): {e}",
                            k.kind, k.name, k.key
                        )
                    });
                }
            }
        }
    }

    fn all_requirements(&self) -> impl Iterator<Item = &Requirement> {
        self.default
            .iter()
            .chain(self.docker.values().flatten())
            .chain(self.atomic.values().flatten())
    }
}

fn scope_lookup<'a>(
    map: &'a BTreeMap<String, Vec<Requirement>>,
    candidates: &[String],
) -> Option<(&'a str, &'a [Requirement])> {
    candidates
        .iter()
        .chain(std::iter::once(&String::new()))
        .find_map(|s| map.get_key_value(s))
        .map(|(s, r)| (s.as_str(), r.as_slice()))
}

/// A docker transport scope: `""` (the transport's default), `*.domain`, or a host
/// followed by namespaces, a repository, and a tag or digest.
pub fn validate_scope(scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Ok(());
    }
    if let Some(domain) = scope.strip_prefix("*.") {
        let ok = !domain.is_empty()
            && !domain.contains(['/', ':', '*'])
            && domain
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        return match ok {
            true => Ok(()),
            false => Err("a wildcard scope must be *. followed by a domain".into()),
        };
    }
    let first = scope.split('/').next().unwrap_or_default();
    if !(first.contains(['.', ':']) || first == "localhost") {
        return Err(
            "must start with a registry host (a name with a dot or a port, or localhost)".into(),
        );
    }
    if !scope.contains('/') {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        let port_ok = (port.is_empty() && !first.ends_with(':')) || port.parse::<u16>().is_ok();
        return match host_ok && port_ok {
            true => Ok(()),
            false => Err("not a registry host".into()),
        };
    }
    images::DockerImageReference::parse(scope)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>);

impl Problems {
    pub(crate) fn required(&mut self, path: &str, detail: &str) {
        self.0.push(Problem::Required {
            path: path.into(),
            detail: detail.into(),
        });
    }
    pub(crate) fn invalid(&mut self, path: &str, value: &str, detail: &str) {
        self.0.push(Problem::Invalid {
            path: path.into(),
            value: value.into(),
            detail: detail.into(),
        });
    }
    pub(crate) fn not_supported(
        &mut self,
        path: &str,
        value: &str,
        supported: &'static [&'static str],
    ) {
        self.0.push(Problem::NotSupported {
            path: path.into(),
            value: value.into(),
            supported,
        });
    }
    pub(crate) fn forbidden(&mut self, path: &str, detail: &str) {
        self.0.push(Problem::Forbidden {
            path: path.into(),
            detail: detail.into(),
        });
    }
    pub(crate) fn object<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
    ) -> Option<&'a Map<String, Value>> {
        let o = v.as_object();
        if o.is_none() {
            self.invalid(path, &v.to_string(), "must be an object");
        }
        o
    }
    pub(crate) fn string<'a>(
        &mut self,
        o: &'a Map<String, Value>,
        path: &str,
        field: &str,
    ) -> Option<&'a str> {
        match o.get(field) {
            None | Some(Value::Null) => {
                self.required(&format!("{path}.{field}"), "");
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.required(&format!("{path}.{field}"), "");
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(v) => {
                self.invalid(
                    &format!("{path}.{field}"),
                    &v.to_string(),
                    "must be a string",
                );
                None
            }
        }
    }
    pub(crate) fn only(&mut self, o: &Map<String, Value>, path: &str, fields: &[&str]) {
        for key in o.keys() {
            if !fields.contains(&key.as_str()) {
                self.forbidden(&format!("{path}.{key}"), "unknown field");
            }
        }
    }
}

fn requirements(v: &Value, path: &str, p: &mut Problems) -> Vec<Requirement> {
    let Some(list) = v.as_array() else {
        p.invalid(path, &v.to_string(), "must be a list of requirements");
        return Vec::new();
    };
    if list.is_empty() {
        p.required(path, "the list of requirements must not be empty");
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, r)| requirement(r, &format!("{path}[{i}]"), p))
        .collect()
}

fn requirement(v: &Value, path: &str, p: &mut Problems) -> Option<Requirement> {
    let o = p.object(v, path)?;
    let kind = p.string(o, path, "type")?;
    match kind {
        "insecureAcceptAnything" => {
            p.only(o, path, &["type"]);
            Some(Requirement::InsecureAcceptAnything)
        }
        "reject" => {
            p.only(o, path, &["type"]);
            Some(Requirement::Reject)
        }
        "signedBy" => signed_by(v, o, path, p).map(|s| Requirement::SignedBy(Box::new(s))),
        other => {
            p.not_supported(&format!("{path}.type"), other, REQUIREMENT_TYPES);
            None
        }
    }
}

fn signed_by(
    raw: &Value,
    o: &Map<String, Value>,
    path: &str,
    p: &mut Problems,
) -> Option<SignedBy> {
    p.only(
        o,
        path,
        &[
            "type",
            "keyType",
            "keyData",
            "keyRef",
            "keyPath",
            "keyPaths",
            "signedIdentity",
        ],
    );
    let before = p.0.len();
    if let Some(kt) = p.string(o, path, "keyType")
        && !KEY_TYPES.contains(&kt)
    {
        p.not_supported(&format!("{path}.keyType"), kt, KEY_TYPES);
    }
    for field in ["keyPath", "keyPaths"] {
        if o.contains_key(field) {
            p.forbidden(
                &format!("{path}.{field}"),
                "files on the nodes cannot be read by the control plane: give the keys as keyData or keyRef",
            );
        }
    }
    let keys = match (o.get("keyData"), o.get("keyRef")) {
        (Some(_), Some(_)) => {
            p.forbidden(
                &format!("{path}.keyRef"),
                "only one of keyData and keyRef may be set",
            );
            None
        }
        (None, None) => {
            p.required(
                &format!("{path}.keyData"),
                "one of keyData and keyRef is required",
            );
            None
        }
        (Some(data), None) => key_data(data, &format!("{path}.keyData"), p),
        (None, Some(r)) => key_ref(r, &format!("{path}.keyRef"), p),
    };
    let identity = match o.get("signedIdentity") {
        None => Some(SignedIdentity::MatchRepoDigestOrExact),
        Some(v) => signed_identity(v, &format!("{path}.signedIdentity"), p),
    };
    if p.0.len() != before {
        return None;
    }
    let (keys, keyring) = keys?;
    let key_bytes = match &keys {
        KeySource::Data(b) => Some(b.clone()),
        KeySource::Ref(_) => None,
    };
    Some(SignedBy {
        keys,
        identity: identity?,
        keyring,
        key_bytes,
        raw: raw.clone(),
    })
}

type Keys = (KeySource, Result<Keyring, String>);

fn key_data(v: &Value, path: &str, p: &mut Problems) -> Option<Keys> {
    let Some(s) = v.as_str().filter(|s| !s.is_empty()) else {
        p.invalid(
            path,
            &v.to_string(),
            "must be the base64 encoding of a GPG keyring",
        );
        return None;
    };
    let shown = || format!("<{} bytes>", s.len());
    let bytes = match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
        Ok(b) => b,
        Err(e) => {
            p.invalid(path, &shown(), &format!("not base64: {e}"));
            return None;
        }
    };
    match Keyring::parse(&bytes) {
        Ok(k) => Some((KeySource::Data(bytes), Ok(k))),
        Err(e) => {
            p.invalid(path, &shown(), &e);
            None
        }
    }
}

fn key_ref(v: &Value, path: &str, p: &mut Problems) -> Option<Keys> {
    let r = read_key_ref(v, path, p, &[])?;
    Some((KeySource::Ref(r), Err("not read yet".into())))
}

/// A `keyRef` object (`kind`, `name`, `key`, and the `extra` fields its owner allows).
pub(crate) fn read_key_ref(
    v: &Value,
    path: &str,
    p: &mut Problems,
    extra: &[&str],
) -> Option<KeyRef> {
    let o = p.object(v, path)?;
    let mut fields = vec!["kind", "name", "key"];
    fields.extend_from_slice(extra);
    p.only(o, path, &fields);
    let kind = p.string(o, path, "kind");
    if let Some(k) = kind
        && !REF_KINDS.contains(&k)
    {
        p.not_supported(&format!("{path}.kind"), k, REF_KINDS);
        return None;
    }
    let name = p.string(o, path, "name");
    let key = p.string(o, path, "key");
    let r = KeyRef {
        kind: kind?.to_string(),
        name: name?.to_string(),
        key: key?.to_string(),
    };
    Some(r)
}

fn signed_identity(v: &Value, path: &str, p: &mut Problems) -> Option<SignedIdentity> {
    let o = p.object(v, path)?;
    let kind = p.string(o, path, "type")?;
    let reference = |field: &str, p: &mut Problems, want_tag: bool| -> Option<ImageName> {
        let s = p.string(o, path, field)?;
        let at = format!("{path}.{field}");
        match ImageName::parse_reference(s) {
            Ok(n) if want_tag && n.tag.is_none() && n.digest.is_none() => {
                p.invalid(&at, s, "must name a tag or a digest");
                None
            }
            Ok(n) if !want_tag && (n.tag.is_some() || n.digest.is_some()) => {
                p.invalid(&at, s, "must name a repository, without tag or digest");
                None
            }
            Ok(n) => Some(n),
            Err(e) => {
                p.invalid(&at, s, &e);
                None
            }
        }
    };
    match kind {
        "matchExact" | "matchRepoDigestOrExact" | "matchRepository" => {
            p.only(o, path, &["type"]);
            Some(match kind {
                "matchExact" => SignedIdentity::MatchExact,
                "matchRepository" => SignedIdentity::MatchRepository,
                _ => SignedIdentity::MatchRepoDigestOrExact,
            })
        }
        "exactReference" => {
            p.only(o, path, &["type", "dockerReference"]);
            reference("dockerReference", p, true).map(SignedIdentity::ExactReference)
        }
        "exactRepository" => {
            p.only(o, path, &["type", "dockerRepository"]);
            reference("dockerRepository", p, false).map(SignedIdentity::ExactRepository)
        }
        "remapIdentity" => {
            p.only(o, path, &["type", "prefix", "signedPrefix"]);
            let prefix_of = |field: &str, p: &mut Problems| -> Option<String> {
                let s = p.string(o, path, field)?;
                let ok = !s.starts_with("*.")
                    && !s.contains(['@'])
                    && !s.rsplit('/').next().unwrap_or_default().contains(':')
                    && validate_scope(s).is_ok();
                if !ok || (s.contains('/') && s.rsplit('/').next().is_some_and(str::is_empty)) {
                    p.invalid(
                        &format!("{path}.{field}"),
                        s,
                        "must be a registry host, optionally followed by namespaces",
                    );
                    return None;
                }
                Some(s.to_string())
            };
            let prefix = prefix_of("prefix", p);
            let signed_prefix = prefix_of("signedPrefix", p);
            Some(SignedIdentity::RemapIdentity {
                prefix: prefix?,
                signed_prefix: signed_prefix?,
            })
        }
        other => {
            p.not_supported(&format!("{path}.type"), other, identity::TYPES);
            None
        }
    }
}

/// Whether an `http://` URL's host is one the cluster owns: `localhost`, a loopback address
/// or one of the pod network (10.128.0.0/14), written as an address (no name is resolved).
/// Both the server and the nodes read the stores, so a policy may name no other.
fn own_address(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback() || (a == 10 && (128..=131).contains(&b))
        }
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key_data() -> String {
        base64::engine::general_purpose::STANDARD.encode(include_bytes!("testdata/signer.gpg"))
    }

    fn paths(problems: &[Problem]) -> Vec<String> {
        problems
            .iter()
            .map(|p| match p {
                Problem::Required { path, .. }
                | Problem::Invalid { path, .. }
                | Problem::NotSupported { path, .. }
                | Problem::Forbidden { path, .. } => path.clone(),
            })
            .collect()
    }

    #[test]
    fn a_signed_by_policy_parses_and_scopes_resolve() {
        let spec = json!({
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {
                "reg.io/team": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data()}],
                "reg.io/team/public": [{"type": "insecureAcceptAnything"}],
                "*.bad.io": [{"type": "reject"}],
            }},
            "lookaside": {"reg.io": "http://127.0.0.1:9/sigstore"},
        });
        let policy = TrustPolicy::parse(&spec).unwrap();
        let scope = |s: &str| policy.requirements_for(&ImageName::parse(s).unwrap()).0;
        assert_eq!(scope("reg.io/team/app:v1"), Some("reg.io/team"));
        assert_eq!(scope("reg.io/team/public:v1"), Some("reg.io/team/public"));
        assert_eq!(scope("x.bad.io/a"), Some("*.bad.io"));
        assert_eq!(scope("other.io/a"), None);
        let name = ImageName::parse("reg.io/team/app:v1").unwrap();
        assert_eq!(
            policy.lookaside_for(&name),
            Some("http://127.0.0.1:9/sigstore")
        );
        assert!(matches!(
            policy.requirements_for_scope("reg.io/team/app"),
            [Requirement::SignedBy(_)]
        ));
    }

    #[test]
    fn problems_are_reported_with_their_paths() {
        let spec = json!({
            "default": [],
            "surprise": 1,
            "transports": {
                "oci": {},
                "docker": {
                    "team/app": [{"type": "reject"}],
                    "*.": [{"type": "reject", "keyType": "GPGKeys"}],
                    "reg.io": [
                        {"type": "signedBy", "keyType": "X509", "keyPath": "/etc/k.gpg"},
                        {"type": "signedBy", "keyType": "GPGKeys", "keyData": "bm90IGEga2V5"},
                        {"type": "signedBy", "keyType": "GPGKeys", "keyRef": {"kind": "Pod", "name": "k", "key": "k"}},
                        {"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data(),
                         "signedIdentity": {"type": "exactReference", "dockerReference": "reg.io/a"}},
                        {"type": "trustMe"},
                    ],
                },
            },
            "lookaside": {"reg.io": "file:///var/lib/sigstore", "sigs.io": "http://sigs.example.com/s"},
        });
        let problems = TrustPolicy::parse(&spec).unwrap_err();
        assert_eq!(
            paths(&problems),
            [
                "spec.surprise",
                "spec.default",
                "spec.transports.oci",
                "spec.transports.docker[team/app]",
                "spec.transports.docker[*.]",
                "spec.transports.docker[*.][0].keyType",
                "spec.transports.docker[reg.io][0].keyType",
                "spec.transports.docker[reg.io][0].keyPath",
                "spec.transports.docker[reg.io][0].keyData",
                "spec.transports.docker[reg.io][1].keyData",
                "spec.transports.docker[reg.io][2].keyRef.kind",
                "spec.transports.docker[reg.io][3].signedIdentity.dockerReference",
                "spec.transports.docker[reg.io][4].type",
                "spec.lookaside[reg.io]",
                "spec.lookaside[sigs.io]",
            ]
        );
    }

    #[test]
    fn key_refs_are_read_later() {
        let spec = json!({"default": [{"type": "signedBy", "keyType": "GPGKeys",
            "keyRef": {"kind": "ConfigMap", "name": "keys", "key": "pubring.gpg"}}]});
        let mut policy = TrustPolicy::parse(&spec).unwrap();
        assert_eq!(policy.key_refs().len(), 1);
        policy.resolve_refs(|_| Ok(include_bytes!("testdata/signer.gpg").to_vec()));
        let Requirement::SignedBy(s) = &policy.default[0] else {
            panic!()
        };
        assert!(s.keyring.is_ok());
        policy.resolve_refs(|_| Err("not found".into()));
        let Requirement::SignedBy(s) = &policy.default[0] else {
            panic!()
        };
        assert_eq!(
            s.keyring.as_ref().unwrap_err(),
            "the keys of ConfigMap openshift-config/keys (key \"pubring.gpg\"): not found"
        );
    }

    #[test]
    fn a_nodes_policy_json_is_read_and_says_what_must_be_checked() {
        let rendered = json!({
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {
                "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]},
                "docker": {
                    "127.0.0.1:5000/signed": [{"type": "signedBy", "keyType": "GPGKeys",
                        "keyData": base64::engine::general_purpose::STANDARD
                            .encode(include_bytes!("testdata/signer.gpg"))}],
                    "blocked.example.com": [{"type": "reject"}],
                },
            },
        });
        let policy = TrustPolicy::from_policy_json(&rendered).unwrap();
        let check = |spec: &str| policy.must_check(&ImageName::parse(spec).unwrap());
        assert!(check("127.0.0.1:5000/signed/web:1"));
        assert!(check("blocked.example.com/x"));
        assert!(!check("127.0.0.1:5000/other/web:1"));
        assert!(!check("busybox"));
        assert!(TrustPolicy::from_policy_json(&json!({"transports": {}})).is_err());
    }

    #[test]
    fn the_next_key_expiry_is_the_first_one_to_come() {
        let data = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let policy = TrustPolicy::parse(&json!({"default": [
            {"type": "signedBy", "keyType": "GPGKeys", "keyData": data(include_bytes!("testdata/signer.gpg"))},
            {"type": "signedBy", "keyType": "GPGKeys", "keyData": data(include_bytes!("testdata/expiring.gpg"))},
            {"type": "signedBy", "keyType": "GPGKeys", "keyData": data(include_bytes!("testdata/subkey.gpg"))},
        ]}))
        .unwrap();
        // Both expiring keys end on 2024-12-31; the other key never does.
        assert_eq!(policy.next_key_expiry(1_719_878_400), Some(1_735_603_200));
        assert_eq!(policy.next_key_expiry(1_735_603_200), None);
    }
}
