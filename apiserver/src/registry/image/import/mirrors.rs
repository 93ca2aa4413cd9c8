//! Imports through the cluster's mirrors, as openshift-apiserver's importer reads them:
//! references by digest go to the mirrors of ImageDigestMirrorSets (and the older
//! ImageContentSourcePolicies), references by tag to those of ImageTagMirrorSets, each mirror
//! in order, then the source itself unless a set says never to contact it. The images keep
//! the names they were asked for; only where their bytes come from changes.

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

use super::source::{Manifest, Options, RegistryError, RegistrySource, Target};
use crate::ApiServer;
use crate::error::ApiError;

/// Which references a set's mirrors serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Serves {
    Digests,
    Tags,
}

/// One source repository (or namespace of repositories) and its mirrors.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    source: String,
    mirrors: Vec<String>,
    serves: Serves,
    never_contact_source: bool,
}

/// The mirrors of the cluster, by kind: (group, version, plural, the spec's list, what the
/// kind's mirrors serve).
const KINDS: [(&str, &str, &str, &str, Serves); 3] = [
    (
        "operator.openshift.io",
        "v1alpha1",
        "imagecontentsourcepolicies",
        "repositoryDigestMirrors",
        Serves::Digests,
    ),
    (
        "config.openshift.io",
        "v1",
        "imagedigestmirrorsets",
        "imageDigestMirrors",
        Serves::Digests,
    ),
    (
        "config.openshift.io",
        "v1",
        "imagetagmirrorsets",
        "imageTagMirrors",
        Serves::Tags,
    ),
];

/// The cluster's mirror rules.
#[derive(Clone, Debug, Default)]
pub struct Mirrors {
    rules: Vec<Rule>,
}

impl Mirrors {
    /// The rules of every mirror object in the store.
    pub async fn of_cluster(server: &ApiServer) -> Result<Mirrors, ApiError> {
        let mut rules = Vec::new();
        for (group, version, plural, list, serves) in KINDS {
            let Some(def) = server.scheme.lookup(group, version, plural) else {
                continue;
            };
            for obj in server.list_objects(def, None).await? {
                rules.extend(rules_of(&obj, list, serves));
            }
        }
        Ok(Mirrors { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Where `registry/repository` is read from for `reference` (a tag or a digest): each
    /// `(registry, repository)` in turn, mirrors first.
    fn candidates(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
    ) -> Vec<(String, String)> {
        let serves = match reference.contains(':') {
            true => Serves::Digests,
            false => Serves::Tags,
        };
        let name = format!("{registry}/{repository}");
        let mut out: Vec<(String, String)> = Vec::new();
        let mut source_allowed = true;
        for rule in self.rules.iter().filter(|r| r.serves == serves) {
            let Some(rest) = name.strip_prefix(rule.source.as_str()) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            source_allowed &= !rule.never_contact_source;
            for mirror in &rule.mirrors {
                let mirrored = format!("{mirror}{rest}");
                if let Some((host, path)) = mirrored.split_once('/')
                    && !out.iter().any(|(h, p)| h == host && p == path)
                {
                    out.push((host.to_string(), path.to_string()));
                }
            }
        }
        if source_allowed {
            out.push((registry.to_string(), repository.to_string()));
        }
        out
    }
}

fn rules_of(obj: &Value, list: &str, serves: Serves) -> Vec<Rule> {
    images::mirrors::entries(obj, list)
        .into_iter()
        .map(|e| Rule {
            source: e.source,
            mirrors: e.mirrors,
            serves,
            never_contact_source: e.never_contact_source,
        })
        .collect()
}

/// A source that reads through the mirrors: the first candidate that answers wins; a
/// candidate that does not have the image, or cannot be reached, passes to the next, and the
/// last one's error is the answer.
pub struct Mirrored<'a> {
    pub inner: &'a dyn RegistrySource,
    pub mirrors: Mirrors,
    /// Registries reached without verified TLS (`insecureRegistries` of `Image cluster`).
    pub insecure: Vec<String>,
}

impl Mirrored<'_> {
    fn options_for(&self, host: &str, o: &Options) -> Options {
        let mut o = o.clone();
        o.insecure |= self.insecure.iter().any(|i| i == host);
        o
    }
}

/// Whether another candidate may have what this one lacked.
fn next_may_help(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::NotFound
            | RegistryError::Unreachable { .. }
            | RegistryError::Timeout
            | RegistryError::Unauthorized { .. }
    )
}

#[async_trait]
impl RegistrySource for Mirrored<'_> {
    async fn manifest(&self, t: Target<'_>, o: &Options) -> Result<Manifest, RegistryError> {
        let mut last = RegistryError::NotFound;
        for (host, path) in self
            .mirrors
            .candidates(t.registry, t.repository, t.reference)
        {
            let at = Target {
                registry: &host,
                repository: &path,
                reference: t.reference,
            };
            match self.inner.manifest(at, &self.options_for(&host, o)).await {
                Ok(m) => return Ok(m),
                Err(e) if next_may_help(&e) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    async fn blob(&self, t: Target<'_>, o: &Options, max: usize) -> Result<Bytes, RegistryError> {
        let mut last = RegistryError::NotFound;
        // Blobs are named by digest: the digest mirrors serve them, and so do the tag
        // mirrors that served the manifest, so both are tried.
        let mut tried = Vec::new();
        for reference in [t.reference, "latest"] {
            for (host, path) in self.mirrors.candidates(t.registry, t.repository, reference) {
                if tried.contains(&(host.clone(), path.clone())) {
                    continue;
                }
                let at = Target {
                    registry: &host,
                    repository: &path,
                    reference: t.reference,
                };
                match self.inner.blob(at, &self.options_for(&host, o), max).await {
                    Ok(b) => return Ok(b),
                    Err(e) if next_may_help(&e) => last = e,
                    Err(e) => return Err(e),
                }
                tried.push((host, path));
            }
        }
        Err(last)
    }

    async fn tags(
        &self,
        registry: &str,
        repository: &str,
        o: &Options,
    ) -> Result<Vec<String>, RegistryError> {
        let mut last = RegistryError::NotFound;
        for (host, path) in self.mirrors.candidates(registry, repository, "latest") {
            match self
                .inner
                .tags(&host, &path, &self.options_for(&host, o))
                .await
            {
                Ok(tags) => return Ok(tags),
                Err(e) if next_may_help(&e) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrors() -> Mirrors {
        let idms = serde_json::json!({"spec": {"imageDigestMirrors": [
            {"source": "quay.io/team", "mirrors": ["m1.local:5000/team", "m2.local/t"]}]}});
        let itms = serde_json::json!({"spec": {"imageTagMirrors": [
            {"source": "registry.example/web", "mirrors": ["127.0.0.1:5000/web"],
             "mirrorSourcePolicy": "NeverContactSource"}]}});
        let mut rules = rules_of(&idms, "imageDigestMirrors", Serves::Digests);
        rules.extend(rules_of(&itms, "imageTagMirrors", Serves::Tags));
        Mirrors { rules }
    }

    fn pairs(list: &[(String, String)]) -> Vec<String> {
        list.iter().map(|(h, p)| format!("{h}/{p}")).collect()
    }

    #[test]
    fn digests_go_to_digest_mirrors_first_then_the_source() {
        let m = mirrors();
        assert_eq!(
            pairs(&m.candidates("quay.io", "team/app", "sha256:abc")),
            [
                "m1.local:5000/team/app",
                "m2.local/t/app",
                "quay.io/team/app"
            ]
        );
        // Tags are not served by digest mirrors; other repositories are not mirrored.
        assert_eq!(
            pairs(&m.candidates("quay.io", "team/app", "v1")),
            ["quay.io/team/app"]
        );
        assert_eq!(
            pairs(&m.candidates("quay.io", "teams/app", "sha256:abc")),
            ["quay.io/teams/app"]
        );
    }

    #[test]
    fn a_source_never_contacted_is_left_out() {
        let m = mirrors();
        assert_eq!(
            pairs(&m.candidates("registry.example", "web", "v1")),
            ["127.0.0.1:5000/web"]
        );
    }
}
