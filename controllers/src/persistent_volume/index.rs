//! The binder's view of the volumes: the newest copy of each (its own writes over the
//! watch's while the watch is behind), free volumes by class in the order a claim prefers
//! them, and volumes by the claim their claimRef names. Matching a claim is then a walk of
//! the few entries at or above its size, not a scan (and copy) of every volume.
//!
//! A volume chosen for a claim is held until that claim's bind either lands or fails, so
//! concurrent claims never chose the same one; the write itself is still guarded by the
//! volume's resourceVersion.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::ResourceExt;

use super::matching::{self, Judgement, Rank, Wanted};

/// A claim's namespace and name.
pub type ClaimKey = (String, String);

/// A free volume's place in its class's order.
type Entry = (Rank, String);

fn revision(volume: &PersistentVolume) -> u64 {
    volume
        .metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn claim_key(volume: &PersistentVolume) -> Option<ClaimKey> {
    let r = volume.spec.as_ref()?.claim_ref.as_ref()?;
    Some((r.namespace.clone()?, r.name.clone()?))
}

#[derive(Default)]
struct Copies {
    /// As the watch last showed it.
    watched: Option<Arc<PersistentVolume>>,
    /// As the binder last wrote it (or chose it), while no newer watched copy exists.
    own: Option<Arc<PersistentVolume>>,
    /// Chosen for a claim whose bind has not ended.
    held: bool,
    /// Where the current copy is filed.
    free_as: Option<(String, Entry)>,
    claimed_by: Option<ClaimKey>,
}

impl Copies {
    fn current(&self) -> Option<&Arc<PersistentVolume>> {
        self.own.as_ref().or(self.watched.as_ref())
    }

    /// An own copy older than the watched one is stale: the watch has caught up.
    fn drop_stale_own(&mut self) {
        if let (Some(own), Some(watched)) = (&self.own, &self.watched)
            && revision(own) < revision(watched)
        {
            self.own = None;
        }
    }
}

#[derive(Default)]
pub struct Volumes {
    copies: HashMap<String, Copies>,
    free: HashMap<String, BTreeSet<Entry>>,
    by_claim: HashMap<ClaimKey, BTreeSet<String>>,
}

impl Volumes {
    /// The watch showed this copy.
    pub fn watched(&mut self, volume: PersistentVolume) {
        let name = volume.name_any();
        let copies = self.copies.entry(name.clone()).or_default();
        copies.watched = Some(Arc::new(volume));
        copies.drop_stale_own();
        self.refile(&name);
    }

    /// The watch showed the volume deleted.
    pub fn deleted(&mut self, name: &str) {
        if let Some(copies) = self.copies.get_mut(name) {
            copies.watched = None;
            copies.own = None;
        }
        self.refile(name);
    }

    /// The watch listed every volume again: those not listed are gone (but for copies the
    /// binder wrote that the list may predate).
    pub fn relisted(&mut self, volumes: Vec<PersistentVolume>) {
        let listed: HashSet<String> = volumes.iter().map(|v| v.name_any()).collect();
        let gone: Vec<String> = self
            .copies
            .keys()
            .filter(|n| !listed.contains(*n))
            .cloned()
            .collect();
        for name in gone {
            if let Some(copies) = self.copies.get_mut(&name) {
                copies.watched = None;
            }
            self.refile(&name);
        }
        for volume in volumes {
            self.watched(volume);
        }
    }

    /// The binder wrote this copy (the answer to its write).
    pub fn assume(&mut self, volume: PersistentVolume) {
        let name = volume.name_any();
        let copies = self.copies.entry(name.clone()).or_default();
        copies.own = Some(Arc::new(volume));
        copies.drop_stale_own();
        self.refile(&name);
    }

    /// The binder's write failed: the watched copy is the truth again, and the volume is no
    /// longer held.
    pub fn forget(&mut self, name: &str) {
        if let Some(copies) = self.copies.get_mut(name) {
            copies.own = None;
            copies.held = false;
        }
        self.refile(name);
    }

    /// The bind that held the volume ended: a held copy it never wrote (no newer than the
    /// watched one) goes with the hold.
    pub fn release(&mut self, name: &str) {
        if let Some(copies) = self.copies.get_mut(name) {
            copies.held = false;
            if let (Some(own), Some(watched)) = (&copies.own, &copies.watched)
                && revision(own) <= revision(watched)
            {
                copies.own = None;
            }
        }
        self.refile(name);
    }

    /// The newest copy of a volume.
    pub fn get(&self, name: &str) -> Option<Arc<PersistentVolume>> {
        self.copies.get(name)?.current().cloned()
    }

    /// Names of the volumes whose claimRef names this claim.
    pub fn claimed_by(&self, key: &ClaimKey) -> Vec<String> {
        self.by_claim
            .get(key)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The volume the claim should bind to (as `matching::find` over every volume would
    /// choose), held for it when it is a free one: the caller binds it, then `release`s or
    /// `forget`s it.
    pub fn choose(&mut self, claim: &PersistentVolumeClaim, want: &Wanted<'_>) -> Option<Chosen> {
        let key = (claim.namespace()?, claim.name_any());
        for name in self.by_claim.get(&key).into_iter().flatten() {
            let Some(volume) = self.get(name) else {
                continue;
            };
            match want.judge(&volume) {
                Judgement::Mine => {
                    return Some(Chosen {
                        volume,
                        held: false,
                    });
                }
                Judgement::NotHere => return None,
                Judgement::Candidate(_) | Judgement::No => {}
            }
        }
        if !want.takes_free() {
            return None;
        }
        let found = self.best_free(want)?;
        let volume = self.get(&found)?;
        let mut mine = (*volume).clone();
        mine.spec.get_or_insert_default().claim_ref = Some(super::claims::claim_ref(claim));
        let copies = self.copies.get_mut(&found)?;
        copies.held = true;
        copies.own = Some(Arc::new(mine));
        self.refile(&found);
        Some(Chosen { volume, held: true })
    }

    /// The first free volume of the claim's class, in rank order, that satisfies it. Ranks
    /// start with the count of access modes, so each count's entries are walked from the
    /// claim's size up.
    fn best_free(&self, want: &Wanted<'_>) -> Option<String> {
        let set = self.free.get(want.class)?;
        let counts: BTreeSet<usize> = set.iter().map(|((n, _), _)| *n).collect();
        for n in counts.into_iter().filter(|n| *n >= want.modes.len()) {
            let from = ((n, want.size), String::new());
            let to = ((n, i64::MAX), String::new());
            for (_, name) in set.range(from..=to) {
                let Some(volume) = self.get(name) else {
                    continue;
                };
                if let Judgement::Candidate(_) = want.judge(&volume) {
                    return Some(name.clone());
                }
            }
        }
        None
    }

    /// Files the volume's current copy where it belongs (and nowhere else).
    fn refile(&mut self, name: &str) {
        let Some(copies) = self.copies.get_mut(name) else {
            return;
        };
        if let Some((class, entry)) = copies.free_as.take()
            && let Some(set) = self.free.get_mut(&class)
        {
            set.remove(&entry);
            if set.is_empty() {
                self.free.remove(&class);
            }
        }
        if let Some(key) = copies.claimed_by.take()
            && let Some(names) = self.by_claim.get_mut(&key)
        {
            names.remove(name);
            if names.is_empty() {
                self.by_claim.remove(&key);
            }
        }
        let Some(volume) = copies.current().cloned() else {
            self.copies.remove(name);
            return;
        };
        if !copies.held
            && matching::is_free(&volume)
            && let Some(rank) = matching::rank(&volume)
        {
            let class = matching::volume_class(&volume).to_string();
            let entry = (rank, name.to_string());
            self.free
                .entry(class.clone())
                .or_default()
                .insert(entry.clone());
            copies.free_as = Some((class, entry));
        }
        if let Some(key) = claim_key(&volume) {
            self.by_claim
                .entry(key.clone())
                .or_default()
                .insert(name.to_string());
            copies.claimed_by = Some(key);
        }
    }
}

/// A volume chosen for a claim, as it was when chosen.
pub struct Chosen {
    pub volume: Arc<PersistentVolume>,
    /// Whether it was free and is now held for the claim.
    pub held: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pv(name: &str, size: &str, modes: &[&str], rv: &str) -> PersistentVolume {
        serde_json::from_value(json!({"metadata": {"name": name, "resourceVersion": rv},
            "spec": {"capacity": {"storage": size}, "accessModes": modes,
            "storageClassName": "manual", "hostPath": {"path": "/x"}},
            "status": {"phase": "Available"}}))
        .unwrap()
    }

    fn pvc(name: &str, size: &str, modes: &[&str]) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns",
            "uid": format!("uid-{name}")}, "spec": {"accessModes": modes,
            "storageClassName": "manual", "resources": {"requests": {"storage": size}}}}))
        .unwrap()
    }

    fn chosen(index: &mut Volumes, claim: &PersistentVolumeClaim) -> Option<String> {
        let want = Wanted::of(claim, false, None)?;
        index.choose(claim, &want).map(|c| c.volume.name_any())
    }

    #[test]
    fn chooses_as_find_does_and_holds_the_choice() {
        let volumes = vec![
            pv("big", "10Gi", &["ReadWriteOnce"], "1"),
            pv("small", "2Gi", &["ReadWriteOnce"], "2"),
            pv("tiny", "1Gi", &["ReadWriteOnce"], "3"),
            pv("many", "2Gi", &["ReadWriteOnce", "ReadWriteMany"], "4"),
        ];
        let mut index = Volumes::default();
        index.relisted(volumes.clone());
        let claim = pvc("a", "1500Mi", &["ReadWriteOnce"]);
        let expected = matching::find(&claim, &volumes, false, None).map(|v| v.name_any());
        assert_eq!(chosen(&mut index, &claim), expected);
        assert_eq!(expected.as_deref(), Some("small"));
        // Held: the next claim gets the next best (fewer modes before smaller), and the
        // first is now pre-bound to `a`.
        assert_eq!(
            chosen(&mut index, &pvc("b", "1500Mi", &["ReadWriteOnce"])).as_deref(),
            Some("big")
        );
        assert_eq!(chosen(&mut index, &claim).as_deref(), Some("small"));
        let rwx = pvc("c", "1Gi", &["ReadWriteMany"]);
        assert_eq!(chosen(&mut index, &rwx).as_deref(), Some("many"));
        let another = pvc("d", "1Gi", &["ReadWriteMany"]);
        assert_eq!(chosen(&mut index, &another), None);
        // A failed bind gives the volume back.
        index.forget("many");
        assert_eq!(chosen(&mut index, &another).as_deref(), Some("many"));
    }

    #[test]
    fn the_watch_catching_up_replaces_own_copies_but_not_holds() {
        let mut index = Volumes::default();
        index.relisted(vec![pv("v", "1Gi", &["ReadWriteOnce"], "5")]);
        let claim = pvc("a", "1Gi", &["ReadWriteOnce"]);
        assert_eq!(chosen(&mut index, &claim).as_deref(), Some("v"));
        // Someone else writes the volume while the bind is in flight: still held.
        index.watched(pv("v", "1Gi", &["ReadWriteOnce"], "6"));
        assert_eq!(
            chosen(&mut index, &pvc("b", "1Gi", &["ReadWriteOnce"])),
            None
        );
        index.release("v");
        assert_eq!(
            chosen(&mut index, &pvc("b", "1Gi", &["ReadWriteOnce"])).as_deref(),
            Some("v")
        );
        index.deleted("v");
        assert!(index.get("v").is_none());
        assert!(index.free.is_empty() && index.by_claim.is_empty());
    }

    #[test]
    fn a_relist_drops_volumes_gone_meanwhile() {
        let mut index = Volumes::default();
        index.relisted(vec![
            pv("a", "1Gi", &["ReadWriteOnce"], "1"),
            pv("b", "1Gi", &["ReadWriteOnce"], "2"),
        ]);
        index.relisted(vec![pv("b", "1Gi", &["ReadWriteOnce"], "2")]);
        assert!(index.get("a").is_none());
        let claim = pvc("c", "1Gi", &["ReadWriteOnce"]);
        assert_eq!(chosen(&mut index, &claim).as_deref(), Some("b"));
        assert_eq!(index.claimed_by(&("ns".into(), "c".into())), vec!["b"]);
    }
}
