//! Leader election through a `coordination.k8s.io` Lease, so that of several controller
//! managers only one acts. A candidate takes the Lease when it is free or its holder has not
//! renewed it within its duration, then renews it every `retry` period; a leader that cannot
//! renew before the Lease would expire stops acting. Every write is guarded by the Lease's
//! resourceVersion, so two candidates never both win.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::lenient::{Metadata, Object};

/// The Lease of the controller manager, in `kube-system`.
pub const LEASE: &str = "oxshift-controller-manager";
pub const NAMESPACE: &str = "kube-system";

#[derive(Clone, Debug)]
pub struct Election {
    pub identity: String,
    /// The Lease's name, in `kube-system`.
    pub lease: &'static str,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How often candidates try and the leader renews.
    pub retry: Duration,
    /// A Lease that cannot be decoded, by resourceVersion, and when it was first seen so.
    unreadable: Arc<Mutex<Option<(String, Instant)>>>,
}

impl Election {
    /// A candidate named after this host and process, with upstream's default timings
    /// (15 s leases, retried every 2 s) unless `lease_duration` says otherwise.
    pub fn new(lease_duration: Option<Duration>) -> Election {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let lease_duration = lease_duration.unwrap_or(Duration::from_secs(15));
        Election {
            lease: LEASE,
            identity: format!("{host}_{}_{nanos:08x}", std::process::id()),
            retry: (lease_duration / 7).clamp(Duration::from_millis(200), Duration::from_secs(2)),
            lease_duration,
            unreadable: Arc::default(),
        }
    }
}

fn micro_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// What the Lease says of its holder: (holder, when it renews at the latest).
fn holder(lease: &Lease) -> Option<(String, jiff::Timestamp)> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let value = serde_json::to_value(spec).ok()?;
    let renewed: jiff::Timestamp = value["renewTime"].as_str()?.parse().ok()?;
    let duration = jiff::SignedDuration::from_secs(i64::from(spec.lease_duration_seconds?));
    Some((holder, renewed.checked_add(duration).ok()?))
}

impl Election {
    /// The same candidate competing for another Lease (another component's).
    pub fn for_lease(mut self, lease: &'static str) -> Election {
        self.lease = lease;
        self
    }

    /// Takes or renews the Lease; whether this candidate holds it now.
    pub async fn try_acquire(&self, api: &Api<Object<Lease>>) -> Result<bool, Error> {
        let now = jiff::Timestamp::now();
        let seconds = self.lease_duration.as_secs().max(1);
        let current = match api.get_opt(self.lease).await? {
            Some(Object {
                object: None,
                metadata,
            }) => return self.take_unreadable(api, &metadata).await,
            current => current.and_then(|c| c.object),
        };
        let mut spec = json!({
            "holderIdentity": self.identity,
            "leaseDurationSeconds": seconds,
            "renewTime": micro_time(now),
        });
        let outcome = match current {
            None => {
                spec["acquireTime"] = json!(micro_time(now));
                spec["leaseTransitions"] = json!(0);
                let lease: Lease = serde_json::from_value(json!({
                    "metadata": {"name": self.lease, "namespace": NAMESPACE},
                    "spec": spec,
                }))
                .map_err(|e| Error::Invalid(e.to_string()))?;
                api.create(&PostParams::default(), &Object::new(lease))
                    .await
                    .map(drop)
            }
            Some(lease) => {
                let held = holder(&lease);
                let mine = held.as_ref().is_some_and(|(h, _)| *h == self.identity);
                if !mine && held.as_ref().is_some_and(|(_, until)| *until > now) {
                    return Ok(false);
                }
                let previous = serde_json::to_value(&lease.spec).unwrap_or_default();
                let transitions = previous["leaseTransitions"].as_i64().unwrap_or(0);
                let (acquired, transitions) = match mine {
                    true => (previous["acquireTime"].clone(), transitions),
                    false => (json!(micro_time(now)), transitions + 1),
                };
                spec["acquireTime"] = acquired;
                spec["leaseTransitions"] = json!(transitions);
                let next: Lease = serde_json::from_value(json!({
                    "metadata": {"name": self.lease, "namespace": NAMESPACE,
                        "resourceVersion": lease.resource_version()},
                    "spec": spec,
                }))
                .map_err(|e| Error::Invalid(e.to_string()))?;
                api.replace(self.lease, &PostParams::default(), &Object::new(next))
                    .await
                    .map(drop)
            }
        };
        match outcome {
            Ok(()) => Ok(true),
            // Another candidate wrote first.
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A Lease nobody can decode says nobody leads: it is taken over once it has stayed
    /// unchanged for a whole lease duration on this candidate's clock (a leader that could
    /// still write it would have replaced it by then), instead of stopping every manager
    /// for good.
    async fn take_unreadable(
        &self,
        api: &Api<Object<Lease>>,
        metadata: &Metadata,
    ) -> Result<bool, Error> {
        let version = metadata.meta.resource_version.clone().unwrap_or_default();
        if !self.unchanged_for_a_lease(&version, Instant::now()) {
            tracing::warn!(
                "leader election: the lease cannot be decoded; waiting for it to expire"
            );
            return Ok(false);
        }
        let now = micro_time(jiff::Timestamp::now());
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": self.lease, "namespace": NAMESPACE, "resourceVersion": version},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.lease_duration.as_secs().max(1),
                "acquireTime": now, "renewTime": now, "leaseTransitions": 1,
            },
        }))
        .map_err(|e| Error::Invalid(e.to_string()))?;
        match api
            .replace(self.lease, &PostParams::default(), &Object::new(lease))
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the unreadable Lease at `version` was first seen at least a lease duration
    /// before `now`; notes it as first seen now otherwise.
    fn unchanged_for_a_lease(&self, version: &str, now: Instant) -> bool {
        let mut seen = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        match &*seen {
            Some((v, since)) if v == version => now.duration_since(*since) >= self.lease_duration,
            _ => {
                *seen = Some((version.to_string(), now));
                false
            }
        }
    }

    /// Gives the Lease up if this candidate holds it (on a clean shutdown), so that a standby
    /// takes over at once instead of after the Lease's duration.
    pub async fn release(&self, client: &Client) {
        let api: Api<Object<Lease>> = Api::namespaced(client.clone(), NAMESPACE);
        let Ok(Some(Object {
            object: Some(lease),
            ..
        })) = api.get_opt(self.lease).await
        else {
            return;
        };
        if holder(&lease).is_none_or(|(h, _)| h != self.identity) {
            return;
        }
        let mut spec = serde_json::to_value(&lease.spec).unwrap_or_default();
        spec["holderIdentity"] = serde_json::Value::Null;
        spec["leaseDurationSeconds"] = json!(1);
        spec["renewTime"] = json!(micro_time(jiff::Timestamp::now()));
        let released = serde_json::from_value::<Lease>(json!({
            "metadata": {"name": self.lease, "namespace": NAMESPACE,
                "resourceVersion": lease.resource_version()},
            "spec": spec,
        }));
        if let Ok(released) = released
            && api
                .replace(self.lease, &PostParams::default(), &Object::new(released))
                .await
                .is_ok()
        {
            tracing::info!(identity = %self.identity, "leader election: released the lease");
        }
    }

    /// Waits until this candidate leads.
    pub async fn acquire(&self, client: &Client) {
        let api: Api<Object<Lease>> = Api::namespaced(client.clone(), NAMESPACE);
        let mut announced = false;
        loop {
            match self.try_acquire(&api).await {
                Ok(true) => {
                    tracing::info!(identity = %self.identity, "leader election: acquired the lease");
                    return;
                }
                Ok(false) if !announced => {
                    tracing::info!(identity = %self.identity, "leader election: another manager leads; waiting for the lease");
                    announced = true;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election: retrying"),
            }
            tokio::time::sleep(self.retry).await;
        }
    }

    /// Renews the lease until that fails for longer than it lasts; returns when leadership
    /// is lost.
    pub async fn keep(&self, client: &Client) {
        let api: Api<Object<Lease>> = Api::namespaced(client.clone(), NAMESPACE);
        // Renewals must succeed well before the lease expires (upstream's renew deadline).
        let deadline = self.lease_duration.mul_f64(2.0 / 3.0);
        let mut last = std::time::Instant::now();
        loop {
            tokio::time::sleep(self.retry).await;
            match self.try_acquire(&api).await {
                Ok(true) => last = std::time::Instant::now(),
                Ok(false) => {
                    tracing::error!("leader election: the lease was taken over");
                    return;
                }
                Err(error) => tracing::warn!(%error, "leader election: renewal failed"),
            }
            if last.elapsed() > deadline {
                tracing::error!("leader election: could not renew the lease in time");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Reply};

    /// An unreadable Lease stopped every manager for good; it is now taken over once it has
    /// not changed for a lease duration.
    #[tokio::test]
    async fn an_unreadable_lease_is_taken_over_after_a_lease_duration() {
        let (client, log) = testing::client(|r| match r.method.as_str() {
            "GET" => Reply::Json(
                200,
                json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": LEASE, "namespace": NAMESPACE, "resourceVersion": "4"},
                    "spec": {"holderIdentity": "other", "leaseDurationSeconds": "fifteen"}}),
            ),
            "PUT" => Reply::Json(200, r.body.clone()),
            _ => testing::status(404, "NotFound"),
        });
        let api: Api<Object<Lease>> = Api::namespaced(client, NAMESPACE);
        let lease = Duration::from_millis(500);
        let election = Election::new(Some(lease));
        let started = Instant::now();
        assert!(!election.try_acquire(&api).await.unwrap());
        // First seen no later than now: taken over from a lease duration after this on.
        let seen = Instant::now();
        let again = election.try_acquire(&api).await.unwrap();
        // Unless this machine took a lease duration to get here, it is too early.
        if started.elapsed() < lease {
            assert!(!again);
        }
        tokio::time::sleep_until((seen + lease).into()).await;
        assert!(election.try_acquire(&api).await.unwrap());
        let log = log.lock().unwrap();
        let put = log.iter().find(|r| r.method == "PUT").unwrap();
        assert_eq!(put.body["metadata"]["resourceVersion"], "4");
        assert_eq!(
            put.body["spec"]["holderIdentity"],
            election.identity.as_str()
        );
    }

    #[test]
    fn an_unreadable_lease_that_changes_starts_the_wait_again() {
        let election = Election::new(Some(Duration::from_secs(10)));
        let start = Instant::now();
        assert!(!election.unchanged_for_a_lease("1", start));
        assert!(!election.unchanged_for_a_lease("1", start + Duration::from_secs(5)));
        assert!(!election.unchanged_for_a_lease("2", start + Duration::from_secs(11)));
        assert!(election.unchanged_for_a_lease("2", start + Duration::from_secs(21)));
    }
}
