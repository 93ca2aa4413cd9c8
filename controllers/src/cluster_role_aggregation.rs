//! Aggregated ClusterRoles: a role with an `aggregationRule` holds the union of the rules of
//! every ClusterRole its selectors match (the default `admin`, `edit` and `view` roles grow
//! when a role labelled `rbac.authorization.k8s.io/aggregate-to-view: "true"` appears).

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{ListParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};

use crate::Error;
use crate::backoff::Retries;
use crate::lenient::Object;
use crate::skipped::Skipped;

/// Whether `labels` satisfy `selector` (all of `matchLabels` and `matchExpressions`).
pub fn selects(
    selector: &LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let expressions_match = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let value = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_match && expressions_match
}

/// The union of the rules of the roles `role` aggregates, in name order, without repeats; the
/// roles selected that could not be decoded when there are any (their rules are unknown, and
/// a union without them would take rules away). A role whose labels cannot be read is never
/// selected.
pub fn aggregate<'a>(
    role: &ClusterRole,
    all: &'a [Object<ClusterRole>],
) -> Result<Vec<PolicyRule>, Vec<&'a Object<ClusterRole>>> {
    let Some(rule) = &role.aggregation_rule else {
        return Ok(role.rules.clone().unwrap_or_default());
    };
    let selectors = rule.cluster_role_selectors.as_deref().unwrap_or_default();
    let mut sources: Vec<&Object<ClusterRole>> = all
        .iter()
        .filter(|other| other.name_any() != role.name_any())
        .filter(|other| !other.metadata.lacks(&["labels"]))
        .filter(|other| selectors.iter().any(|s| selects(s, other.labels())))
        .collect();
    let unknown: Vec<_> = sources
        .iter()
        .filter(|s| s.object.is_none())
        .copied()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    sources.sort_by_key(|r| r.name_any());
    let mut rules: Vec<PolicyRule> = Vec::new();
    for source in sources.iter().filter_map(|s| s.object.as_ref()) {
        for r in source.rules.iter().flatten() {
            if !rules.contains(r) {
                rules.push(r.clone());
            }
        }
    }
    Ok(rules)
}

struct Context {
    client: Client,
    skipped: Skipped,
    retries: Retries,
}

async fn reconcile(role: Arc<Object<ClusterRole>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let name = role.name_any();
    let action = converge(role, &ctx).await?;
    ctx.retries.succeeded(&name);
    Ok(action)
}

async fn converge(role: Arc<Object<ClusterRole>>, ctx: &Context) -> Result<Action, Error> {
    let Some(seen) = &role.object else {
        ctx.skipped
            .skip("ClusterRole", &role.metadata.meta, &role.metadata.broken);
        return Ok(Action::await_change());
    };
    if seen.aggregation_rule.is_none() {
        return Ok(Action::await_change());
    }
    // The roles are read now rather than from the watch's cache: the change that brought
    // this role here comes through another watch and may not be in that cache yet, and
    // nothing would bring the role back once it is.
    let api: Api<Object<ClusterRole>> = Api::all(ctx.client.clone());
    let all = api.list(&ListParams::default()).await?.items;
    let Some(role) = all
        .iter()
        .find(|r| r.name_any() == seen.name_any())
        .and_then(|r| r.object.as_ref())
        .filter(|r| r.aggregation_rule.is_some())
    else {
        // Gone or changed since: its own event follows.
        return Ok(Action::await_change());
    };
    let wanted = match aggregate(role, &all) {
        Ok(wanted) => wanted,
        Err(unknown) => {
            for source in unknown {
                ctx.skipped.skip(
                    "ClusterRole",
                    &source.metadata.meta,
                    &source.metadata.broken,
                );
            }
            return Ok(Action::await_change());
        }
    };
    if role.rules.as_ref() == Some(&wanted) {
        return Ok(Action::await_change());
    }
    let mut updated = role.clone();
    updated.rules = Some(wanted);
    // Carries the resourceVersion read: a concurrent change makes this fail and requeue.
    api.replace(
        &role.name_any(),
        &PostParams::default(),
        &Object::new(updated),
    )
    .await?;
    Ok(Action::await_change())
}

fn error_policy(role: Arc<Object<ClusterRole>>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = role.name_any();
    let delay = ctx.retries.failed(&name);
    tracing::warn!(%error, role = %name, ?delay, "cluster role aggregation: retrying");
    Action::requeue(delay)
}

pub async fn run(client: Client) {
    let roles: Api<Object<ClusterRole>> = Api::all(client.clone());
    let controller = Controller::new(roles.clone(), watcher::Config::default());
    let aggregated = controller.store();
    controller
        // Any role's change may change what an aggregated role should hold.
        .watches(roles, watcher::Config::default(), move |_| {
            aggregated
                .state()
                .into_iter()
                .filter(|r| {
                    r.object
                        .as_ref()
                        .is_some_and(|r| r.aggregation_rule.is_some())
                })
                .map(|r| ObjectRef::from_obj(&*r))
                .collect::<Vec<_>>()
        })
        .run(
            reconcile,
            error_policy,
            Arc::new(Context {
                client,
                skipped: Skipped::new("cluster role aggregation"),
                retries: Retries::new(),
            }),
        )
        .for_each(|_| futures::future::ready(()))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(v: serde_json::Value) -> Object<ClusterRole> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn unions_the_rules_of_selected_roles() {
        let view = role(
            json!({"metadata": {"name": "view"}, "aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}, "rules": []}),
        );
        let a = role(
            json!({"metadata": {"name": "a", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        );
        let b = role(
            json!({"metadata": {"name": "b", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                      {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}]}),
        );
        let other = role(
            json!({"metadata": {"name": "c"}, "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
        );
        let view_role = view.object.clone().unwrap();
        let rules = aggregate(&view_role, &[view.clone(), b.clone(), other, a.clone()]).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0].resources.as_deref(),
            Some(&["pods".to_string()][..])
        );
    }

    #[test]
    fn a_selected_role_that_cannot_be_decoded_stops_only_its_aggregates() {
        let view = role(
            json!({"metadata": {"name": "view"}, "aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {"aggregate-to-view": "true"}}]}, "rules": []}),
        );
        let edit = role(
            json!({"metadata": {"name": "edit"}, "aggregationRule": {"clusterRoleSelectors": [
            {"matchLabels": {"aggregate-to-edit": "true"}}]}, "rules": []}),
        );
        let good = role(
            json!({"metadata": {"name": "good", "labels": {"aggregate-to-view": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
        );
        let bad = role(
            json!({"metadata": {"name": "bad", "labels": {"aggregate-to-edit": "true"}},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": "get"}]}),
        );
        let unreadable_labels = role(
            json!({"metadata": {"name": "odd", "labels": {"aggregate-to-view": 1}},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
        );
        assert!(bad.object.is_none());
        let all = [view.clone(), edit.clone(), good, bad, unreadable_labels];
        let view_rules = aggregate(view.object.as_ref().unwrap(), &all).unwrap();
        assert_eq!(view_rules.len(), 1);
        let unknown = aggregate(edit.object.as_ref().unwrap(), &all).unwrap_err();
        assert_eq!(unknown[0].name_any(), "bad");
    }

    /// Brought here by a source role's change that the watch's cache does not hold yet: the
    /// union is made from the roles as they are now, onto the role as it is now.
    #[tokio::test]
    async fn aggregates_the_roles_as_they_are_now() {
        let (client, log) =
            crate::testing::client(|r| match (r.method.as_str(), r.path.as_str()) {
                ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles") => {
                    crate::testing::list(vec![
                        json!({"metadata": {"name": "view", "resourceVersion": "9"},
                    "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"v": "true"}}]},
                    "rules": []}),
                        json!({"metadata": {"name": "a", "labels": {"v": "true"}},
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}),
                    ])
                }
                ("PUT", _) => crate::testing::Reply::Json(200, r.body.clone()),
                _ => crate::testing::status(404, "NotFound"),
            });
        let stale = Arc::new(role(
            json!({"metadata": {"name": "view", "resourceVersion": "3"},
            "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"v": "true"}}]},
            "rules": []}),
        ));
        let ctx = Context {
            client,
            skipped: Skipped::new("test"),
            retries: Retries::new(),
        };
        converge(stale, &ctx).await.unwrap();
        let log = log.lock().unwrap();
        let put = log.iter().find(|r| r.method == "PUT").unwrap();
        assert_eq!(put.body["metadata"]["resourceVersion"], "9");
        assert_eq!(put.body["rules"][0]["resources"][0], "secrets");
    }

    #[test]
    fn selector_expressions() {
        let labels: std::collections::BTreeMap<String, String> =
            [("tier".to_string(), "web".to_string())].into();
        let sel = |v: serde_json::Value| -> LabelSelector { serde_json::from_value(v).unwrap() };
        assert!(selects(
            &sel(
                json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]})
            ),
            &labels
        ));
        assert!(!selects(
            &sel(
                json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]})
            ),
            &labels
        ));
        assert!(selects(
            &sel(json!({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]})),
            &labels
        ));
        assert!(!selects(
            &sel(json!({"matchLabels": {"tier": "db"}})),
            &labels
        ));
    }
}
