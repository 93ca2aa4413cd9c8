//! RBAC rules as kubectl lists them (`describe role`, `auth can-i --list`): each rule broken
//! down to one group, resource and name (or one non-resource URL) per row, rows ordered by
//! Go's text form of the rule (verbs first), columns Resources, Non-Resource URLs, Resource
//! Names and Verbs. Rows of the same group, resource and name are merged (verbs added in
//! order), as kubectl compacts them.

use serde_json::Value;

use super::go_value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// `pods.apps/log` for resource `pods/log` of group `apps`, `pods` for the core group.
fn combined(group: &str, resource: &str) -> String {
    match (group, resource.split_once('/')) {
        ("", _) => resource.to_string(),
        (g, Some((res, sub))) => format!("{res}.{g}/{sub}"),
        (g, None) => format!("{resource}.{g}"),
    }
}

/// The rows of `rules` (PolicyRule objects), in kubectl's order.
pub fn rows(rules: &[Value]) -> Vec<[String; 4]> {
    let list = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    let mut rows: Vec<(String, [String; 4])> = broken_down(rules)
        .into_iter()
        .map(|p| {
            let key = format!(
                "&PolicyRule{{Verbs:[{}],APIGroups:[{}],Resources:[{}],ResourceNames:[{}],NonResourceURLs:[{}],}}",
                p.verbs.join(" "),
                list(&p.group).join(" "),
                list(&p.resource).join(" "),
                list(&p.name).join(" "),
                list(&p.url).join(" ")
            );
            let shown = match (&p.group, &p.resource) {
                (Some(g), Some(r)) => combined(g, r),
                _ => String::new(),
            };
            let row = [
                shown,
                go_value(&Value::from(list(&p.url))),
                go_value(&Value::from(list(&p.name))),
                go_value(&Value::from(p.verbs)),
            ];
            (key, row)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// A broken-down rule; `group` and `resource` are None for a non-resource URL.
struct Part {
    group: Option<String>,
    resource: Option<String>,
    name: Option<String>,
    url: Option<String>,
    verbs: Vec<String>,
}

/// The rules broken down, resource rows of the same group, resource and name merged.
fn broken_down(rules: &[Value]) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for rule in rules {
        let verbs = strings(&rule["verbs"]);
        let names = strings(&rule["resourceNames"]);
        let names: Vec<Option<String>> = match names.is_empty() {
            true => vec![None],
            false => names.into_iter().map(Some).collect(),
        };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for name in &names {
                    let same = parts.iter_mut().find(|p| {
                        p.url.is_none()
                            && p.group.as_deref() == Some(group.as_str())
                            && p.resource.as_deref() == Some(resource.as_str())
                            && p.name == *name
                    });
                    match same {
                        Some(p) => {
                            for v in &verbs {
                                if !p.verbs.contains(v) {
                                    p.verbs.push(v.clone());
                                }
                            }
                        }
                        None => parts.push(Part {
                            group: Some(group.clone()),
                            resource: Some(resource.clone()),
                            name: name.clone(),
                            url: None,
                            verbs: verbs.clone(),
                        }),
                    }
                }
            }
        }
        for url in strings(&rule["nonResourceURLs"]) {
            parts.push(Part {
                group: None,
                resource: None,
                name: None,
                url: Some(url),
                verbs: verbs.clone(),
            });
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn broken_down_and_ordered_verbs_first() {
        let rules = [
            json!({"apiGroups": ["project.openshift.io"], "resources": ["projects"], "verbs": ["list", "watch"]}),
            json!({"apiGroups": [""], "resources": ["pods/log"], "resourceNames": ["a", "b"], "verbs": ["get"]}),
            json!({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}),
            json!({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"], "verbs": ["create"]}),
            json!({"apiGroups": ["project.openshift.io"], "resources": ["projects"], "verbs": ["watch", "get"]}),
        ];
        let rows = super::rows(&rules);
        let first: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            first,
            [
                "selfsubjectaccessreviews.authorization.k8s.io",
                "",
                "pods/log",
                "pods/log",
                "projects.project.openshift.io"
            ]
        );
        assert_eq!(rows[1][1], "[/healthz]");
        assert_eq!(rows[2][2], "[a]");
        assert_eq!(rows[4][3], "[list watch get]");
        assert_eq!(rows.len(), 5);
    }
}
