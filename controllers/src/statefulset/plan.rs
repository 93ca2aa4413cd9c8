//! What a StatefulSet does next, from its spec and its pods (upstream's
//! `updateStatefulSet`): failed pods are replaced, missing ordinals created, ordinals past
//! `replicas` removed from the highest down, then pods of an old revision replaced from the
//! highest ordinal down to the partition. With `OrderedReady` one step is taken at a time
//! and only once every lower pod is Running and Ready; with `Parallel` creations and
//! deletions all go at once (updates always go one at a time, as `maxUnavailable` 1).

/// A pod of the set as the plan sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFacts {
    pub ordinal: i32,
    pub revision: String,
    pub terminating: bool,
    /// Succeeded or Failed: replaced.
    pub finished: bool,
    pub running_ready: bool,
    /// Ready for `minReadySeconds`.
    pub available: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    RollingUpdate { partition: i32 },
    OnDelete,
}

/// The spec facts the plan needs.
#[derive(Clone, Debug)]
pub struct SetFacts {
    pub replicas: i32,
    /// `spec.ordinals.start`.
    pub start: i32,
    /// `podManagementPolicy: OrderedReady`.
    pub ordered: bool,
    pub strategy: Strategy,
    pub current_revision: String,
    pub update_revision: String,
}

/// Which revision a new pod gets its template from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revision {
    Current,
    Update,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Create {
        ordinal: i32,
        revision: Revision,
    },
    /// A finished pod, to be created again once gone.
    Replace {
        ordinal: i32,
    },
    /// An ordinal at or past `replicas`.
    Condemn {
        ordinal: i32,
    },
    /// A pod of an old revision, rolled.
    Update {
        ordinal: i32,
    },
}

/// The revision a pod created now at `ordinal` gets (upstream's newVersionedStatefulSetPod):
/// below the partition the current one, else the update one.
pub fn revision_for(set: &SetFacts, ordinal: i32) -> Revision {
    match set.strategy {
        Strategy::RollingUpdate { partition } if ordinal - set.start < partition => {
            Revision::Current
        }
        _ => Revision::Update,
    }
}

/// The steps to take now, in order.
pub fn plan(set: &SetFacts, pods: &[PodFacts]) -> Vec<Step> {
    let mut steps = Vec::new();
    let first = set.start;
    let end = set.start + set.replicas.max(0);
    let at = |ordinal: i32| pods.iter().find(|p| p.ordinal == ordinal);

    for ordinal in first..end {
        let Some(pod) = at(ordinal) else {
            steps.push(Step::Create {
                ordinal,
                revision: revision_for(set, ordinal),
            });
            if set.ordered {
                return steps;
            }
            continue;
        };
        if pod.finished && !pod.terminating {
            steps.push(Step::Replace { ordinal });
            if set.ordered {
                return steps;
            }
            continue;
        }
        // OrderedReady waits for each pod to run, be ready and available before the next.
        if set.ordered && (pod.terminating || !pod.running_ready || !pod.available) {
            return steps;
        }
    }

    let mut condemned: Vec<&PodFacts> = pods
        .iter()
        .filter(|p| p.ordinal < first || p.ordinal >= end)
        .collect();
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    for pod in condemned {
        if pod.terminating {
            if set.ordered {
                return steps;
            }
            continue;
        }
        steps.push(Step::Condemn {
            ordinal: pod.ordinal,
        });
        if set.ordered {
            return steps;
        }
    }
    if !steps.is_empty() && set.ordered {
        return steps;
    }

    let Strategy::RollingUpdate { partition } = set.strategy else {
        return steps;
    };
    // Updates go one at a time from the highest ordinal, each waiting for the pod before.
    for ordinal in (first + partition.max(0)..end).rev() {
        let Some(pod) = at(ordinal) else {
            return steps;
        };
        if pod.revision != set.update_revision && !pod.terminating {
            steps.push(Step::Update { ordinal });
            return steps;
        }
        if pod.terminating || !pod.running_ready || !pod.available {
            return steps;
        }
    }
    steps
}

/// The replica counts of the status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub replicas: i32,
    pub ready: i32,
    pub available: i32,
    pub current: i32,
    pub updated: i32,
}

pub fn counts(set: &SetFacts, pods: &[PodFacts]) -> Counts {
    let mut c = Counts::default();
    for pod in pods.iter().filter(|p| !p.terminating) {
        c.replicas += 1;
        if pod.running_ready {
            c.ready += 1;
        }
        if pod.running_ready && pod.available {
            c.available += 1;
        }
        if pod.revision == set.current_revision {
            c.current += 1;
        }
        if pod.revision == set.update_revision {
            c.updated += 1;
        }
    }
    c
}

/// The current revision once the update is complete (every pod updated and ready), as
/// upstream's completeRollingUpdate: `(current revision, current replicas)`.
pub fn settled(set: &SetFacts, c: &Counts) -> (String, i32) {
    if c.updated == c.replicas && c.ready == c.replicas && c.replicas == set.replicas {
        (set.update_revision.clone(), c.updated)
    } else {
        (set.current_revision.clone(), c.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: i32, ordered: bool, strategy: Strategy) -> SetFacts {
        SetFacts {
            replicas,
            start: 0,
            ordered,
            strategy,
            current_revision: "web-a".into(),
            update_revision: "web-a".into(),
        }
    }

    fn ready(ordinal: i32, revision: &str) -> PodFacts {
        PodFacts {
            ordinal,
            revision: revision.into(),
            terminating: false,
            finished: false,
            running_ready: true,
            available: true,
        }
    }

    fn starting(ordinal: i32) -> PodFacts {
        PodFacts {
            running_ready: false,
            available: false,
            ..ready(ordinal, "web-a")
        }
    }

    const ROLLING: Strategy = Strategy::RollingUpdate { partition: 0 };

    #[test]
    fn ordered_ready_creates_one_at_a_time() {
        let s = set(3, true, ROLLING);
        let create = |ordinal| Step::Create {
            ordinal,
            revision: Revision::Update,
        };
        assert_eq!(plan(&s, &[]), [create(0)]);
        assert_eq!(plan(&s, &[starting(0)]), []);
        assert_eq!(plan(&s, &[ready(0, "web-a")]), [create(1)]);
        let all = [ready(0, "web-a"), ready(1, "web-a"), ready(2, "web-a")];
        assert_eq!(plan(&s, &all), []);
        // Parallel creates every missing ordinal at once, whatever the others' state.
        let p = set(3, false, ROLLING);
        assert_eq!(plan(&p, &[starting(1)]), [create(0), create(2)]);
    }

    #[test]
    fn scale_down_goes_from_the_highest_ordinal() {
        let pods = [
            ready(0, "web-a"),
            ready(1, "web-a"),
            ready(2, "web-a"),
            ready(3, "web-a"),
        ];
        let s = set(1, true, ROLLING);
        assert_eq!(plan(&s, &pods), [Step::Condemn { ordinal: 3 }]);
        let mut leaving = pods.clone();
        leaving[3].terminating = true;
        assert_eq!(plan(&s, &leaving), []);
        let p = set(1, false, ROLLING);
        assert_eq!(
            plan(&p, &leaving),
            [Step::Condemn { ordinal: 2 }, Step::Condemn { ordinal: 1 }]
        );
    }

    #[test]
    fn failed_pods_are_replaced() {
        let mut failed = ready(0, "web-a");
        failed.finished = true;
        let s = set(2, true, ROLLING);
        assert_eq!(plan(&s, &[failed]), [Step::Replace { ordinal: 0 }]);
    }

    #[test]
    fn rolling_update_from_the_top_down_to_the_partition() {
        let mut s = set(3, true, Strategy::RollingUpdate { partition: 1 });
        s.update_revision = "web-b".into();
        let pods = [ready(0, "web-a"), ready(1, "web-a"), ready(2, "web-a")];
        assert_eq!(plan(&s, &pods), [Step::Update { ordinal: 2 }]);
        // The replaced pod comes back at the update revision, then the next one rolls.
        let mut rolled = pods.clone();
        rolled[2].revision = "web-b".into();
        rolled[2].running_ready = false;
        assert_eq!(
            plan(&s, &rolled[..2]),
            [Step::Create {
                ordinal: 2,
                revision: Revision::Update
            }]
        );
        assert_eq!(revision_for(&s, 2), Revision::Update);
        assert_eq!(revision_for(&s, 0), Revision::Current);
        assert_eq!(plan(&s, &rolled), []);
        rolled[2].running_ready = true;
        assert_eq!(plan(&s, &rolled), [Step::Update { ordinal: 1 }]);
        rolled[1].revision = "web-b".into();
        // Ordinal 0 is below the partition: it stays.
        assert_eq!(plan(&s, &rolled), []);
        let c = counts(&s, &rolled);
        assert_eq!((c.replicas, c.current, c.updated), (3, 1, 2));
        assert_eq!(settled(&s, &c), ("web-a".to_string(), 1));
        rolled[0].revision = "web-b".into();
        let c = counts(&s, &rolled);
        assert_eq!(settled(&s, &c), ("web-b".to_string(), 3));
        // OnDelete never deletes for an update.
        let mut d = set(3, true, Strategy::OnDelete);
        d.update_revision = "web-b".into();
        assert_eq!(plan(&d, &pods), []);
    }
}
