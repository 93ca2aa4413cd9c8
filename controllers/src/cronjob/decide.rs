//! What a CronJob does now (upstream's cronjob controller v2): the most recent schedule time
//! not yet run, since its last run (or its creation, or `startingDeadlineSeconds` ago if
//! later); run then unless suspended, too late for `startingDeadlineSeconds`, already run,
//! or forbidden by the `concurrencyPolicy` while a job is active; and when to look again.

use api::cron::Schedule;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Upstream's bound on the schedule times counted as missed.
const TOO_MANY_MISSED: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concurrency {
    Allow,
    Forbid,
    Replace,
}

impl Concurrency {
    pub fn of(policy: Option<&str>) -> Concurrency {
        match policy {
            Some("Forbid") => Concurrency::Forbid,
            Some("Replace") => Concurrency::Replace,
            _ => Concurrency::Allow,
        }
    }
}

pub struct Facts<'a> {
    pub schedule: &'a Schedule,
    pub tz: &'a TimeZone,
    pub created: Timestamp,
    pub last_schedule: Option<Timestamp>,
    pub starting_deadline: Option<i64>,
    pub suspend: bool,
    pub concurrency: Concurrency,
    /// Jobs of the cron job still running.
    pub active: usize,
    /// Whether a job for the due time exists already (by its name).
    pub already_made: &'a (dyn Fn(Timestamp) -> bool + Sync),
    pub now: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to run now.
    Wait,
    /// The time was missed by more than `startingDeadlineSeconds`.
    Missed { scheduled: Timestamp },
    /// Forbid, with a job still active.
    AlreadyActive { scheduled: Timestamp },
    /// Run the job of `scheduled` (deleting the active ones first with `replace`).
    Run { scheduled: Timestamp, replace: bool },
}

/// The decision, whether too many times were missed (upstream warns), and the next schedule
/// time after now (to look again then).
pub fn decide(f: &Facts) -> (Decision, bool, Option<Timestamp>) {
    let next = f.schedule.next_after(f.now, f.tz);
    let mut earliest = f.last_schedule.unwrap_or(f.created);
    if let Some(deadline) = f.starting_deadline
        && let Ok(bound) = f.now.checked_sub(jiff::SignedDuration::from_secs(deadline))
        && bound > earliest
    {
        earliest = bound;
    }
    // The most recent schedule time in (earliest, now].
    let mut due = None;
    let mut missed = 0usize;
    let mut t = f.schedule.next_after(earliest, f.tz);
    while let Some(time) = t.filter(|t| *t <= f.now) {
        due = Some(time);
        missed += 1;
        t = f.schedule.next_after(time, f.tz);
    }
    let too_many = missed > TOO_MANY_MISSED;
    let Some(scheduled) = due else {
        return (Decision::Wait, too_many, next);
    };
    if f.suspend || f.last_schedule == Some(scheduled) || (f.already_made)(scheduled) {
        return (Decision::Wait, too_many, next);
    }
    if let Some(deadline) = f.starting_deadline
        && scheduled.as_second() + deadline < f.now.as_second()
    {
        return (Decision::Missed { scheduled }, too_many, next);
    }
    let decision = match f.concurrency {
        Concurrency::Forbid if f.active > 0 => Decision::AlreadyActive { scheduled },
        Concurrency::Replace => Decision::Run {
            scheduled,
            replace: f.active > 0,
        },
        _ => Decision::Run {
            scheduled,
            replace: false,
        },
    };
    (decision, too_many, next)
}

/// The name of the job of `scheduled`: `<cronjob>-<minutes since the epoch>`.
pub fn job_name(cron_job: &str, scheduled: Timestamp) -> String {
    format!("{cron_job}-{}", scheduled.as_second().div_euclid(60))
}

/// The finished jobs to delete beyond a history limit: all but the newest `limit` (by start).
pub fn beyond_limit(mut finished: Vec<(Timestamp, String)>, limit: i32) -> Vec<String> {
    finished.sort();
    let excess = finished.len().saturating_sub(limit.max(0) as usize);
    finished.into_iter().take(excess).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts<'a>(schedule: &'a Schedule, tz: &'a TimeZone, now: &str) -> Facts<'a> {
        Facts {
            schedule,
            tz,
            created: at("2024-01-01T00:00:00Z"),
            last_schedule: None,
            starting_deadline: None,
            suspend: false,
            concurrency: Concurrency::Allow,
            active: 0,
            already_made: &|_| false,
            now: at(now),
        }
    }

    #[test]
    fn runs_the_most_recent_missed_time_once() {
        let every5 = Schedule::parse("*/5 * * * *").unwrap();
        let utc = TimeZone::UTC;
        let f = facts(&every5, &utc, "2024-01-01T00:03:00Z");
        assert_eq!(
            decide(&f),
            (Decision::Wait, false, Some(at("2024-01-01T00:05:00Z")))
        );
        let f = facts(&every5, &utc, "2024-01-01T00:12:00Z");
        let run = Decision::Run {
            scheduled: at("2024-01-01T00:10:00Z"),
            replace: false,
        };
        assert_eq!(decide(&f).0, run);
        let f = Facts {
            last_schedule: Some(at("2024-01-01T00:10:00Z")),
            ..facts(&every5, &utc, "2024-01-01T00:12:00Z")
        };
        assert_eq!(decide(&f).0, Decision::Wait);
        let f = Facts {
            already_made: &|t| t == at("2024-01-01T00:10:00Z"),
            ..facts(&every5, &utc, "2024-01-01T00:12:00Z")
        };
        assert_eq!(decide(&f).0, Decision::Wait);
        let f = Facts {
            suspend: true,
            ..facts(&every5, &utc, "2024-01-01T00:12:00Z")
        };
        assert_eq!(decide(&f).0, Decision::Wait);
        // Missing a day's worth of times is too many.
        let f = facts(&every5, &utc, "2024-01-02T00:00:00Z");
        assert!(decide(&f).1);
    }

    #[test]
    fn deadlines_and_concurrency() {
        let every5 = Schedule::parse("*/5 * * * *").unwrap();
        let utc = TimeZone::UTC;
        let late = Facts {
            starting_deadline: Some(60),
            last_schedule: Some(at("2024-01-01T00:05:00Z")),
            ..facts(&every5, &utc, "2024-01-01T00:12:00Z")
        };
        // The deadline bounds the search: 00:10 is two minutes old, beyond 60 s.
        assert_eq!(decide(&late).0, Decision::Wait);
        let on_time = Facts {
            starting_deadline: Some(180),
            ..late
        };
        assert!(matches!(decide(&on_time).0, Decision::Run { .. }));
        let busy = |c| Facts {
            concurrency: c,
            active: 1,
            ..facts(&every5, &utc, "2024-01-01T00:12:00Z")
        };
        let scheduled = at("2024-01-01T00:10:00Z");
        assert_eq!(
            decide(&busy(Concurrency::Forbid)).0,
            Decision::AlreadyActive { scheduled }
        );
        assert_eq!(
            decide(&busy(Concurrency::Replace)).0,
            Decision::Run {
                scheduled,
                replace: true
            }
        );
        assert_eq!(
            decide(&busy(Concurrency::Allow)).0,
            Decision::Run {
                scheduled,
                replace: false
            }
        );
    }

    #[test]
    fn names_and_history() {
        assert_eq!(
            job_name("hello", at("2024-01-01T00:10:00Z")),
            "hello-28401130"
        );
        let finished = vec![
            (at("2024-01-01T00:10:00Z"), "b".to_string()),
            (at("2024-01-01T00:05:00Z"), "a".to_string()),
            (at("2024-01-01T00:15:00Z"), "c".to_string()),
        ];
        assert_eq!(beyond_limit(finished.clone(), 1), ["a", "b"]);
        assert_eq!(beyond_limit(finished, 3), Vec::<String>::new());
    }
}
