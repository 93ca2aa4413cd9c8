//! CronJobs as a project admin drives them, on a simulated node: at the next minute a Job
//! named `<cronjob>-<minutes since the epoch>` is made from the template and listed as
//! active; once it ends it leaves the active list, and it is kept within the history limit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use e2e::wait_until;
use e2e::{Backend, Cluster};

/// A minute for the schedule to come round, and room for a loaded machine.
const WAIT: Duration = Duration::from_secs(150);

#[test]
fn a_cron_job_makes_its_job_at_the_scheduled_minute() {
    let c = Cluster::start_with(
        Backend::Embedded,
        &[
            "--node-runtime",
            "simulated",
            "--node-name",
            "aio",
            "--node-port",
            "0",
            "--node-pod-cidr",
            "10.128.226.0/23",
        ],
    );
    c.kubectl_ok(&["create", "namespace", "ticks"]);
    let alice = c.user_with_role("alice", &[], "admin", "ticks");
    let alice = alice.to_str().unwrap().to_string();
    let as_alice = |args: &[&str]| c.kubectl_ok_in(alice.as_str(), "ticks", args);
    let get = |what: &str, path: &str| as_alice(&["get", what, "-o", &format!("jsonpath={path}")]);

    // Simulated containers run until stopped: the job's deadline ends it.
    let cron_job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "* * * * *",
            "timeZone": "Europe/Paris",
            "concurrencyPolicy": "Forbid",
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"app": "tick"}},
                "spec": {
                    "activeDeadlineSeconds": 4,
                    "backoffLimit": 0,
                    "template": {"spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": "main", "image": "registry.invalid/tick:1"}],
                    }},
                },
            },
        },
    });
    as_alice(&["create", "-f", &c.file("tick.json", &cron_job.to_string())]);
    let (job, scheduled) = wait_until("the first job, recorded in the status", WAIT, || {
        let names = get("jobs", "{.items[*].metadata.name}");
        let scheduled = get("cronjob/tick", "{.status.lastScheduleTime}");
        (!names.is_empty() && !scheduled.is_empty()).then_some((names, scheduled))
    });
    let at: jiff::Timestamp = scheduled.parse().unwrap();
    assert_eq!(at.as_second() % 60, 0, "{scheduled}");
    assert_eq!(job, format!("tick-{}", at.as_second() / 60));
    let active = get("cronjob/tick", "{.status.active[*].name}");
    assert_eq!(active, job);
    assert_eq!(
        get(
            &format!("job/{job}"),
            "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.labels.app}"
        ),
        "CronJob/tick tick"
    );
    let stamp = get(
        &format!("job/{job}"),
        "{.metadata.annotations.batch\\.kubernetes\\.io/cronjob-scheduled-timestamp}",
    );
    let paris = at.to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
    assert_eq!(stamp, paris.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string());

    // The job's deadline fails it: it leaves the active list, seen by the controller.
    wait_until("the job out of the active list", WAIT, || {
        (get("cronjob/tick", "{.status.active}").is_empty()).then_some(())
    });
    let events = as_alice(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=tick",
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ]);
    assert!(
        events.contains(&format!("SuccessfulCreate: Created job {job}")),
        "{events}"
    );
    assert!(
        events.contains(&format!(
            "SawCompletedJob: Saw completed job: {job}, condition: Failed"
        )),
        "{events}"
    );
    let table = as_alice(&["get", "cronjob", "tick"]);
    assert!(table.contains("* * * * *"), "{table}");
}
