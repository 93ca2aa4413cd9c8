//! Which volume a claim binds to, as upstream's `findMatchingVolume`: the volume pre-bound to
//! the claim if there is one, else among free volumes of the claim's class, access modes
//! (a superset), volume mode, selector and size, the one with the fewest access modes and
//! then the smallest; only Available volumes are offered. Pure: the caller passes the
//! volumes it knows (`find`), or walks its own index in rank order (`Wanted::judge`).

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};

use crate::resources::milli;
use crate::selector::{self, Labels};

/// A claim's requested size in milli-bytes.
pub fn requested(claim: &PersistentVolumeClaim) -> Option<i64> {
    let q = claim
        .spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")?;
    milli(&q.0)
}

/// A volume's capacity in milli-bytes.
pub fn capacity(volume: &PersistentVolume) -> Option<i64> {
    let q = volume.spec.as_ref()?.capacity.as_ref()?.get("storage")?;
    milli(&q.0)
}

/// The claim's class: the field, else the beta annotation, else "".
pub fn claim_class(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .or_else(|| {
            claim
                .metadata
                .annotations
                .as_ref()?
                .get("volume.beta.kubernetes.io/storage-class")
                .map(String::as_str)
        })
        .unwrap_or_default()
}

/// The volume's class: the field, else the beta annotation, else "".
pub fn volume_class(volume: &PersistentVolume) -> &str {
    volume
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .or_else(|| {
            volume
                .metadata
                .annotations
                .as_ref()?
                .get("volume.beta.kubernetes.io/storage-class")
                .map(String::as_str)
        })
        .unwrap_or_default()
}

fn modes_of(modes: Option<&Vec<String>>) -> Vec<&str> {
    modes
        .map(|m| m.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn volume_mode(mode: Option<&String>) -> &str {
    mode.map(String::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("Filesystem")
}

/// Whether the volume's `claimRef` names this claim (and, once it carries one, its uid).
pub fn is_bound_to(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name == claim.metadata.name
        && r.namespace == claim.metadata.namespace
        && r.uid
            .as_deref()
            .is_none_or(|u| u.is_empty() || Some(u) == claim.metadata.uid.as_deref())
}

/// Why a volume cannot satisfy a claim (upstream's `checkVolumeSatisfyClaim` words), if it
/// cannot.
pub fn mismatch(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> Option<String> {
    let (Some(want), Some(have)) = (requested(claim), capacity(volume)) else {
        return Some("requested PV is too small".into());
    };
    if have < want {
        return Some("requested PV is too small".into());
    }
    if volume_class(volume) != claim_class(claim) {
        return Some("storageClassName does not match".into());
    }
    let (pv_spec, claim_spec) = (volume.spec.as_ref(), claim.spec.as_ref());
    let pv_mode = volume_mode(pv_spec.and_then(|s| s.volume_mode.as_ref()));
    let claim_mode = volume_mode(claim_spec.and_then(|s| s.volume_mode.as_ref()));
    if pv_mode != claim_mode {
        return Some("incompatible volumeMode".into());
    }
    let have_modes = modes_of(pv_spec.and_then(|s| s.access_modes.as_ref()));
    let want_modes = modes_of(claim_spec.and_then(|s| s.access_modes.as_ref()));
    if !want_modes.iter().all(|m| have_modes.contains(m)) {
        return Some("incompatible accessMode".into());
    }
    None
}

/// Whether the volume may be used on `node` (its name and labels), by its node affinity.
pub fn fits_node(volume: &PersistentVolume, node: &str, labels: &Labels) -> bool {
    let Some(required) = volume
        .spec
        .as_ref()
        .and_then(|s| s.node_affinity.as_ref())
        .and_then(|a| a.required.as_ref())
    else {
        return true;
    };
    required
        .node_selector_terms
        .iter()
        .any(|t| selector::node_term_matches(t, node, labels))
}

/// The node a claim waits for (WaitForFirstConsumer: the scheduler's choice).
pub struct Node<'a> {
    pub name: &'a str,
    pub labels: &'a Labels,
}

/// Where a volume comes in a claim's preference: fewer access modes first, then smaller.
pub type Rank = (usize, i64);

/// A volume's rank, if it has a capacity.
pub fn rank(volume: &PersistentVolume) -> Option<Rank> {
    let modes = volume
        .spec
        .as_ref()?
        .access_modes
        .as_ref()
        .map_or(0, Vec::len);
    Some((modes, capacity(volume)?))
}

/// Whether nobody holds the volume and it may be offered to a claim: no claimRef, not being
/// deleted, Available (upstream skips other phases: a volume about to become Available would
/// only meet a conflict).
pub fn is_free(volume: &PersistentVolume) -> bool {
    volume.spec.as_ref().is_some_and(|s| s.claim_ref.is_none())
        && volume.metadata.deletion_timestamp.is_none()
        && volume.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available")
}

/// What a claim asks of a volume.
pub struct Wanted<'c> {
    claim: &'c PersistentVolumeClaim,
    pub size: i64,
    pub modes: Vec<&'c str>,
    volume_mode: &'c str,
    pub class: &'c str,
    delayed: bool,
    node: Option<&'c Node<'c>>,
}

/// One volume judged for a claim.
#[derive(Debug, PartialEq, Eq)]
pub enum Judgement {
    /// Bound (pre-bound) to this claim and usable: the claim's volume, whatever the others.
    Mine,
    /// Bound to this claim but not usable on the chosen node: nothing else may be chosen.
    NotHere,
    /// Free and satisfying the claim, at this rank.
    Candidate(Rank),
    /// Not for this claim.
    No,
}

impl<'c> Wanted<'c> {
    /// The claim's wishes; `None` when it asks for no size. `delayed`: its class waits for
    /// its first consumer, so free volumes count only once `node` is chosen.
    pub fn of(
        claim: &'c PersistentVolumeClaim,
        delayed: bool,
        node: Option<&'c Node<'c>>,
    ) -> Option<Self> {
        let spec = claim.spec.as_ref()?;
        Some(Wanted {
            claim,
            size: requested(claim)?,
            modes: modes_of(spec.access_modes.as_ref()),
            volume_mode: volume_mode(spec.volume_mode.as_ref()),
            class: claim_class(claim),
            delayed,
            node,
        })
    }

    /// Whether free volumes may be offered at all (not before a delayed claim's node).
    pub fn takes_free(&self) -> bool {
        !self.delayed || self.node.is_some()
    }

    /// The volume judged as upstream's `findMatchingVolume` does.
    pub fn judge(&self, volume: &PersistentVolume) -> Judgement {
        let (Some(pv), Some(size)) = (volume.spec.as_ref(), capacity(volume)) else {
            return Judgement::No;
        };
        if size < self.size
            || volume_mode(pv.volume_mode.as_ref()) != self.volume_mode
            || volume.metadata.deletion_timestamp.is_some()
        {
            return Judgement::No;
        }
        let fits = self
            .node
            .is_none_or(|n| fits_node(volume, n.name, n.labels));
        if is_bound_to(volume, self.claim) {
            return match fits {
                true => Judgement::Mine,
                false => Judgement::NotHere,
            };
        }
        if !self.takes_free() || !fits || !is_free(volume) || volume_class(volume) != self.class {
            return Judgement::No;
        }
        if let Some(sel) = self.claim.spec.as_ref().and_then(|s| s.selector.as_ref()) {
            let labels = volume.metadata.labels.clone().unwrap_or_default();
            if !selector::matches(sel, &labels) {
                return Judgement::No;
            }
        }
        let have_modes = modes_of(pv.access_modes.as_ref());
        if !self.modes.iter().all(|m| have_modes.contains(m)) {
            return Judgement::No;
        }
        Judgement::Candidate((have_modes.len(), size))
    }
}

/// The volume the claim should bind to among `volumes`: the one bound to it, else the free
/// one of the lowest rank. `delayed`: the claim's class waits for its first consumer, so
/// free volumes are considered only once `node` is chosen.
pub fn find<'v>(
    claim: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'v PersistentVolume>,
    delayed: bool,
    node: Option<&Node<'_>>,
) -> Option<&'v PersistentVolume> {
    let want = Wanted::of(claim, delayed, node)?;
    let mut best: Option<(Rank, &PersistentVolume)> = None;
    for volume in volumes {
        match want.judge(volume) {
            Judgement::Mine => return Some(volume),
            Judgement::NotHere => return None,
            Judgement::Candidate(rank) if best.is_none_or(|(r, _)| rank < r) => {
                best = Some((rank, volume));
            }
            Judgement::Candidate(_) | Judgement::No => {}
        }
    }
    best.map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pv(name: &str, size: &str, modes: &[&str], class: &str) -> PersistentVolume {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {
            "capacity": {"storage": size}, "accessModes": modes, "storageClassName": class,
            "hostPath": {"path": "/x"}}, "status": {"phase": "Available"}}))
        .unwrap()
    }

    fn pvc(size: &str, modes: &[&str], class: &str) -> PersistentVolumeClaim {
        serde_json::from_value(
            json!({"metadata": {"name": "c", "namespace": "ns", "uid": "u1"},
            "spec": {"accessModes": modes, "storageClassName": class,
            "resources": {"requests": {"storage": size}}}}),
        )
        .unwrap()
    }

    fn name(v: Option<&PersistentVolume>) -> Option<&str> {
        v.and_then(|v| v.metadata.name.as_deref())
    }

    #[test]
    fn the_smallest_volume_with_the_fewest_modes_wins() {
        let volumes = [
            pv("big", "10Gi", &["ReadWriteOnce"], "manual"),
            pv("small", "2Gi", &["ReadWriteOnce"], "manual"),
            pv("tiny", "1Gi", &["ReadWriteOnce"], "manual"),
            pv("many", "2Gi", &["ReadWriteOnce", "ReadWriteMany"], "manual"),
            pv("other-class", "2Gi", &["ReadWriteOnce"], "gold"),
        ];
        let claim = pvc("1500Mi", &["ReadWriteOnce"], "manual");
        assert_eq!(name(find(&claim, &volumes, false, None)), Some("small"));
        let rwx = pvc("1Gi", &["ReadWriteMany"], "manual");
        assert_eq!(name(find(&rwx, &volumes, false, None)), Some("many"));
        let huge = pvc("100Gi", &["ReadWriteOnce"], "manual");
        assert_eq!(name(find(&huge, &volumes, false, None)), None);
        assert_eq!(name(find(&claim, &volumes, true, None)), None);
    }

    #[test]
    fn bound_and_pre_bound_volumes() {
        let mut taken = pv("taken", "1Gi", &["ReadWriteOnce"], "");
        taken.spec.as_mut().unwrap().claim_ref =
            Some(serde_json::from_value(json!({"name": "other", "namespace": "ns"})).unwrap());
        let mut mine = pv("mine", "5Gi", &["ReadWriteOnce"], "");
        mine.spec.as_mut().unwrap().claim_ref =
            Some(serde_json::from_value(json!({"name": "c", "namespace": "ns"})).unwrap());
        let free = pv("free", "1Gi", &["ReadWriteOnce"], "");
        let claim = pvc("1Gi", &["ReadWriteOnce"], "");
        let volumes = [taken.clone(), free.clone(), mine];
        assert_eq!(name(find(&claim, &volumes, false, None)), Some("mine"));
        assert_eq!(
            name(find(&claim, &[taken, free], false, None)),
            Some("free")
        );
    }

    #[test]
    fn only_available_volumes_are_offered() {
        let mut released = pv("released", "1Gi", &["ReadWriteOnce"], "manual");
        released.status.as_mut().unwrap().phase = Some("Released".into());
        let mut pending = pv("pending", "1Gi", &["ReadWriteOnce"], "manual");
        pending.status = None;
        let claim = pvc("1Gi", &["ReadWriteOnce"], "manual");
        assert_eq!(name(find(&claim, &[released, pending], false, None)), None);
    }
}
