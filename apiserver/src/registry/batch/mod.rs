//! Jobs and cron jobs: their pods' defaults (no default restart policy: it must be chosen) and
//! upstream's job rules.

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults;
use crate::registry::strategy::Strategy;
use crate::registry::validation::{FieldErrors, workloads};

pub struct Jobs;

impl Strategy for Jobs {
    fn prepare(&self, obj: &mut Value) {
        job_defaults(obj.pointer_mut("/spec"));
        defaults::pod_spec_defaults(obj.pointer_mut("/spec/template/spec"), false);
    }

    fn prepare_create(&self, obj: &mut Value) {
        self.prepare(obj);
        generate_selector(obj);
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        workloads::job(obj, old, errors);
    }
}

/// Upstream's Job defaults: one pod to completion, 6 retries, pods counted as they finish.
fn job_defaults(spec: Option<&mut Value>) {
    let Some(spec) = spec.and_then(Value::as_object_mut) else {
        return;
    };
    let missing =
        |spec: &serde_json::Map<String, Value>, k: &str| spec.get(k).is_none_or(Value::is_null);
    if missing(spec, "completions") && missing(spec, "parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    for (field, value) in [
        ("parallelism", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
    ] {
        if missing(spec, field) {
            spec.insert(field.into(), value);
        }
    }
    if missing(spec, "podReplacementPolicy") && missing(spec, "podFailurePolicy") {
        spec.insert("podReplacementPolicy".into(), json!("TerminatingOrFailed"));
    }
}

/// A new Job without `manualSelector` selects its own pods by its uid, and its template
/// carries the labels that select them (upstream's generateSelector).
fn generate_selector(obj: &mut Value) {
    if obj["spec"]["manualSelector"] == json!(true) || !obj["spec"].is_object() {
        return;
    }
    let uid = obj["metadata"]["uid"].clone();
    let name = obj["metadata"]["name"].clone();
    let template = &mut obj["spec"]["template"];
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    if !template["metadata"]["labels"].is_object() {
        template["metadata"]["labels"] = json!({});
    }
    let labels = &mut template["metadata"]["labels"];
    labels["batch.kubernetes.io/controller-uid"] = uid.clone();
    labels["batch.kubernetes.io/job-name"] = name.clone();
    labels["controller-uid"] = uid.clone();
    labels["job-name"] = name;
    if obj["spec"]["selector"].is_null() {
        obj["spec"]["selector"] =
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    }
}

pub struct CronJobs;

impl Strategy for CronJobs {
    fn prepare(&self, obj: &mut Value) {
        defaults::pod_spec_defaults(
            obj.pointer_mut("/spec/jobTemplate/spec/template/spec"),
            false,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_job_selects_its_own_pods() {
        let mut job = json!({"metadata": {"name": "pi", "uid": "u1"},
            "spec": {"template": {"spec": {"containers": [], "restartPolicy": "Never"}}}});
        Jobs.prepare_create(&mut job);
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}})
        );
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["job-name"],
            "pi"
        );
        assert_eq!(
            (
                &job["spec"]["completions"],
                &job["spec"]["parallelism"],
                &job["spec"]["backoffLimit"]
            ),
            (&json!(1), &json!(1), &json!(6))
        );
        let mut parallel = json!({"spec": {"parallelism": 3}});
        job_defaults(parallel.pointer_mut("/spec"));
        assert!(parallel["spec"]["completions"].is_null());
    }
}
