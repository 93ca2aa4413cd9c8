//! Stateful sets and daemon sets: upstream's defaults (pod management, update strategies,
//! history, claim retention) and their rules beyond every replicated kind's (supported
//! policies; a stateful set's spec is immutable but for a few fields).

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults::{self, default, items};
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, workloads};

pub struct StatefulSets;

/// The fields of a stateful set's spec an update may change.
const STATEFUL_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

impl Strategy for StatefulSets {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            stateful_set_defaults(spec);
        }
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), true);
    }

    fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        workloads::replicated(def, obj, old, errors);
        let spec = &obj["spec"];
        supported(
            spec,
            "podManagementPolicy",
            &["OrderedReady", "Parallel"],
            errors,
        );
        supported(
            &spec["updateStrategy"],
            "type",
            &["RollingUpdate", "OnDelete"],
            errors,
        );
        if let Some(p) = spec["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .filter(|p| *p < 0)
        {
            errors.invalid(
                "spec.updateStrategy.rollingUpdate.partition",
                Bad::Int(p),
                "must be greater than or equal to 0",
            );
        }
        let retention = &spec["persistentVolumeClaimRetentionPolicy"];
        for field in ["whenDeleted", "whenScaled"] {
            if let Some(v) = retention[field].as_str()
                && !["Retain", "Delete"].contains(&v)
            {
                errors.not_supported(
                    &format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
                    Bad::Str(v),
                    &["Retain", "Delete"],
                );
            }
        }
        if let Some(old) = old {
            let frozen = |spec: &Value| -> Value {
                let mut spec = spec.clone();
                if let Some(map) = spec.as_object_mut() {
                    map.retain(|k, _| !STATEFUL_MUTABLE.contains(&k.as_str()));
                }
                spec
            };
            if frozen(spec) != frozen(&old["spec"]) {
                errors.forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', \
                     'template', 'updateStrategy', 'revisionHistoryLimit', \
                     'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                );
            }
        }
    }
}

/// Upstream's values of `parent[field]`, if it is set to another.
fn supported(parent: &Value, field: &str, values: &[&str], errors: &mut FieldErrors) {
    if let Some(v) = parent[field].as_str()
        && !values.contains(&v)
    {
        let path = match field {
            "type" => "spec.updateStrategy.type".to_string(),
            f => format!("spec.{f}"),
        };
        errors.not_supported(&path, Bad::Str(v), values);
    }
}

fn stateful_set_defaults(spec: &mut Value) {
    default(spec, "replicas", json!(1));
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    default(spec, "updateStrategy", json!({}));
    let strategy = &mut spec["updateStrategy"];
    default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        default(strategy, "rollingUpdate", json!({}));
        default(&mut strategy["rollingUpdate"], "partition", json!(0));
    }
    default(spec, "persistentVolumeClaimRetentionPolicy", json!({}));
    let retention = &mut spec["persistentVolumeClaimRetentionPolicy"];
    default(retention, "whenDeleted", json!("Retain"));
    default(retention, "whenScaled", json!("Retain"));
    // Claim templates are claims: upstream defaults them as it defaults claims.
    for claim in items(spec, "volumeClaimTemplates") {
        default(claim, "apiVersion", json!("v1"));
        default(claim, "kind", json!("PersistentVolumeClaim"));
        default(claim, "spec", json!({}));
        default(&mut claim["spec"], "volumeMode", json!("Filesystem"));
        default(claim, "status", json!({}));
        default(&mut claim["status"], "phase", json!("Pending"));
    }
}

pub struct DaemonSets;

impl Strategy for DaemonSets {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "updateStrategy", json!({}));
            let strategy = &mut spec["updateStrategy"];
            default(strategy, "type", json!("RollingUpdate"));
            if strategy["type"] == "RollingUpdate" {
                default(strategy, "rollingUpdate", json!({}));
                default(&mut strategy["rollingUpdate"], "maxUnavailable", json!(1));
                default(&mut strategy["rollingUpdate"], "maxSurge", json!(0));
            }
        }
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), true);
    }

    fn validate(
        &self,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        workloads::replicated(def, obj, old, errors);
        let strategy = &obj["spec"]["updateStrategy"];
        supported(strategy, "type", &["RollingUpdate", "OnDelete"], errors);
        if strategy["type"] == "RollingUpdate" {
            rolling_update(&strategy["rollingUpdate"], errors);
        }
    }
}

/// A daemon set's rolling update: counts or percentages, exactly one of them non-zero.
fn rolling_update(update: &Value, errors: &mut FieldErrors) {
    const AT: &str = "spec.updateStrategy.rollingUpdate";
    for field in ["maxUnavailable", "maxSurge"] {
        if let Some(value) = update.get(field) {
            workloads::int_or_percent(value, &format!("{AT}.{field}"), errors);
        }
    }
    let non_zero = |field: &str| match &update[field] {
        Value::Number(n) => n.as_i64() != Some(0),
        Value::String(s) => s.trim_end_matches('%') != "0",
        _ => false,
    };
    match (non_zero("maxUnavailable"), non_zero("maxSurge")) {
        (true, true) => errors.invalid(
            &format!("{AT}.maxSurge"),
            crate::registry::validation::bad(&update["maxSurge"]),
            "may not be set when maxUnavailable is non-zero",
        ),
        (false, false) => errors.required(
            &format!("{AT}.maxUnavailable"),
            "cannot be 0 when maxSurge is 0",
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::FieldErrors;

    fn def(plural: &str) -> ResourceDef {
        *api::Scheme::builtin()
            .lookup("apps", "v1", plural)
            .expect("served")
    }

    fn web(labels: Value) -> Value {
        json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    }

    fn messages(
        strategy: &dyn Strategy,
        def: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
    ) -> String {
        let mut errors = FieldErrors::default();
        strategy.validate(def, obj, old, &mut errors);
        crate::registry::validation::messages(errors.into_result(def, obj))
    }

    #[test]
    fn stateful_sets_get_upstreams_defaults() {
        let mut sts = web(json!({"app": "web"}));
        sts["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {}}]);
        StatefulSets.prepare(&mut sts);
        let spec = &sts["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        let claim = &spec["volumeClaimTemplates"][0];
        assert_eq!(
            (
                &claim["kind"],
                &claim["spec"]["volumeMode"],
                &claim["status"]["phase"]
            ),
            (
                &json!("PersistentVolumeClaim"),
                &json!("Filesystem"),
                &json!("Pending")
            )
        );
        // An OnDelete strategy gets no rolling update.
        let mut on_delete = web(json!({"app": "web"}));
        on_delete["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        StatefulSets.prepare(&mut on_delete);
        assert_eq!(
            on_delete["spec"]["updateStrategy"],
            json!({"type": "OnDelete"})
        );
    }

    #[test]
    fn daemon_sets_get_upstreams_defaults() {
        let mut ds = web(json!({"app": "web"}));
        DaemonSets.prepare(&mut ds);
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["template"]["spec"]["restartPolicy"], "Always");
    }

    #[test]
    fn sets_refuse_what_upstream_refuses() {
        let sts = def("statefulsets");
        let mismatched = web(json!({"app": "other"}));
        assert!(
            messages(&StatefulSets, &sts, &mismatched, None)
                .contains("`selector` does not match template `labels`")
        );
        let mut old = web(json!({"app": "web"}));
        StatefulSets.prepare(&mut old);
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert_eq!(messages(&StatefulSets, &sts, &scaled, Some(&old)), "");
        let mut renamed = old.clone();
        renamed["spec"]["serviceName"] = json!("other");
        assert!(
            messages(&StatefulSets, &sts, &renamed, Some(&old)).contains(
                "Forbidden: updates to statefulset spec for fields other than 'replicas'"
            )
        );
        let mut parallel = old.clone();
        parallel["spec"]["podManagementPolicy"] = json!("Sometimes");
        assert!(messages(&StatefulSets, &sts, &parallel, None).contains(
            r#"Unsupported value: "Sometimes": supported values: "OrderedReady", "Parallel""#
        ));
        let ds = def("daemonsets");
        let mut old = web(json!({"app": "web"}));
        DaemonSets.prepare(&mut old);
        let mut moved = old.clone();
        moved["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "x"}});
        moved["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "tier": "x"});
        assert!(messages(&DaemonSets, &ds, &moved, Some(&old)).contains("field is immutable"));
        let mut surge = old.clone();
        surge["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"] = json!("10%");
        assert_eq!(
            messages(&DaemonSets, &ds, &surge, None),
            "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: \"10%\": may not be set when maxUnavailable is non-zero\n"
        );
    }
}
