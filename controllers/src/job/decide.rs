//! What a Job needs next, from its spec and its pods: pods to create or delete, or its end
//! (upstream's job controller for NonIndexed jobs: `parallelism`, `completions`,
//! `backoffLimit`, `activeDeadlineSeconds`).

use k8s_openapi::api::batch::v1::JobSpec;

/// The pods of a job, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pods {
    pub active: i32,
    pub ready: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub terminating: i32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep `want` pods active.
    Run {
        want: i32,
    },
    Complete,
    Failed {
        reason: &'static str,
        message: &'static str,
    },
}

pub const COMPLETE_REASON: &str = "CompletionsReached";
pub const COMPLETE_MESSAGE: &str = "Reached expected number of succeeded pods";

pub fn next(spec: &JobSpec, pods: Pods, active_for: Option<i64>) -> Next {
    let backoff = spec.backoff_limit.unwrap_or(6);
    if pods.failed > backoff {
        return Next::Failed {
            reason: "BackoffLimitExceeded",
            message: "Job has reached the specified backoff limit",
        };
    }
    if let (Some(deadline), Some(active)) = (spec.active_deadline_seconds, active_for)
        && active >= deadline
    {
        return Next::Failed {
            reason: "DeadlineExceeded",
            message: "Job was active longer than specified deadline",
        };
    }
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    if spec.suspend == Some(true) {
        return Next::Run { want: 0 };
    }
    match spec.completions {
        Some(c) if pods.succeeded >= c => Next::Complete,
        Some(c) => Next::Run {
            want: parallelism.min(c - pods.succeeded),
        },
        // Without completions: done once one pod succeeded and none runs.
        None if pods.succeeded > 0 && pods.active == 0 => Next::Complete,
        // The pods still running finish; none is added.
        None if pods.succeeded > 0 => Next::Run { want: pods.active },
        None => Next::Run { want: parallelism },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(completions: Option<i32>, parallelism: i32, backoff: i32) -> JobSpec {
        JobSpec {
            completions,
            parallelism: Some(parallelism),
            backoff_limit: Some(backoff),
            ..Default::default()
        }
    }

    #[test]
    fn runs_until_completions_or_failures() {
        let s = spec(Some(5), 2, 1);
        assert_eq!(next(&s, Pods::default(), None), Next::Run { want: 2 });
        let p = Pods {
            succeeded: 4,
            ..Default::default()
        };
        assert_eq!(next(&s, p, None), Next::Run { want: 1 });
        let p = Pods {
            succeeded: 5,
            ..Default::default()
        };
        assert_eq!(next(&s, p, None), Next::Complete);
        let p = Pods {
            failed: 2,
            ..Default::default()
        };
        assert!(matches!(
            next(&s, p, None),
            Next::Failed {
                reason: "BackoffLimitExceeded",
                ..
            }
        ));
        let mut d = spec(Some(1), 1, 6);
        d.active_deadline_seconds = Some(10);
        assert!(matches!(
            next(&d, Pods::default(), Some(11)),
            Next::Failed {
                reason: "DeadlineExceeded",
                ..
            }
        ));
        let work_queue = spec(None, 3, 6);
        let p = Pods {
            succeeded: 1,
            active: 2,
            ..Default::default()
        };
        assert_eq!(next(&work_queue, p, None), Next::Run { want: 2 });
        let p = Pods {
            succeeded: 1,
            ..Default::default()
        };
        assert_eq!(next(&work_queue, p, None), Next::Complete);
    }
}
