//! Jobs and cron jobs: their pods' defaults (no default restart policy: it must be chosen),
//! cron jobs' own defaults, and upstream's job and schedule rules (schedules parsed by `api::cron`).

use api::scheme::ResourceDef;
use serde_json::{Value, json};

use crate::registry::core::defaults::{self, default};
use crate::registry::strategy::Strategy;
use crate::registry::validation::{Bad, FieldErrors, workloads};

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

/// The longest cron job name: its jobs' names add 11 characters to it.
const CRON_JOB_NAME_MAX: usize = 52;

impl Strategy for CronJobs {
    fn prepare(&self, obj: &mut Value) {
        if let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) {
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
        }
        defaults::pod_spec_defaults(
            obj.pointer_mut("/spec/jobTemplate/spec/template/spec"),
            false,
        );
    }

    fn validate(
        &self,
        _: &ResourceDef,
        obj: &Value,
        old: Option<&Value>,
        errors: &mut FieldErrors,
    ) {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if old.is_none() && name.len() > CRON_JOB_NAME_MAX {
            errors.invalid(
                "metadata.name",
                Bad::Str(name),
                "must be no more than 52 characters",
            );
        }
        let spec = &obj["spec"];
        match spec["schedule"].as_str().unwrap_or_default() {
            "" => errors.required("spec.schedule", ""),
            // Only new schedules: one stored by an older server stays updatable.
            s if s.contains("TZ") && old.is_none_or(|o| o["spec"]["schedule"] != s) => errors
                .invalid(
                    "spec.schedule",
                    Bad::Str(s),
                    "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                ),
            s => {
                if let Some(why) = api::cron::parse_error(s) {
                    errors.invalid("spec.schedule", Bad::Str(s), &why);
                }
            }
        }
        if let Some(zone) = spec["timeZone"].as_str() {
            time_zone(zone, errors);
        }
        let policies = ["Allow", "Forbid", "Replace"];
        match spec["concurrencyPolicy"].as_str() {
            Some(p) if !policies.contains(&p) => {
                errors.not_supported("spec.concurrencyPolicy", Bad::Str(p), &policies)
            }
            _ => {}
        }
        for field in [
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ] {
            if let Some(n) = spec[field].as_i64().filter(|n| *n < 0) {
                errors.invalid(
                    &format!("spec.{field}"),
                    Bad::Int(n),
                    "must be greater than or equal to 0",
                );
            }
        }
        let restart = "spec.jobTemplate.spec.template.spec.restartPolicy";
        let supported = ["OnFailure", "Never"];
        match spec["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"].as_str() {
            None | Some("") => errors.required(restart, "valid values: \"OnFailure\", \"Never\""),
            Some(p) if !supported.contains(&p) => {
                errors.not_supported(restart, Bad::Str(p), &supported)
            }
            Some(_) => {}
        }
    }
}

/// A time zone's name as upstream checks it before looking it up (the lookup itself, against
/// the server's time zone database, is not done here).
fn time_zone(zone: &str, errors: &mut FieldErrors) {
    const FIELD: &str = "spec.timeZone";
    if zone.is_empty() {
        errors.invalid(
            FIELD,
            Bad::Str(zone),
            "timeZone must be nil or non-empty string",
        );
        return;
    }
    let bad_part = |part: &str| {
        part == "."
            || part == ".."
            || part.starts_with('-')
            || part.is_empty()
            || part.len() > 14
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_+".contains(&b))
    };
    if zone.split('/').any(bad_part) {
        errors.invalid(FIELD, Bad::Str(zone), &format!("unknown time zone {zone}"));
        return;
    }
    if zone.eq_ignore_ascii_case("local") {
        errors.invalid(
            FIELD,
            Bad::Str(zone),
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::validation::validated;

    fn cron_job(schedule: &str) -> Value {
        json!({"metadata": {"name": "tick"}, "spec": {"schedule": schedule, "jobTemplate": {"spec": {
            "template": {"spec": {"restartPolicy": "OnFailure",
                                  "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    }

    fn check(obj: &Value) -> String {
        validated(&CronJobs, ("batch", "v1", "cronjobs"), obj, None)
    }

    #[test]
    fn cron_jobs_get_upstreams_defaults() {
        let mut cj = cron_job("*/5 * * * *");
        CronJobs.prepare(&mut cj);
        let spec = &cj["spec"];
        assert_eq!(
            (
                &spec["concurrencyPolicy"],
                &spec["suspend"],
                &spec["successfulJobsHistoryLimit"],
                &spec["failedJobsHistoryLimit"]
            ),
            (&json!("Allow"), &json!(false), &json!(3), &json!(1))
        );
        // The job template's own fields are the jobs' to default.
        assert!(spec["jobTemplate"]["spec"].get("backoffLimit").is_none());
        assert_eq!(
            spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
            "ClusterFirst"
        );
    }

    #[test]
    fn cron_jobs_refuse_what_upstream_refuses() {
        assert_eq!(check(&cron_job("*/5 * * * *")), "");
        assert_eq!(
            check(&cron_job("every minute")),
            "spec.schedule: Invalid value: \"every minute\": expected exactly 5 fields, found 2: [every minute]\n"
        );
        assert_eq!(check(&cron_job("")), "spec.schedule: Required value\n");
        assert!(check(&cron_job("TZ=UTC * * * * *")).contains("cannot use TZ or CRON_TZ"));
        let mut zoned = cron_job("@daily");
        zoned["spec"]["timeZone"] = json!("Europe/Berlin");
        assert_eq!(check(&zoned), "");
        zoned["spec"]["timeZone"] = json!("../etc/passwd");
        assert_eq!(
            check(&zoned),
            "spec.timeZone: Invalid value: \"../etc/passwd\": unknown time zone ../etc/passwd\n"
        );
        zoned["spec"]["timeZone"] = json!("Local");
        assert!(check(&zoned).contains("timeZone must be an explicit time zone"));
        let mut never = cron_job("@daily");
        never["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert!(check(&never).contains(
            r#"restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#
        ));
    }
}

#[cfg(test)]
mod job_tests {
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
