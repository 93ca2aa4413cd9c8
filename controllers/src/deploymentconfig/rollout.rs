//! The deployer's strategies as steps, without I/O: given the deployments' sizes now, what
//! to scale next and what to log (upstream's Recreate and Rolling strategies and their log
//! lines). The deployer applies a step, waits, and asks again until one says done.

use super::decide::resolve;

/// One replication controller as the deployer sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rc {
    pub name: String,
    pub spec: i32,
    pub replicas: i32,
    pub available: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    Recreate,
    Rolling {
        max_surge: serde_json::Value,
        max_unavailable: serde_json::Value,
    },
}

pub struct Input<'a> {
    pub strategy: &'a Strategy,
    /// The deployment being rolled out.
    pub to: &'a Rc,
    /// The newest complete deployment before it, if any.
    pub from: Option<&'a Rc>,
    /// Every other deployment still running pods.
    pub others: &'a [Rc],
    pub desired: i32,
    /// Whether this deployment's rollout has started (its first lines are logged).
    pub started: bool,
    /// Whether a Recreate `mid` hook is still to run (between the old pods' end and the new
    /// pods' start).
    pub mid: bool,
}

#[derive(Debug, Default, PartialEq)]
pub struct Step {
    /// Replication controllers to resize.
    pub scale: Vec<(String, i32)>,
    pub log: Vec<String>,
    pub done: bool,
    /// The `mid` hook is due: nothing more until it has run.
    pub mid: bool,
}

impl Step {
    fn resize(&mut self, rc: &Rc, to: i32, line: String) {
        if rc.spec != to {
            self.scale.push((rc.name.clone(), to));
            self.log.push(line);
        }
    }
}

/// The next step of a rollout.
pub fn step(input: &Input<'_>) -> Step {
    let mut step = Step::default();
    // Deployments older than `from` go first (upstream's deployer does so before any strategy).
    for rc in input.others.iter().filter(|rc| rc.spec > 0) {
        step.resize(
            rc,
            0,
            format!("--> Scaled older deployment {} down", rc.name),
        );
    }
    match (input.strategy, input.from) {
        (
            Strategy::Rolling {
                max_surge,
                max_unavailable,
            },
            Some(from),
        ) => rolling(&mut step, input, from, max_surge, max_unavailable),
        _ => recreate(&mut step, input),
    }
    step
}

fn recreate(step: &mut Step, input: &Input<'_>) {
    let to = input.to;
    if let Some(from) = input.from.filter(|f| f.spec > 0) {
        step.resize(from, 0, format!("--> Scaling {} down to zero", from.name));
        return;
    }
    // New pods only once the old are gone.
    let old_running =
        input.from.map_or(0, |f| f.replicas) + input.others.iter().map(|r| r.replicas).sum::<i32>();
    if old_running > 0 || !step.scale.is_empty() {
        return;
    }
    if input.mid && to.spec == 0 {
        step.mid = true;
        return;
    }
    let desired = input.desired;
    if input.from.is_some() && to.spec == 0 && desired > 1 {
        step.resize(
            to,
            1,
            format!(
                "--> Scaling {} to 1 before performing acceptance check",
                to.name
            ),
        );
        return;
    }
    if to.spec < desired && (to.spec == 0 || to.available >= to.spec) {
        step.resize(to, desired, format!("--> Scaling {} to {desired}", to.name));
        return;
    }
    if to.spec == desired && to.available >= desired {
        step.done = true;
    }
}

fn rolling(
    step: &mut Step,
    input: &Input<'_>,
    from: &Rc,
    max_surge: &serde_json::Value,
    max_unavailable: &serde_json::Value,
) {
    let (to, desired) = (input.to, input.desired);
    let surge = resolve(max_surge, desired, true);
    let mut unavailable = resolve(max_unavailable, desired, false);
    if desired == 0 {
        unavailable = from.spec;
    }
    let min_available = (desired - unavailable).max(0);
    if !input.started {
        step.log.push(format!(
            "--> Scaling up {} from {} to {desired}, scaling down {} from {} to 0 (keep {min_available} pods available, don't exceed {} pods)",
            to.name,
            to.spec,
            from.name,
            from.spec,
            desired + surge
        ));
    }
    let (old, new) = (from.spec, to.spec);
    if new == desired && old == 0 {
        step.done = to.available >= desired && from.replicas == 0;
        return;
    }
    // Up as far as the surge allows.
    let up = if old == 0 {
        desired
    } else {
        (new + (desired + surge - old - new).max(0)).min(desired)
    };
    if up > new {
        step.resize(to, up, format!("    Scaling {} up to {up}", to.name));
    }
    // Down as far as the available pods allow.
    let new_available = to.available.min(new);
    let down = if new_available >= desired {
        0
    } else {
        let decrease = (old + new_available - min_available).max(0);
        (old - decrease).max(0)
    };
    if down < old {
        step.resize(
            from,
            down,
            format!("    Scaling {} down to {down}", from.name),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rc(name: &str, spec: i32, available: i32) -> Rc {
        Rc {
            name: name.into(),
            spec,
            replicas: spec,
            available,
        }
    }

    fn rolling() -> Strategy {
        Strategy::Rolling {
            max_surge: json!("25%"),
            max_unavailable: json!("25%"),
        }
    }

    #[test]
    fn a_first_deployment_scales_straight_up() {
        let to = rc("web-1", 0, 0);
        let input = Input {
            strategy: &rolling(),
            to: &to,
            from: None,
            others: &[],
            desired: 2,
            started: false,
            mid: false,
        };
        let s = step(&input);
        assert_eq!(s.scale, vec![("web-1".to_string(), 2)]);
        assert_eq!(s.log, vec!["--> Scaling web-1 to 2"]);
        let up = rc("web-1", 2, 2);
        assert!(
            step(&Input {
                to: &up,
                started: true,
                ..input
            })
            .done
        );
    }

    #[test]
    fn rolling_keeps_pods_available() {
        let strategy = rolling();
        let (from, to) = (rc("web-1", 2, 2), rc("web-2", 0, 0));
        let input = Input {
            strategy: &strategy,
            to: &to,
            from: Some(&from),
            others: &[],
            desired: 2,
            started: false,
            mid: false,
        };
        let s = step(&input);
        assert_eq!(
            s.log,
            vec![
                "--> Scaling up web-2 from 0 to 2, scaling down web-1 from 2 to 0 (keep 2 pods available, don't exceed 3 pods)",
                "    Scaling web-2 up to 1",
            ]
        );
        // Once the new pod is available an old one goes.
        let (from, to) = (rc("web-1", 2, 2), rc("web-2", 1, 1));
        let s = step(&Input {
            to: &to,
            from: Some(&from),
            started: true,
            ..input
        });
        assert_eq!(s.log, vec!["    Scaling web-1 down to 1"]);
        let (from, to) = (rc("web-1", 1, 1), rc("web-2", 1, 1));
        let s = step(&Input {
            to: &to,
            from: Some(&from),
            started: true,
            ..input
        });
        assert_eq!(s.log, vec!["    Scaling web-2 up to 2"]);
        let (from, to) = (rc("web-1", 1, 1), rc("web-2", 2, 2));
        let s = step(&Input {
            to: &to,
            from: Some(&from),
            started: true,
            ..input
        });
        assert_eq!(s.log, vec!["    Scaling web-1 down to 0"]);
        let (from, to) = (rc("web-1", 0, 0), rc("web-2", 2, 2));
        assert!(
            step(&Input {
                to: &to,
                from: Some(&from),
                started: true,
                ..input
            })
            .done
        );
    }

    #[test]
    fn recreate_stops_the_old_pods_first() {
        let (from, to) = (rc("web-1", 2, 2), rc("web-2", 0, 0));
        let input = Input {
            strategy: &Strategy::Recreate,
            to: &to,
            from: Some(&from),
            others: &[],
            desired: 2,
            started: false,
            mid: false,
        };
        assert_eq!(step(&input).log, vec!["--> Scaling web-1 down to zero"]);
        let gone = rc("web-1", 0, 0);
        let s = step(&Input {
            from: Some(&gone),
            ..input
        });
        assert_eq!(
            s.log,
            vec!["--> Scaling web-2 to 1 before performing acceptance check"]
        );
        let one = rc("web-2", 1, 1);
        let s = step(&Input {
            from: Some(&gone),
            to: &one,
            ..input
        });
        assert_eq!(s.log, vec!["--> Scaling web-2 to 2"]);
    }

    #[test]
    fn recreate_runs_its_mid_hook_between_the_old_and_the_new() {
        let (from, to) = (rc("web-1", 2, 2), rc("web-2", 0, 0));
        let input = Input {
            strategy: &Strategy::Recreate,
            to: &to,
            from: Some(&from),
            others: &[],
            desired: 2,
            started: false,
            mid: true,
        };
        let s = step(&input);
        assert_eq!((s.log.len(), s.mid), (1, false));
        let gone = rc("web-1", 0, 0);
        let s = step(&Input {
            from: Some(&gone),
            ..input
        });
        assert_eq!(
            s,
            Step {
                mid: true,
                ..Step::default()
            }
        );
        let s = step(&Input {
            from: Some(&gone),
            mid: false,
            ..input
        });
        assert!(!s.mid && !s.scale.is_empty());
    }
}
