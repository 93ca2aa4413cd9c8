//! The scheme: every resource the server knows, described once. Discovery, routing and storage
//! keys are derived from these entries (and, as they arrive, OpenAPI, Table columns, field
//! selectors and strategic-merge keys). Adding a kind is adding an entry here and its type.
//!
//! - `resource.rs`: one resource (`ResourceDef`) and what is derived from it;
//! - `builtin.rs`: every built-in resource (`BUILTIN`).

mod builtin;
mod resource;

pub use crate::list_merge::ListMerge;
use std::collections::HashMap;

pub use builtin::{ALL_VERBS, BUILTIN};
pub use resource::{NameRule, ResourceDef, Scope, Subresource, api_version};

/// A set of resources, looked up by group, version and plural.
#[derive(Clone, Debug)]
pub struct Scheme {
    resources: Vec<ResourceDef>,
    /// The places in `resources` of the entries of each plural: every request and several
    /// admission plugins look resources up, among hundreds. Keyed by the plural alone, as
    /// hashing one short string costs a third of hashing the triple, and few groups share
    /// a plural.
    index: HashMap<&'static str, Vec<usize>, foldhash::fast::RandomState>,
}

/// One API group and its versions, as discovery lists them (preferred version first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupVersions {
    pub group: &'static str,
    pub versions: Vec<&'static str>,
}

impl Scheme {
    pub fn new(resources: Vec<ResourceDef>) -> Self {
        let mut index: HashMap<&'static str, Vec<usize>, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(resources.len(), Default::default());
        for (i, r) in resources.iter().enumerate() {
            // In order, so that the first entry of a triple wins, as a search in order finds it.
            index.entry(r.plural).or_default().push(i);
        }
        Self { resources, index }
    }

    /// The scheme of every built-in resource.
    pub fn builtin() -> Self {
        Self::new(BUILTIN.to_vec())
    }

    pub fn resources(&self) -> &[ResourceDef] {
        &self.resources
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.index
            .get(plural)?
            .iter()
            .filter_map(|&i| self.resources.get(i))
            .find(|r| r.group == group && r.version == version)
    }

    /// The resources of one group version, in registration order.
    pub fn group_version(&self, group: &str, version: &str) -> impl Iterator<Item = &ResourceDef> {
        let (group, version) = (group.to_string(), version.to_string());
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }

    /// Every group with its versions, core group first, in registration order.
    pub fn groups(&self) -> Vec<GroupVersions> {
        let mut groups: Vec<GroupVersions> = Vec::new();
        for r in &self.resources {
            match groups.iter_mut().find(|g| g.group == r.group) {
                Some(g) if !g.versions.contains(&r.version) => g.versions.push(r.version),
                Some(_) => {}
                None => groups.push(GroupVersions {
                    group: r.group,
                    versions: vec![r.version],
                }),
            }
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_entries_are_unique_and_well_formed() {
        let scheme = Scheme::builtin();
        let mut seen = std::collections::HashSet::new();
        for r in scheme.resources() {
            assert!(
                seen.insert((r.group, r.version, r.plural)),
                "duplicate {}/{} {}",
                r.group,
                r.version,
                r.plural
            );
            assert_eq!(r.plural, r.plural.to_lowercase());
            assert!(!r.kind.is_empty() && r.kind.chars().next().is_some_and(char::is_uppercase));
        }
        // A short name names one kind (served in one or more versions, or groups: `ev` is
        // the core Event and events.k8s.io's, as upstream's).
        let mut owners = std::collections::HashMap::new();
        for r in scheme.resources() {
            for short in r.short_names {
                let owner = owners.entry(*short).or_insert((r.kind, r.plural));
                assert_eq!(
                    *owner,
                    (r.kind, r.plural),
                    "short name {short} is ambiguous"
                );
            }
        }
    }

    #[test]
    fn lookups_keys_and_groups() {
        let scheme = Scheme::builtin();
        let cm = scheme.lookup("", "v1", "configmaps").unwrap();
        assert_eq!(cm.api_version(), "v1");
        assert_eq!(
            cm.key(Some("default"), "a"),
            "/registry/core/configmaps/default/a"
        );
        assert_eq!(cm.namespace_prefix(None), "/registry/core/configmaps/");
        let ns = scheme.lookup("", "v1", "namespaces").unwrap();
        assert_eq!(
            ns.key(Some("ignored"), "default"),
            "/registry/core/namespaces/default"
        );
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(dc.api_version(), "apps.openshift.io/v1");
        assert_eq!(dc.subresource("scale").map(|s| s.kind), Some("Scale"));
        let groups = scheme.groups();
        assert_eq!(
            groups[0],
            GroupVersions {
                group: "",
                versions: vec!["v1"]
            }
        );
        assert!(groups.iter().any(|g| g.group == "image.openshift.io"));
        assert!(scheme.lookup("apps", "v1", "configmaps").is_none());
    }

    #[test]
    fn merge_lists_follow_the_pod_spec() {
        let scheme = Scheme::builtin();
        let deploy = scheme.lookup("apps", "v1", "deployments").unwrap();
        assert_eq!(
            deploy.list_merge("spec.template.spec.containers"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(
            deploy.list_merge("spec.template.spec.containers.env"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(
            deploy.list_merge("metadata.finalizers"),
            Some(ListMerge::Set)
        );
        assert_eq!(deploy.list_merge("spec.containers"), None);
        let pod = scheme.lookup("", "v1", "pods").unwrap();
        assert_eq!(
            pod.list_merge("spec.containers.ports"),
            Some(ListMerge::Key("containerPort"))
        );
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(
            dc.list_merge("spec.template.spec.volumes"),
            Some(ListMerge::Key("name"))
        );
        let cm = scheme.lookup("", "v1", "configmaps").unwrap();
        assert_eq!(cm.list_merge("data"), None);
    }

    #[test]
    fn openshift_kinds_merge_lists_from_their_schemas() {
        let scheme = Scheme::builtin();
        let dc = scheme
            .lookup("apps.openshift.io", "v1", "deploymentconfigs")
            .unwrap();
        assert_eq!(
            dc.list_merge("spec.template.spec.containers"),
            Some(ListMerge::Key("name"))
        );
        assert_eq!(dc.list_merge("spec.triggers"), None);
        let lists = dc.merge_lists();
        let conditions = lists.iter().filter(|(p, _)| p == "status.conditions");
        assert_eq!(conditions.count(), 1, "listed once: {lists:?}");
        let is = scheme
            .lookup("image.openshift.io", "v1", "imagestreams")
            .unwrap();
        assert_eq!(is.list_merge("spec.tags"), Some(ListMerge::Key("name")));
        assert!(is.merge_lists().iter().any(|(p, _)| p == "status.tags"));
    }
}
