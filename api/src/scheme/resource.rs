//! One resource of the scheme: what it is called, where it lives, what it serves, and how
//! strategic merge patch merges its lists.

use std::cell::RefCell;

use crate::columns::{self, Column};
use crate::list_merge::ListMerge;

thread_local! {
    /// Where `with_key_prefix` and `with_key` make keys: each thread keeps its own, so that a
    /// key made for one look-up costs no allocation.
    static KEY_BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// How an object's name is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// A DNS-1123 subdomain (most kinds).
    Subdomain,
    /// A DNS-1123 label (namespaces, projects).
    Label,
    /// Anything usable as a path segment (RBAC objects such as `system:basic-user`; users,
    /// identities, OAuth tokens).
    PathSegment,
}

/// Whether objects live in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// Merge lists of every object's metadata.
const META_LISTS: &[(&str, ListMerge)] = &[
    ("metadata.finalizers", ListMerge::Set),
    ("metadata.ownerReferences", ListMerge::Key("uid")),
];

/// Merge lists of a PodSpec, relative to where the PodSpec sits in its object.
const POD_SPEC_LISTS: &[(&str, ListMerge)] = &[
    ("containers", ListMerge::Key("name")),
    ("initContainers", ListMerge::Key("name")),
    ("ephemeralContainers", ListMerge::Key("name")),
    ("volumes", ListMerge::Key("name")),
    ("imagePullSecrets", ListMerge::Key("name")),
    ("hostAliases", ListMerge::Key("ip")),
    ("containers.ports", ListMerge::Key("containerPort")),
    ("containers.env", ListMerge::Key("name")),
    ("containers.volumeMounts", ListMerge::Key("mountPath")),
    ("containers.volumeDevices", ListMerge::Key("devicePath")),
    ("initContainers.ports", ListMerge::Key("containerPort")),
    ("initContainers.env", ListMerge::Key("name")),
    ("initContainers.volumeMounts", ListMerge::Key("mountPath")),
];

/// A subresource (`status`, `scale`, ...) and the kind it answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// Group, version and kind of the subresource's body; an empty kind means the parent's.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// The `apiVersion` of a group version: `v1` for the core group, `group/version` otherwise.
pub fn api_version(group: &str, version: &str) -> String {
    match group {
        "" => version.to_string(),
        g => format!("{g}/{version}"),
    }
}

impl Subresource {
    /// The `apiVersion` of the subresource's own kind (`autoscaling/v1` for a Scale).
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }
}

/// One resource of one group version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group; "" is the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub scope: Scope,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Field selectors besides `metadata.name` and `metadata.namespace`.
    pub field_selectors: &'static [&'static str],
    /// Where the kind embeds a PodSpec (`spec` for pods, `spec.template.spec` for workloads).
    pub pod_spec: Option<&'static str>,
    /// Kind-specific merge lists of strategic merge patch (dotted paths, no indices), besides
    /// those of the kind's field schema (`schemas::merge_lists`).
    pub merge_lists: &'static [(&'static str, ListMerge)],
    /// What `kubectl get` shows (Name and Age when empty).
    pub columns: &'static [Column],
    /// How names are validated.
    pub names: NameRule,
    /// Whether objects are stored; a review kind (`SelfSubjectAccessReview`...) is only
    /// created, answered and forgotten.
    pub stored: bool,
}

impl ResourceDef {
    /// The same resource served by its own handler over other kinds' objects (projects over
    /// namespaces), with these verbs.
    pub const fn derived(mut self, verbs: &'static [&'static str]) -> Self {
        self.verbs = verbs;
        self.stored = false;
        self
    }

    /// The same resource as a review: create only, never stored.
    pub const fn review(mut self) -> Self {
        self.verbs = &["create"];
        self.stored = false;
        self
    }

    /// The same resource with another name rule.
    pub const fn with_names(mut self, names: NameRule) -> Self {
        self.names = names;
        self
    }

    /// The same resource with extra field selectors.
    pub const fn with_field_selectors(mut self, fields: &'static [&'static str]) -> Self {
        self.field_selectors = fields;
        self
    }

    /// The same resource with printer columns.
    pub const fn with_columns(mut self, columns: &'static [Column]) -> Self {
        self.columns = columns;
        self
    }

    /// The printer columns of the kind.
    pub fn printer_columns(&self) -> &'static [Column] {
        match self.columns {
            [] => columns::DEFAULT,
            c => c,
        }
    }

    /// The same resource with a PodSpec at `path`.
    pub const fn with_pod_spec(mut self, path: &'static str) -> Self {
        self.pod_spec = Some(path);
        self
    }

    /// The same resource with kind-specific merge lists.
    pub const fn with_merge_lists(mut self, lists: &'static [(&'static str, ListMerge)]) -> Self {
        self.merge_lists = lists;
        self
    }

    /// How strategic merge patch merges the list at `path` (dotted, without indices), if it
    /// merges it at all.
    pub fn list_merge(&self, path: &str) -> Option<ListMerge> {
        let find = |lists: &[(&str, ListMerge)], path: &str| {
            lists.iter().find(|(p, _)| *p == path).map(|(_, m)| *m)
        };
        find(META_LISTS, path)
            .or_else(|| find(self.merge_lists, path))
            .or_else(|| {
                let mut lists = self.schema_merge_lists().iter();
                lists.find(|(p, _)| p == path).map(|(_, m)| *m)
            })
            .or_else(|| {
                let prefix = self.pod_spec?;
                let rest = path.strip_prefix(prefix)?.strip_prefix('.')?;
                find(POD_SPEC_LISTS, rest)
            })
    }

    /// Every list strategic merge patch merges, with its dotted path.
    pub fn merge_lists(&self) -> Vec<(String, ListMerge)> {
        let mut lists: Vec<(String, ListMerge)> = META_LISTS
            .iter()
            .chain(self.merge_lists)
            .map(|(p, m)| (p.to_string(), *m))
            .collect();
        for (path, merge) in self.schema_merge_lists() {
            if !lists.iter().any(|(p, _)| p == path) {
                lists.push((path.clone(), *merge));
            }
        }
        if let Some(prefix) = self.pod_spec {
            lists.extend(
                POD_SPEC_LISTS
                    .iter()
                    .map(|(p, m)| (format!("{prefix}.{p}"), *m)),
            );
        }
        lists
    }

    /// Merge lists the kind's field schema declares (the OpenShift kinds', from upstream's
    /// definitions), besides the scheme's own.
    fn schema_merge_lists(&self) -> &'static [(String, ListMerge)] {
        crate::schemas::merge_lists(self.group, self.version, self.kind)
    }

    /// Whether `field` may be used in a field selector on this resource.
    pub fn supports_field(&self, field: &str) -> bool {
        matches!(field, "metadata.name" | "metadata.namespace")
            || self.field_selectors.contains(&field)
    }

    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        api_version(self.group, self.version)
    }

    pub fn namespaced(&self) -> bool {
        self.scope == Scope::Namespaced
    }

    /// Storage key prefix of every object of this resource: `/registry/<group>/<plural>/`
    /// (`core` standing for the core group, and for `events.k8s.io`'s events).
    pub fn key_prefix(&self) -> String {
        self.key_with(&[])
    }

    /// Storage key prefix of the objects of one namespace (or of all, for cluster scope).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        self.with_namespace_prefix(namespace, str::to_string)
    }

    /// Storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        self.with_key(namespace, name, str::to_string)
    }

    /// `f` of the storage key prefix, made without an allocation: for look-ups by prefix that
    /// every request makes and that keep nothing of it (an allocation costs more than the
    /// look-up).
    pub fn with_key_prefix<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        self.with_key_made_of(&[], f)
    }

    /// `f` of the storage key prefix of one namespace's objects (of all, for cluster scope),
    /// made as `with_key_prefix` makes the prefix.
    pub fn with_namespace_prefix<R>(
        &self,
        namespace: Option<&str>,
        f: impl FnOnce(&str) -> R,
    ) -> R {
        match (self.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => self.with_key_made_of(&[ns, "/"], f),
            _ => self.with_key_made_of(&[], f),
        }
    }

    /// `f` of one object's storage key, made as `with_key_prefix` makes the prefix.
    pub fn with_key<R>(&self, namespace: Option<&str>, name: &str, f: impl FnOnce(&str) -> R) -> R {
        match (self.scope, namespace) {
            (Scope::Namespaced, Some(ns)) => self.with_key_made_of(&[ns, "/", name], f),
            _ => self.with_key_made_of(&[name], f),
        }
    }

    /// `f` of the prefix followed by `rest`, made in this thread's key buffer (allocated
    /// only when `f` itself makes a key while the buffer is in use).
    fn with_key_made_of<R>(&self, rest: &[&str], f: impl FnOnce(&str) -> R) -> R {
        KEY_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut key) => {
                key.clear();
                for part in self.prefix_parts().iter().chain(rest) {
                    key.push_str(part);
                }
                f(&key)
            }
            Err(_) => f(&self.key_with(rest)),
        })
    }

    /// The pieces of the storage key prefix: `/registry/<group>/<plural>/`.
    fn prefix_parts(&self) -> [&'static str; 5] {
        let group = match (self.group, self.plural) {
            ("", _) => "core",
            // Upstream's events.k8s.io Events are core Events: one storage, two schemas.
            ("events.k8s.io", "events") => "core",
            (group, _) => group,
        };
        ["/registry/", group, "/", self.plural, "/"]
    }

    /// The key prefix followed by `rest`, built in one allocation: every request makes
    /// several keys, and `format!` costs several times as much.
    fn key_with(&self, rest: &[&str]) -> String {
        let parts = self.prefix_parts();
        let len = parts.iter().chain(rest).map(|p| p.len()).sum();
        let mut key = String::with_capacity(len);
        for part in parts.iter().chain(rest) {
            key.push_str(part);
        }
        key
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether objects of the kind with a spec count its changes in `metadata.generation`:
    /// all but the core kinds whose strategies upstream never gives one (a pod has none in
    /// Kubernetes 1.32).
    pub fn tracks_generation(&self) -> bool {
        const UNTRACKED: &[(&str, &str)] = &[
            ("", "pods"),
            ("", "services"),
            ("", "namespaces"),
            ("", "nodes"),
            ("", "persistentvolumes"),
            ("", "persistentvolumeclaims"),
            ("", "resourcequotas"),
            ("", "limitranges"),
            ("coordination.k8s.io", "leases"),
        ];
        !UNTRACKED.contains(&(self.group, self.plural))
    }

    pub fn allows(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

#[cfg(test)]
mod key_tests {
    use crate::scheme::Scheme;

    #[test]
    fn keys_name_the_group_plural_namespace_and_name() {
        let scheme = Scheme::builtin();
        let def = |g, v, p| scheme.lookup(g, v, p).expect("a built-in kind");
        let pods = def("", "v1", "pods");
        assert_eq!(pods.key_prefix(), "/registry/core/pods/");
        assert_eq!(pods.namespace_prefix(Some("a")), "/registry/core/pods/a/");
        assert_eq!(pods.namespace_prefix(None), "/registry/core/pods/");
        assert_eq!(pods.key(Some("a"), "p"), "/registry/core/pods/a/p");
        let roles = def("rbac.authorization.k8s.io", "v1", "clusterroles");
        assert_eq!(
            roles.key(Some("ignored"), "admin"),
            "/registry/rbac.authorization.k8s.io/clusterroles/admin"
        );
        let events = def("events.k8s.io", "v1", "events");
        assert_eq!(events.key(Some("a"), "e"), "/registry/core/events/a/e");
    }

    #[test]
    fn keys_made_in_the_buffer_follow_the_prefix() {
        let scheme = Scheme::builtin();
        for def in scheme.resources() {
            let prefix = def.key_prefix();
            let scoped = |rest: &str| match def.namespaced() {
                true => format!("{prefix}a/{rest}"),
                false => format!("{prefix}{rest}"),
            };
            assert_eq!(def.with_key_prefix(str::to_string), prefix);
            assert_eq!(def.with_key(Some("a"), "n", str::to_string), scoped("n"));
            assert_eq!(
                def.with_key(None, "n", str::to_string),
                format!("{prefix}n")
            );
            assert_eq!(def.namespace_prefix(Some("a")), scoped(""));
            assert_eq!(def.namespace_prefix(None), prefix);
        }
        // A key made while another is in use is made apart, and neither is disturbed.
        let pods = scheme.lookup("", "v1", "pods").expect("pods");
        let (outer, inner) = pods.with_key(Some("a"), "p", |outer| {
            let inner = pods.with_key_prefix(str::to_string);
            (outer.to_string(), inner)
        });
        assert_eq!(outer, "/registry/core/pods/a/p");
        assert_eq!(inner, "/registry/core/pods/");
        // A key longer than any before it still comes whole.
        let long = "n".repeat(300);
        assert_eq!(
            pods.with_key(Some("a"), &long, str::to_string),
            format!("/registry/core/pods/a/{long}")
        );
    }
}
