//! Label selectors as workload controllers and the scheduler match them: a
//! `metav1.LabelSelector` (matchLabels and matchExpressions), a plain label map (the selector of
//! ReplicationControllers and Services), and the node selector terms of node affinity.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

pub type Labels = BTreeMap<String, String>;

fn requirement(labels: &Labels, r: &LabelSelectorRequirement) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let value = labels.get(&r.key);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(v)),
        "NotIn" => value.is_none_or(|v| !values.contains(v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        _ => false,
    }
}

/// Whether `labels` satisfy `selector`. An empty selector matches everything (as upstream's
/// `LabelSelectorAsSelector`); callers that want "nothing" for a missing selector check first.
pub fn matches(selector: &LabelSelector, labels: &Labels) -> bool {
    selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector
            .match_expressions
            .iter()
            .flatten()
            .all(|r| requirement(labels, r))
}

/// Whether a plain selector map matches; an empty map matches nothing (as for Services and
/// ReplicationControllers, whose empty selector selects no pod).
pub fn map_matches(selector: &Labels, labels: &Labels) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn node_requirement(value: Option<&str>, r: &NodeSelectorRequirement) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    let single = || {
        values
            .first()
            .and_then(|v| number(v))
            .filter(|_| values.len() == 1)
    };
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|w| w == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|w| w == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" => matches!((value.and_then(number), single()), (Some(v), Some(w)) if v > w),
        "Lt" => matches!((value.and_then(number), single()), (Some(v), Some(w)) if v < w),
        _ => false,
    }
}

/// Whether a node (its name and labels) satisfies one node selector term: every label and
/// field requirement. A term with no requirement matches no node, as upstream.
pub fn node_term_matches(term: &NodeSelectorTerm, name: &str, labels: &Labels) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    expressions
        .iter()
        .all(|r| node_requirement(labels.get(&r.key).map(String::as_str), r))
        && fields.iter().all(|r| {
            let value = (r.key == "metadata.name").then_some(name);
            node_requirement(value, r)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "a")]);
        let sel = LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "tier".into(),
                operator: "NotIn".into(),
                values: Some(vec!["b".into()]),
            }]),
        };
        assert!(matches(&sel, &l));
        assert!(!matches(&sel, &labels(&[("app", "db")])));
        assert!(matches(&LabelSelector::default(), &l));
        assert!(!map_matches(&Labels::new(), &l));
        assert!(map_matches(&labels(&[("app", "web")]), &l));
    }

    #[test]
    fn node_terms() {
        let l = labels(&[("disk", "ssd"), ("cores", "8")]);
        let term = |reqs: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: Some(reqs),
            match_fields: None,
        };
        assert!(node_term_matches(
            &term(vec![req("disk", "In", &["ssd"])]),
            "n",
            &l
        ));
        assert!(node_term_matches(
            &term(vec![req("cores", "Gt", &["4"])]),
            "n",
            &l
        ));
        assert!(!node_term_matches(
            &term(vec![req("cores", "Lt", &["4"])]),
            "n",
            &l
        ));
        assert!(!node_term_matches(&term(vec![]), "n", &l));
        let by_name = NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &["n"])]),
        };
        assert!(node_term_matches(&by_name, "n", &l));
        assert!(!node_term_matches(&by_name, "m", &l));
    }
}
