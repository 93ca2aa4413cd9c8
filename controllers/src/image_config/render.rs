//! The node files of the cluster image configuration, as the Machine Config Operator renders
//! them from `Image cluster` and the mirror sets: `/etc/containers/registries.conf` (TOML v2,
//! in the key order and layout of containers/image's types through BurntSushi's encoder),
//! `registries.conf.d/01-image-searchRegistries.conf` and `policy.json` (Go's compact JSON,
//! keys sorted).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trust::TrustPolicy;

/// The search registries of the template registries.conf.
const DEFAULT_SEARCH: [&str; 2] = ["registry.access.redhat.com", "docker.io"];

/// One source's mirrors, from an ImageContentSourcePolicy (digest only), an
/// ImageDigestMirrorSet or an ImageTagMirrorSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSet {
    pub source: String,
    pub mirrors: Vec<String>,
    pub kind: MirrorKind,
    /// `mirrorSourcePolicy: NeverContactSource`.
    pub never_contact_source: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorKind {
    ContentSource,
    Digest,
    Tag,
}

/// `spec.registrySources` of `Image cluster`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySources {
    pub allowed: Vec<String>,
    pub blocked: Vec<String>,
    pub insecure: Vec<String>,
    pub search: Vec<String>,
}

impl RegistrySources {
    pub fn from_image_config(image: &Value) -> RegistrySources {
        let list = |k: &str| -> Vec<String> {
            image["spec"]["registrySources"][k]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        RegistrySources {
            allowed: list("allowedRegistries"),
            blocked: list("blockedRegistries"),
            insecure: list("insecureRegistries"),
            search: list("containerRuntimeSearchRegistries"),
        }
    }
}

#[derive(Debug, Default, Clone)]
struct Endpoint {
    location: String,
    insecure: bool,
    pull_from_mirror: String,
}

#[derive(Debug, Default, Clone)]
struct Registry {
    prefix: String,
    endpoint: Endpoint,
    blocked: bool,
    mirror_by_digest_only: bool,
    mirrors: Vec<Endpoint>,
}

/// `/etc/containers/registries.conf`.
pub fn registries_conf(sources: &RegistrySources, sets: &[MirrorSet]) -> String {
    let mut registries = mirror_registries(sets);
    for scope in &sources.blocked {
        let i = entry_for(&mut registries, scope);
        registries[i].blocked = true;
        for r in registries.iter_mut() {
            if within(&r.endpoint.location, scope) {
                r.blocked = true;
            }
        }
    }
    for scope in &sources.insecure {
        let i = entry_for(&mut registries, scope);
        registries[i].endpoint.insecure = true;
        for r in registries.iter_mut() {
            if within(&r.endpoint.location, scope) {
                r.endpoint.insecure = true;
            }
            for m in r.mirrors.iter_mut() {
                if within(&m.location, scope) {
                    m.insecure = true;
                }
            }
        }
    }
    encode(&DEFAULT_SEARCH.map(String::from), &registries)
}

/// `/etc/containers/registries.conf.d/01-image-searchRegistries.conf`, when search registries
/// are set.
pub fn search_registries_conf(sources: &RegistrySources) -> Option<String> {
    if sources.search.is_empty() {
        return None;
    }
    let quoted: Vec<String> = sources.search.iter().map(|s| format!("'{s}'")).collect();
    Some(format!(
        "unqualified-search-registries = [{}]\n",
        quoted.join(", ")
    ))
}

/// `/etc/containers/policy.json`: the template, with an allow list (everything else
/// rejected) or a block list; with a trust policy (`ImageTrustPolicy cluster`), its
/// requirements, the allow list keeping only its scopes inside allowed registries (each
/// allowed registry taking the trust policy's requirements for it) and the block list
/// rejecting over it.
pub fn policy_json(sources: &RegistrySources, trust: Option<&TrustPolicy>) -> String {
    let accept = json!([{"type": "insecureAcceptAnything"}]);
    let reject = json!([{"type": "reject"}]);
    let mut policy = json!({
        "default": accept,
        "transports": {"docker-daemon": {"": accept}},
    });
    let (mut docker, mut atomic) = match trust {
        Some(t) => {
            policy["default"] = trust::render::requirements(&t.default);
            let mut transports = trust::render::transports(t);
            (
                transports.remove("docker").unwrap_or_default(),
                transports.remove("atomic").unwrap_or_default(),
            )
        }
        None => Default::default(),
    };
    if !sources.allowed.is_empty() {
        policy["default"] = reject.clone();
        for map in [&mut docker, &mut atomic] {
            map.retain(|scope, _| sources.allowed.iter().any(|a| within(scope, a)));
            for scope in &sources.allowed {
                let verdict = match trust {
                    Some(t) => trust::render::requirements(t.requirements_for_scope(scope)),
                    None => accept.clone(),
                };
                map.entry(scope.clone()).or_insert(verdict);
            }
        }
    } else {
        for map in [&mut docker, &mut atomic] {
            for scope in &sources.blocked {
                map.insert(scope.clone(), reject.clone());
            }
        }
    }
    if !atomic.is_empty() {
        policy["transports"]["atomic"] = json!(atomic);
    }
    if !docker.is_empty() {
        policy["transports"]["docker"] = json!(docker);
    }
    compact(&policy)
}

/// `/etc/containers/registries.d/oxshift-sigstore.yaml`: the trust policy's lookaside
/// signature stores, when it names any.
pub fn sigstore_yaml(trust: Option<&TrustPolicy>) -> Option<String> {
    let stores = &trust?.lookaside;
    if stores.is_empty() {
        return None;
    }
    let mut out = String::from("docker:\n");
    for (scope, url) in stores {
        out.push_str(&format!(
            "  {}:\n    lookaside: {}\n",
            toml_string(scope),
            toml_string(url)
        ));
    }
    Some(out)
}

/// Go's `json.Marshal` of a map: compact, keys sorted.
fn compact(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            v => v.clone(),
        }
    }
    sort(v).to_string()
}

/// One registry per source, sources sorted, mirrors merged in order without repeats.
fn mirror_registries(sets: &[MirrorSet]) -> Vec<Registry> {
    let mut by_source: BTreeMap<&str, Registry> = BTreeMap::new();
    for set in sets {
        let mirrors: Vec<&String> = set.mirrors.iter().filter(|m| **m != set.source).collect();
        if mirrors.is_empty() {
            continue;
        }
        let r = by_source.entry(&set.source).or_insert_with(|| Registry {
            endpoint: Endpoint {
                location: set.source.clone(),
                ..Default::default()
            },
            ..Default::default()
        });
        if set.kind == MirrorKind::ContentSource {
            r.mirror_by_digest_only = true;
        }
        if set.never_contact_source {
            r.blocked = true;
        }
        let pull_from = match set.kind {
            MirrorKind::ContentSource => "",
            MirrorKind::Digest => "digest-only",
            MirrorKind::Tag => "tag-only",
        };
        for m in mirrors {
            if !r
                .mirrors
                .iter()
                .any(|e| e.location == *m && e.pull_from_mirror == pull_from)
            {
                r.mirrors.push(Endpoint {
                    location: m.clone(),
                    insecure: false,
                    pull_from_mirror: pull_from.into(),
                });
            }
        }
    }
    by_source.into_values().collect()
}

/// The entry for a scope, added when missing (`*.domain` scopes are prefixes).
fn entry_for(registries: &mut Vec<Registry>, scope: &str) -> usize {
    let wildcard = scope.starts_with("*.");
    let found = registries.iter().position(|r| match wildcard {
        true => r.prefix == scope,
        false => r.endpoint.location == scope,
    });
    found.unwrap_or_else(|| {
        registries.push(Registry {
            prefix: if wildcard {
                scope.into()
            } else {
                String::new()
            },
            endpoint: Endpoint {
                location: if wildcard {
                    String::new()
                } else {
                    scope.into()
                },
                ..Default::default()
            },
            ..Default::default()
        });
        registries.len() - 1
    })
}

/// Whether `location` is `scope`, inside it, or (for `*.domain`) on a host under it.
fn within(location: &str, scope: &str) -> bool {
    if location.is_empty() {
        return false;
    }
    if let Some(domain) = scope.strip_prefix("*.") {
        let host = location.split('/').next().unwrap_or(location);
        return host.ends_with(&format!(".{domain}"));
    }
    location == scope || location.starts_with(&format!("{scope}/"))
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn encode(search: &[String], registries: &[Registry]) -> String {
    let mut out = String::new();
    let list: Vec<String> = search.iter().map(|s| toml_string(s)).collect();
    out.push_str(&format!(
        "unqualified-search-registries = [{}]\n",
        list.join(", ")
    ));
    out.push_str("short-name-mode = \"\"\n");
    for r in registries {
        out.push_str("\n[[registry]]\n");
        out.push_str(&format!("  prefix = {}\n", toml_string(&r.prefix)));
        endpoint(&mut out, &r.endpoint, "  ");
        if r.blocked {
            out.push_str("  blocked = true\n");
        }
        if r.mirror_by_digest_only {
            out.push_str("  mirror-by-digest-only = true\n");
        }
        for m in &r.mirrors {
            out.push_str("\n  [[registry.mirror]]\n");
            endpoint(&mut out, m, "    ");
        }
    }
    out
}

fn endpoint(out: &mut String, e: &Endpoint, indent: &str) {
    if !e.location.is_empty() {
        out.push_str(&format!(
            "{indent}location = {}\n",
            toml_string(&e.location)
        ));
    }
    if e.insecure {
        out.push_str(&format!("{indent}insecure = true\n"));
    }
    if !e.pull_from_mirror.is_empty() {
        out.push_str(&format!(
            "{indent}pull-from-mirror = {}\n",
            toml_string(&e.pull_from_mirror)
        ));
    }
}

#[cfg(test)]
mod tests;
