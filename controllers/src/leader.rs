//! Leader election through a `coordination.k8s.io` Lease, so that of several controller
//! managers only one acts. A candidate takes the Lease when it is free or its holder has not
//! renewed it within its duration, then renews it every `retry` period; a leader that cannot
//! renew before the Lease would expire stops acting. Every write is guarded by the Lease's
//! resourceVersion, so two candidates never both win.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::Error;
use crate::lenient::Object;

/// The Lease of the controller manager, in `kube-system`.
pub const LEASE: &str = "oxshift-controller-manager";
pub const NAMESPACE: &str = "kube-system";

#[derive(Clone, Debug)]
pub struct Election {
    pub identity: String,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// How often candidates try and the leader renews.
    pub retry: Duration,
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
            identity: format!("{host}_{}_{nanos:08x}", std::process::id()),
            retry: (lease_duration / 7).clamp(Duration::from_millis(200), Duration::from_secs(2)),
            lease_duration,
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
    /// Takes or renews the Lease; whether this candidate holds it now.
    pub async fn try_acquire(&self, api: &Api<Object<Lease>>) -> Result<bool, Error> {
        let now = jiff::Timestamp::now();
        let seconds = self.lease_duration.as_secs().max(1);
        let current = match api.get_opt(LEASE).await? {
            Some(Object { object: None, .. }) => {
                return Err(Error::Invalid(format!("Lease {LEASE} cannot be decoded")));
            }
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
                    "metadata": {"name": LEASE, "namespace": NAMESPACE},
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
                    "metadata": {"name": LEASE, "namespace": NAMESPACE,
                        "resourceVersion": lease.resource_version()},
                    "spec": spec,
                }))
                .map_err(|e| Error::Invalid(e.to_string()))?;
                api.replace(LEASE, &PostParams::default(), &Object::new(next))
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

    /// Gives the Lease up if this candidate holds it (on a clean shutdown), so that a standby
    /// takes over at once instead of after the Lease's duration.
    pub async fn release(&self, client: &Client) {
        let api: Api<Object<Lease>> = Api::namespaced(client.clone(), NAMESPACE);
        let Ok(Some(Object {
            object: Some(lease),
            ..
        })) = api.get_opt(LEASE).await
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
            "metadata": {"name": LEASE, "namespace": NAMESPACE,
                "resourceVersion": lease.resource_version()},
            "spec": spec,
        }));
        if let Ok(released) = released
            && api
                .replace(LEASE, &PostParams::default(), &Object::new(released))
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
