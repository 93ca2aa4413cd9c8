//! What to do with a dependent, decided on the object as it is now (re-read before acting),
//! never on the graph's view alone: an object adopted or changed since the graph saw it is
//! judged by its current owner references, and every write is guarded by the uid and
//! resourceVersion it was decided on.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::lenient::Metadata;

/// The metadata fields the collector decides on: an object missing one of them is never
/// collected or worked on, only known to exist.
pub const NEEDED: [&str; 5] = [
    "name",
    "uid",
    "ownerReferences",
    "finalizers",
    "deletionTimestamp",
];

/// What is known of one owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Present,
    /// Not where the reference resolves (or another object of that name).
    Absent,
    /// Being deleted in the foreground: waits for its dependents to go.
    Waiting,
    /// Its kind is unknown, or it cannot be where the reference says: nothing is decided.
    Unresolvable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Keep,
    /// Delete the object if it is still the one decided on.
    Delete {
        uid: String,
        resource_version: Option<String>,
        /// Blocks an owner's foreground deletion: deleted in the foreground too.
        foreground: bool,
    },
    /// Remove the references to these owners (others remain), if the object is unchanged.
    DropOwners {
        owners: HashSet<String>,
        resource_version: Option<String>,
    },
}

/// The live owner references that have no verdict yet (to look up).
pub fn to_look_up<'a>(
    live: &'a Metadata,
    verdicts: &HashMap<String, Verdict>,
) -> Vec<&'a OwnerReference> {
    live.meta
        .owner_references
        .iter()
        .flatten()
        .filter(|o| !verdicts.contains_key(&o.uid))
        .collect()
}

/// The decision for the dependent `uid` as `live` shows it now (None: gone), given a verdict
/// for each of its owners (one missing counts as unresolvable).
pub fn decide(uid: &str, live: Option<&Metadata>, verdicts: &HashMap<String, Verdict>) -> Decision {
    let Some(live) = live else {
        return Decision::Keep;
    };
    if live.lacks(&NEEDED)
        || live.meta.uid.as_deref() != Some(uid)
        || live.meta.deletion_timestamp.is_some()
    {
        return Decision::Keep;
    }
    let owners = live.meta.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() {
        return Decision::Keep;
    }
    let verdict = |o: &OwnerReference| {
        verdicts
            .get(&o.uid)
            .copied()
            .unwrap_or(Verdict::Unresolvable)
    };
    if owners.iter().any(|o| verdict(o) == Verdict::Unresolvable) {
        return Decision::Keep;
    }
    let resource_version = live.meta.resource_version.clone();
    if owners.iter().any(|o| verdict(o) == Verdict::Present) {
        let gone: HashSet<String> = owners
            .iter()
            .filter(|o| verdict(o) != Verdict::Present)
            .map(|o| o.uid.clone())
            .collect();
        return match gone.is_empty() {
            true => Decision::Keep,
            false => Decision::DropOwners {
                owners: gone,
                resource_version,
            },
        };
    }
    Decision::Delete {
        uid: uid.to_string(),
        resource_version,
        foreground: owners
            .iter()
            .any(|o| verdict(o) == Verdict::Waiting && o.block_owner_deletion == Some(true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(rv: &str, owners: &[(&str, bool)]) -> Metadata {
        let owners: Vec<_> = owners
            .iter()
            .map(|(uid, block)| {
                json!({"apiVersion": "v1", "kind": "ConfigMap", "name": uid, "uid": uid,
                    "blockOwnerDeletion": block})
            })
            .collect();
        serde_json::from_value(json!({"name": "d", "namespace": "ns", "uid": "d",
            "resourceVersion": rv, "ownerReferences": owners}))
        .unwrap()
    }

    fn verdicts(v: &[(&str, Verdict)]) -> HashMap<String, Verdict> {
        v.iter().map(|(u, v)| (u.to_string(), *v)).collect()
    }

    #[test]
    fn all_owners_gone_deletes_guarded_by_uid_and_resource_version() {
        let d = live("7", &[("a", false), ("b", false)]);
        let v = verdicts(&[("a", Verdict::Absent), ("b", Verdict::Absent)]);
        assert_eq!(
            decide("d", Some(&d), &v),
            Decision::Delete {
                uid: "d".into(),
                resource_version: Some("7".into()),
                foreground: false
            }
        );
    }

    /// Adopted since the graph saw it: the new owner exists, so the old reference is dropped
    /// and nothing is deleted.
    #[test]
    fn an_adopted_object_is_not_deleted() {
        let before = live("7", &[("old", false)]);
        let after = live("8", &[("old", false), ("new", false)]);
        let mut v = verdicts(&[("old", Verdict::Absent)]);
        assert!(matches!(
            decide("d", Some(&before), &v),
            Decision::Delete { .. }
        ));
        // The new owner has no verdict yet: it is looked up first.
        assert_eq!(
            to_look_up(&after, &v)
                .iter()
                .map(|o| o.uid.as_str())
                .collect::<Vec<_>>(),
            ["new"]
        );
        // Undecided, it keeps the object.
        assert_eq!(decide("d", Some(&after), &v), Decision::Keep);
        v.insert("new".into(), Verdict::Present);
        assert_eq!(
            decide("d", Some(&after), &v),
            Decision::DropOwners {
                owners: ["old".to_string()].into(),
                resource_version: Some("8".into())
            }
        );
    }

    #[test]
    fn an_object_gone_replaced_or_deleting_is_left_alone() {
        let v = verdicts(&[("a", Verdict::Absent)]);
        assert_eq!(decide("d", None, &v), Decision::Keep);
        let d = live("7", &[("a", false)]);
        assert_eq!(decide("other-uid", Some(&d), &v), Decision::Keep);
        let mut deleting = d.clone();
        deleting.meta.deletion_timestamp =
            serde_json::from_value(json!("2024-01-01T00:00:00Z")).ok();
        assert_eq!(decide("d", Some(&deleting), &v), Decision::Keep);
        let mut unreadable = d;
        unreadable.broken.push("finalizers");
        assert_eq!(decide("d", Some(&unreadable), &v), Decision::Keep);
    }

    #[test]
    fn an_unresolvable_owner_keeps_the_object() {
        let d = live("7", &[("a", false), ("b", false)]);
        let v = verdicts(&[("a", Verdict::Absent), ("b", Verdict::Unresolvable)]);
        assert_eq!(decide("d", Some(&d), &v), Decision::Keep);
    }

    #[test]
    fn foreground_owners() {
        let d = live("7", &[("f", true)]);
        let v = verdicts(&[("f", Verdict::Waiting)]);
        assert!(matches!(
            decide("d", Some(&d), &v),
            Decision::Delete {
                foreground: true,
                ..
            }
        ));
        // Another owner holds it: only the waiting owner's reference goes.
        let d = live("7", &[("f", true), ("p", false)]);
        let v = verdicts(&[("f", Verdict::Waiting), ("p", Verdict::Present)]);
        assert_eq!(
            decide("d", Some(&d), &v),
            Decision::DropOwners {
                owners: ["f".to_string()].into(),
                resource_version: Some("7".into())
            }
        );
    }
}
