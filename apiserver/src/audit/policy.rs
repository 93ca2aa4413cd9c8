//! The audit policy: an `audit.k8s.io/v1` `Policy` (YAML or JSON) whose rules are tried in
//! order; the first that matches a request gives its level, the stages to omit and whether
//! managed fields are dropped. A request no rule matches is not audited (level `None`), as
//! upstream.

use std::path::Path;

use serde::Deserialize;

/// How much of a request is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    #[default]
    None,
    /// Who did what to which object, and the answer's status: no bodies.
    Metadata,
    /// Metadata and the request object.
    Request,
    /// Metadata, the request and the response objects.
    RequestResponse,
}

impl Level {
    const NAMES: [(&str, Level); 4] = [
        ("None", Level::None),
        ("Metadata", Level::Metadata),
        ("Request", Level::Request),
        ("RequestResponse", Level::RequestResponse),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, l)| *l == self)
            .map_or("None", |(n, _)| n)
    }

    fn parse(name: &str) -> Option<Level> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, l)| *l)
    }
}

/// When in the handling of a request an event is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// As soon as the request is received, before it is handled.
    RequestReceived,
    /// Once the response headers are sent: long-running requests (watches) only.
    ResponseStarted,
    /// Once the response body is complete.
    ResponseComplete,
    /// When handling the request panicked.
    Panic,
}

impl Stage {
    const ALL: [Stage; 4] = [
        Stage::RequestReceived,
        Stage::ResponseStarted,
        Stage::ResponseComplete,
        Stage::Panic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
        }
    }

    fn parse(name: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of stages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stages(u8);

impl Stages {
    pub fn contains(self, stage: Stage) -> bool {
        self.0 & stage.bit() != 0
    }

    fn union(self, other: Stages) -> Stages {
        Stages(self.0 | other.0)
    }
}

impl FromIterator<Stage> for Stages {
    fn from_iter<I: IntoIterator<Item = Stage>>(stages: I) -> Self {
        Stages(stages.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

/// What the policy decided for one request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestConfig {
    pub level: Level,
    pub omit_stages: Stages,
    pub omit_managed_fields: bool,
}

impl RequestConfig {
    /// Whether an event is written at `stage`.
    pub fn records(&self, stage: Stage) -> bool {
        self.level > Level::None && !self.omit_stages.contains(stage)
    }
}

/// What a rule can match a request on (the authenticated user's, not an impersonated one's,
/// as upstream).
#[derive(Clone, Copy, Debug, Default)]
pub struct Attributes<'a> {
    pub user: &'a str,
    pub groups: &'a [String],
    pub verb: &'a str,
    pub resource_request: bool,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    /// Empty for cluster-scoped resources.
    pub namespace: &'a str,
    pub name: &'a str,
    pub path: &'a str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct GroupResources {
    group: String,
    resources: Vec<String>,
    resource_names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    level: Level,
    users: Vec<String>,
    user_groups: Vec<String>,
    verbs: Vec<String>,
    resources: Vec<GroupResources>,
    namespaces: Vec<String>,
    non_resource_urls: Vec<String>,
    /// The rule's own and the policy's.
    omit_stages: Stages,
    omit_managed_fields: Option<bool>,
}

/// A loaded, valid policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
    omit_stages: Stages,
    omit_managed_fields: bool,
}

/// Why a policy cannot be used, with the field at fault (`rules[2].level: ...`).
#[derive(Debug, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

const API_VERSION: &str = "audit.k8s.io/v1";

/// OpenShift's `Default` audit profile: metadata for everything worth auditing, the request
/// and response of identity and OAuth token writes, sensitive kinds never beyond metadata.
const DEFAULT_POLICY: &str = include_str!("default-policy.yaml");

impl Policy {
    /// The policy used when none is given.
    pub fn default_profile() -> Policy {
        match Policy::parse(DEFAULT_POLICY) {
            Ok(policy) => policy,
            // The profile is a constant checked by the tests.
            Err(_) => Policy {
                rules: Vec::new(),
                omit_stages: Stages::default(),
                omit_managed_fields: true,
            },
        }
    }

    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PolicyError(format!(
                "failed to read audit policy {}: {e}",
                path.display()
            ))
        })?;
        Policy::parse(&text)
            .map_err(|e| PolicyError(format!("audit policy {}: {e}", path.display())))
    }

    /// A policy from its YAML or JSON text.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let doc: PolicyDoc = serde_saphyr::from_str(text)
            .map_err(|e| PolicyError(format!("failed decoding: {e}")))?;
        doc.validate()
    }

    /// The level, omitted stages and managed-fields choice of the first rule matching
    /// `attrs`; level `None` when none does.
    pub fn evaluate(&self, attrs: &Attributes) -> RequestConfig {
        match self.rules.iter().find(|r| r.matches(attrs)) {
            Some(rule) => RequestConfig {
                level: rule.level,
                omit_stages: rule.omit_stages,
                omit_managed_fields: rule.omit_managed_fields.unwrap_or(self.omit_managed_fields),
            },
            None => RequestConfig {
                level: Level::None,
                omit_stages: self.omit_stages,
                omit_managed_fields: self.omit_managed_fields,
            },
        }
    }
}

impl Rule {
    fn matches(&self, a: &Attributes) -> bool {
        if !self.users.is_empty() && !self.users.iter().any(|u| u == a.user) {
            return false;
        }
        if !self.user_groups.is_empty() && !a.groups.iter().any(|g| self.user_groups.contains(g)) {
            return false;
        }
        if !self.verbs.is_empty() && !self.verbs.iter().any(|v| v == a.verb) {
            return false;
        }
        if !self.namespaces.is_empty() || !self.resources.is_empty() {
            return self.matches_resource(a);
        }
        if !self.non_resource_urls.is_empty() {
            return !a.resource_request
                && self
                    .non_resource_urls
                    .iter()
                    .any(|u| path_matches(u, a.path));
        }
        true
    }

    fn matches_resource(&self, a: &Attributes) -> bool {
        if !a.resource_request {
            return false;
        }
        if !self.namespaces.is_empty() && !self.namespaces.iter().any(|n| n == a.namespace) {
            return false;
        }
        self.resources.is_empty() || self.resources.iter().any(|gr| gr.matches(a))
    }
}

impl GroupResources {
    fn matches(&self, a: &Attributes) -> bool {
        if self.group != a.api_group {
            return false;
        }
        if self.resources.is_empty() {
            return true;
        }
        if !self.resource_names.is_empty() && !self.resource_names.iter().any(|n| n == a.name) {
            return false;
        }
        self.resources
            .iter()
            .any(|spec| resource_matches(spec, a.resource, a.subresource))
    }
}

/// `pods`, `pods/log`, `*` (every resource and subresource), `pods/*` (every subresource
/// of pods) and `*/scale` (the scale subresource of anything).
fn resource_matches(spec: &str, resource: &str, subresource: &str) -> bool {
    if spec == "*" {
        return true;
    }
    match spec.split_once('/') {
        None => subresource.is_empty() && spec == resource,
        Some(("*", sub)) => !subresource.is_empty() && sub == subresource,
        Some((res, "*")) => res == resource,
        Some((res, sub)) => res == resource && sub == subresource,
    }
}

/// `*`, an exact path, or a prefix ending in `*`.
fn path_matches(spec: &str, path: &str) -> bool {
    match spec.strip_suffix('*') {
        _ if spec == path => true,
        Some(prefix) => path.starts_with(prefix.trim_end_matches('*')),
        None => false,
    }
}

/// The document as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyDoc {
    api_version: Option<String>,
    kind: Option<String>,
    /// Accepted and unused, as upstream.
    #[serde(rename = "metadata")]
    _metadata: Option<serde::de::IgnoredAny>,
    rules: Option<Vec<RuleDoc>>,
    omit_stages: Option<Vec<String>>,
    omit_managed_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuleDoc {
    level: Option<String>,
    users: Option<Vec<String>>,
    user_groups: Option<Vec<String>>,
    verbs: Option<Vec<String>>,
    resources: Option<Vec<GroupResourcesDoc>>,
    namespaces: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs")]
    non_resource_urls: Option<Vec<String>>,
    omit_stages: Option<Vec<String>>,
    omit_managed_fields: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupResourcesDoc {
    group: Option<String>,
    resources: Option<Vec<String>>,
    resource_names: Option<Vec<String>>,
}

/// Field errors gathered over the whole document, reported together.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn invalid(&mut self, field: &str, value: &str, why: &str) {
        self.0
            .push(format!("{field}: Invalid value: {value:?}: {why}"));
    }
}

impl PolicyDoc {
    fn validate(self) -> Result<Policy, PolicyError> {
        match (self.api_version.as_deref(), self.kind.as_deref()) {
            (Some(API_VERSION), Some("Policy")) => {}
            (version, kind) => {
                return Err(PolicyError(format!(
                    "unknown group version field {}, Kind={} in policy: the policy must be apiVersion: {API_VERSION}, kind: Policy",
                    version.unwrap_or_default(),
                    kind.unwrap_or_default()
                )));
            }
        }
        let mut errors = Errors::default();
        let omit_stages = stages(
            self.omit_stages.unwrap_or_default(),
            "omitStages",
            &mut errors,
        );
        let docs = self.rules.unwrap_or_default();
        let rules: Vec<Rule> = docs
            .into_iter()
            .enumerate()
            .map(|(i, rule)| rule.validate(&format!("rules[{i}]"), omit_stages, &mut errors))
            .collect();
        if !errors.0.is_empty() {
            return Err(PolicyError(errors.0.join(", ")));
        }
        if rules.is_empty() {
            return Err(PolicyError("loaded illegal policy with 0 rules".into()));
        }
        Ok(Policy {
            rules,
            omit_stages,
            omit_managed_fields: self.omit_managed_fields.unwrap_or(false),
        })
    }
}

const STAGES: &str = "RequestReceived,ResponseStarted,ResponseComplete,Panic";

fn stages(names: Vec<String>, field: &str, errors: &mut Errors) -> Stages {
    let mut found = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match Stage::parse(name) {
            Some(stage) => found.push(stage),
            None => errors.invalid(
                &format!("{field}[{i}]"),
                name,
                &format!("allowed stages are {STAGES}"),
            ),
        }
    }
    found.into_iter().collect()
}

impl RuleDoc {
    fn validate(self, at: &str, policy_omits: Stages, errors: &mut Errors) -> Rule {
        let level = match self.level.as_deref() {
            None | Some("") => {
                errors.0.push(format!("{at}.level: Required value"));
                Level::None
            }
            Some(name) => Level::parse(name).unwrap_or_else(|| {
                errors.0.push(format!(
                    "{at}.level: Unsupported value: {name:?}: supported values: \"None\", \"Metadata\", \"Request\", \"RequestResponse\""
                ));
                Level::None
            }),
        };
        let urls = self.non_resource_urls.unwrap_or_default();
        for (i, url) in urls.iter().enumerate() {
            if url == "*" {
                continue;
            }
            let field = format!("{at}.nonResourceURLs[{i}]");
            if !url.starts_with('/') {
                errors.invalid(
                    &field,
                    url,
                    "non-resource URL rules must begin with a '/' character",
                );
            }
            if url
                .get(..url.len().saturating_sub(1))
                .is_some_and(|head| head.contains('*'))
            {
                errors.invalid(
                    &field,
                    url,
                    "non-resource URL wildcards '*' must be the final character of the rule",
                );
            }
        }
        let resources: Vec<GroupResources> = self
            .resources
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, gr)| gr.validate(&format!("{at}.resources[{i}]"), errors))
            .collect();
        let namespaces = self.namespaces.unwrap_or_default();
        if !urls.is_empty() && (!resources.is_empty() || !namespaces.is_empty()) {
            errors.0.push(format!(
                "{at}.nonResourceURLs: Invalid value: {urls:?}: rules cannot apply to both regular resources and non-resource URLs"
            ));
        }
        let own = stages(
            self.omit_stages.unwrap_or_default(),
            &format!("{at}.omitStages"),
            errors,
        );
        Rule {
            level,
            users: self.users.unwrap_or_default(),
            user_groups: self.user_groups.unwrap_or_default(),
            verbs: self.verbs.unwrap_or_default(),
            resources,
            namespaces,
            non_resource_urls: urls,
            omit_stages: own.union(policy_omits),
            omit_managed_fields: self.omit_managed_fields,
        }
    }
}

impl GroupResourcesDoc {
    fn validate(self, at: &str, errors: &mut Errors) -> GroupResources {
        let group = self.group.unwrap_or_default();
        if !group.is_empty() {
            let problems = api::names::dns1123_subdomain(&group);
            if !problems.is_empty() {
                errors.invalid(&format!("{at}.group"), &group, &problems.join(","));
            }
        }
        let resources = self.resources.unwrap_or_default();
        let resource_names = self.resource_names.unwrap_or_default();
        if !resource_names.is_empty() && resources.is_empty() {
            errors.0.push(format!(
                "{at}.resourceNames: Invalid value: {resource_names:?}: using resourceNames requires at least one resource"
            ));
        }
        GroupResources {
            group,
            resources,
            resource_names,
        }
    }
}

#[cfg(test)]
mod tests;
