//! The build's `status.stages`: each step records what it timed (a stage and a step of it,
//! their start and duration, as upstream's builder names them), and reports them merged
//! into the stages the build already has, so the steps of the build pod's containers add up
//! to one account (FetchInputs, PullImages, Build, PushImage).

use std::sync::Mutex;

use jiff::Timestamp;
use serde_json::{Value, json};

pub const FETCH_INPUTS: &str = "FetchInputs";
pub const PULL_IMAGES: &str = "PullImages";
pub const BUILD: &str = "Build";
pub const PUSH_IMAGE: &str = "PushImage";

pub const FETCH_GIT_SOURCE: &str = "FetchGitSource";
pub const PULL_BASE_IMAGE: &str = "PullBaseImage";
pub const PULL_INPUT_IMAGE: &str = "PullInputImage";
pub const DOCKER_BUILD: &str = "DockerBuild";
/// The Source strategy's push step; the Docker strategy's is `PushDockerImage`.
pub const PUSH_IMAGE_STEP: &str = "PushImage";
pub const PUSH_DOCKER_IMAGE: &str = "PushDockerImage";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInfo {
    pub name: String,
    pub start: Timestamp,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInfo {
    pub name: String,
    pub start: Timestamp,
    pub duration_ms: i64,
    pub steps: Vec<StepInfo>,
}

fn millis(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_millisecond() - from.as_millisecond()).max(0)
}

/// Adds a step to its stage (made if new); a stage's duration runs from its start to the
/// end of its last step, as upstream's builder counts it.
pub fn record(
    stages: &mut Vec<StageInfo>,
    stage: &str,
    step: &str,
    start: Timestamp,
    end: Timestamp,
) {
    let info = StepInfo {
        name: step.to_string(),
        start,
        duration_ms: millis(start, end),
    };
    match stages.iter_mut().find(|s| s.name == stage) {
        Some(found) => {
            found.duration_ms = millis(found.start, end);
            found.steps.push(info);
        }
        None => stages.push(StageInfo {
            name: stage.to_string(),
            start,
            duration_ms: info.duration_ms,
            steps: vec![info],
        }),
    }
}

/// `more`'s steps recorded into `stages`, in order.
pub fn merge(stages: &mut Vec<StageInfo>, more: &[StageInfo]) {
    for stage in more {
        for step in &stage.steps {
            let end = Timestamp::from_millisecond(step.start.as_millisecond() + step.duration_ms)
                .unwrap_or(step.start);
            record(stages, &stage.name, &step.name, step.start, end);
        }
    }
}

/// A time as metav1.Time writes it: RFC 3339 in UTC, to the second.
fn time_json(t: Timestamp) -> Value {
    let secs = Timestamp::from_second(t.as_second()).unwrap_or(t);
    json!(secs.to_string())
}

pub fn to_json(stages: &[StageInfo]) -> Value {
    Value::Array(
        stages
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "startTime": time_json(s.start),
                    "durationMilliseconds": s.duration_ms,
                    "steps": s.steps.iter().map(|p| json!({
                        "name": p.name,
                        "startTime": time_json(p.start),
                        "durationMilliseconds": p.duration_ms,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// Stages as a Build's status holds them (what cannot be read is left out). Times are
/// second-precise there; durations keep the rest.
pub fn from_json(value: &Value) -> Vec<StageInfo> {
    let time = |v: &Value| v.as_str().and_then(|t| t.parse::<Timestamp>().ok());
    let duration = |v: &Value| v.as_i64().unwrap_or(0);
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some(StageInfo {
                name: s["name"].as_str()?.to_string(),
                start: time(&s["startTime"])?,
                duration_ms: duration(&s["durationMilliseconds"]),
                steps: s["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        Some(StepInfo {
                            name: p["name"].as_str()?.to_string(),
                            start: time(&p["startTime"])?,
                            duration_ms: duration(&p["durationMilliseconds"]),
                        })
                    })
                    .collect(),
            })
        })
        .collect()
}

/// What one step of the build pod timed.
#[derive(Default)]
pub struct Timing {
    stages: Mutex<Vec<StageInfo>>,
}

impl Timing {
    /// Records `step` of `stage`, which started at `start` and ends now.
    pub fn step(&self, stage: &str, step: &str, start: Timestamp) {
        let mut stages = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        record(&mut stages, stage, step, start, Timestamp::now());
    }

    pub fn recorded(&self) -> Vec<StageInfo> {
        self.stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn steps_add_up_to_their_stages() {
        let mut stages = Vec::new();
        record(
            &mut stages,
            PULL_IMAGES,
            PULL_BASE_IMAGE,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:00:01.5Z"),
        );
        record(
            &mut stages,
            PULL_IMAGES,
            PULL_INPUT_IMAGE,
            at("2026-01-01T00:00:02Z"),
            at("2026-01-01T00:00:03Z"),
        );
        record(
            &mut stages,
            BUILD,
            DOCKER_BUILD,
            at("2026-01-01T00:00:03Z"),
            at("2026-01-01T00:00:10Z"),
        );
        assert_eq!(stages.len(), 2);
        assert_eq!(stages[0].duration_ms, 3000);
        assert_eq!(stages[0].steps[0].duration_ms, 1500);
        assert_eq!(stages[0].steps[1].name, PULL_INPUT_IMAGE);
        let v = to_json(&stages);
        assert_eq!(v[0]["name"], "PullImages");
        assert_eq!(v[0]["startTime"], "2026-01-01T00:00:00Z");
        assert_eq!(v[0]["steps"][0]["durationMilliseconds"], 1500);
        assert_eq!(v[1]["steps"][0]["name"], "DockerBuild");
        assert_eq!(from_json(&v), stages);
    }

    #[test]
    fn a_later_containers_stages_join_the_builds() {
        let mut have = Vec::new();
        record(
            &mut have,
            FETCH_INPUTS,
            FETCH_GIT_SOURCE,
            at("2026-01-01T00:00:00Z"),
            at("2026-01-01T00:00:01Z"),
        );
        let mut mine = Vec::new();
        record(
            &mut mine,
            BUILD,
            DOCKER_BUILD,
            at("2026-01-01T00:00:02Z"),
            at("2026-01-01T00:00:05Z"),
        );
        merge(&mut have, &mine);
        let names: Vec<&str> = have.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, [FETCH_INPUTS, BUILD]);
        assert_eq!(have[1].duration_ms, 3000);
        assert!(from_json(&json!([{"name": 1}, "x"])).is_empty());
    }
}
