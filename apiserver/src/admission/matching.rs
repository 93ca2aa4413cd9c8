//! Which requests a webhook or a policy applies to: upstream's `RuleWithOperations` (operations,
//! groups, versions, resources with subresources and `*`, scope), namespace and object label
//! selectors, and the resources no webhook or policy ever sees (their own configurations, so a
//! broken webhook cannot lock its fix out).

use api::selector::{LabelSelector, format_label_selector};
use serde_json::{Map, Value};

use super::Attributes;

/// One rule, read from its JSON (`rules[]`, `resourceRules[]`, `excludeResourceRules[]`).
#[derive(Clone, Debug, Default)]
pub struct Rule {
    operations: Vec<String>,
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    /// `*`, `Cluster` or `Namespaced`.
    scope: String,
    /// Named objects only (policies' `resourceNames`; empty: all).
    names: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

impl Rule {
    pub fn from_json(rule: &Value) -> Rule {
        Rule {
            operations: strings(&rule["operations"]),
            groups: strings(&rule["apiGroups"]),
            versions: strings(&rule["apiVersions"]),
            resources: strings(&rule["resources"]),
            scope: rule["scope"].as_str().unwrap_or("*").to_string(),
            names: strings(&rule["resourceNames"]),
        }
    }

    /// Whether the rule covers the request. `equivalent` (matchPolicy Equivalent) matches a
    /// rule naming another version of the resource, as every resource is served in one
    /// version here and a request in any other would be converted to it.
    pub fn matches(&self, a: &Attributes<'_>, equivalent: bool) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        any(&self.operations, a.operation.as_str())
            && any(&self.groups, a.def.group)
            && (equivalent || any(&self.versions, a.def.version))
            && self.resource_matches(a.def.plural, a.subresource)
            && self.scope_matches(a)
            && (self.names.is_empty() || self.names.iter().any(|n| n == a.name))
    }

    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            let (r_res, r_sub) = r.split_once('/').unwrap_or((r, ""));
            // `pods` covers no subresource of pods; `pods/*` covers pods and all of them.
            (r_res == "*" || r_res == resource) && (r_sub == "*" || r_sub == subresource)
        })
    }

    fn scope_matches(&self, a: &Attributes<'_>) -> bool {
        let namespaced = a.def.namespaced();
        match self.scope.as_str() {
            "Cluster" => !namespaced,
            "Namespaced" => namespaced,
            _ => true,
        }
    }
}

/// A `metav1.LabelSelector` as a matcher; `{}` or absent matches everything.
pub fn selector(v: &Value) -> Result<LabelSelector, String> {
    LabelSelector::parse(&format_label_selector(Some(v).filter(|v| v.is_object())))
}

/// The labels of an object, for selectors.
pub fn labels(obj: Option<&Value>) -> Option<&serde_json::Map<String, Value>> {
    obj.and_then(|o| o["metadata"]["labels"].as_object())
}

/// An object selector matches the new object's labels or the old one's (a deletion has only
/// the old, a label removed by an update still matches), as upstream.
pub fn object_matches(selector: &LabelSelector, obj: Option<&Value>, a: &Attributes) -> bool {
    if selector.is_empty() {
        return true;
    }
    let matches = |o: &Value| selector.matches(labels(Some(o)));
    obj.filter(|o| !o.is_null()).is_some_and(matches) || a.old.is_some_and(matches)
}

/// The labels a `namespaceSelector` is matched against: a Namespace's own, or the namespace's
/// of a namespaced object; `None` for other cluster-scoped objects, which every namespace
/// selector matches.
pub async fn namespace_labels(
    server: &crate::ApiServer,
    a: &Attributes<'_>,
    obj: Option<&Value>,
) -> Result<Option<Map<String, Value>>, crate::error::ApiError> {
    if a.def.group.is_empty() && a.def.plural == "namespaces" {
        let own = labels(obj.filter(|o| !o.is_null())).or(labels(a.old));
        return Ok(Some(own.cloned().unwrap_or_default()));
    }
    let Some(ns) = a.namespace.filter(|_| a.def.namespaced()) else {
        return Ok(None);
    };
    let namespace = a.namespace_object(server, ns).await?;
    Ok(Some(
        labels(namespace.as_deref()).cloned().unwrap_or_default(),
    ))
}

/// Resources webhooks and policies never see: their own configurations.
pub fn exempt(a: &Attributes<'_>) -> bool {
    a.def.group == "admissionregistration.k8s.io"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Operation;
    use serde_json::json;

    fn attrs<'a>(def: &'a api::ResourceDef, sub: &'a str, op: Operation) -> Attributes<'a> {
        Attributes {
            operation: op,
            def,
            subresource: sub,
            namespace: Some("p"),
            name: "x",
            user: None,
            old: None,
            dry_run: false,
            namespace_object: Default::default(),
        }
    }

    #[test]
    fn resources_subresources_and_scope() {
        let scheme = api::Scheme::builtin();
        let pods = scheme.lookup("", "v1", "pods").unwrap();
        let rule = |resources: Value, scope: &str| {
            Rule::from_json(&json!({"operations": ["CREATE"], "apiGroups": [""],
                "apiVersions": ["v1"], "resources": resources, "scope": scope}))
        };
        let create = attrs(pods, "", Operation::Create);
        let exec = attrs(pods, "exec", Operation::Create);
        assert!(rule(json!(["pods"]), "*").matches(&create, false));
        assert!(!rule(json!(["pods"]), "*").matches(&exec, false));
        assert!(rule(json!(["pods/*"]), "*").matches(&exec, false));
        assert!(rule(json!(["pods/*"]), "*").matches(&create, false));
        assert!(rule(json!(["*/exec"]), "*").matches(&exec, false));
        assert!(rule(json!(["*"]), "Namespaced").matches(&create, false));
        assert!(!rule(json!(["*"]), "Cluster").matches(&create, false));
        assert!(rule(json!(["*/*"]), "*").matches(&exec, false));
        assert!(!rule(json!(["pods"]), "*").matches(&attrs(pods, "", Operation::Update), false));
        let v2 = Rule::from_json(&json!({"operations": ["*"], "apiGroups": ["*"],
            "apiVersions": ["v2"], "resources": ["pods"]}));
        assert!(!v2.matches(&create, false));
        assert!(v2.matches(&create, true));
    }

    #[test]
    fn object_selector_sees_old_and_new_labels() {
        let scheme = api::Scheme::builtin();
        let pods = scheme.lookup("", "v1", "pods").unwrap();
        let sel = selector(&json!({"matchLabels": {"hook": "yes"}})).unwrap();
        let labelled = json!({"metadata": {"labels": {"hook": "yes"}}});
        let plain = json!({"metadata": {}});
        let mut a = attrs(pods, "", Operation::Update);
        assert!(object_matches(&sel, Some(&labelled), &a));
        assert!(!object_matches(&sel, Some(&plain), &a));
        a.old = Some(&labelled);
        assert!(object_matches(&sel, Some(&plain), &a));
        assert!(object_matches(
            &selector(&json!({})).unwrap(),
            Some(&plain),
            &a
        ));
    }
}
