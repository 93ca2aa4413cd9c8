//! The node's Lease in `kube-node-lease`: held by the node, 40 s, renewed every 10 s
//! (a quarter of its duration), owned by the Node so that it goes with it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;

pub const NAMESPACE: &str = "kube-node-lease";
pub const DURATION_SECONDS: i32 = 40;
pub const RENEW: Duration = Duration::from_secs(10);
/// After a failed renewal, the next try comes sooner.
const RETRY: Duration = Duration::from_secs(1);

fn micro_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The Lease as the node writes it.
pub fn lease(node: &str, node_uid: &str, now: jiff::Timestamp) -> Result<Lease, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": node,
            "namespace": NAMESPACE,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}],
        },
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": DURATION_SECONDS,
            "renewTime": micro_time(now),
        },
    }))
}

async fn renew(api: &Api<Lease>, node: &str, node_uid: &str) -> Result<(), kube::Error> {
    let now = jiff::Timestamp::now();
    let wanted = lease(node, node_uid, now).map_err(kube::Error::SerdeError)?;
    match api.get_opt(node).await? {
        None => {
            api.create(&PostParams::default(), &wanted).await?;
        }
        Some(mut current) => {
            current.spec = wanted.spec;
            if current.metadata.owner_references.is_none() {
                current.metadata.owner_references = wanted.metadata.owner_references;
            }
            // Guarded by the resourceVersion read: a conflict is retried with a fresh read.
            api.replace(node, &PostParams::default(), &current).await?;
        }
    }
    Ok(())
}

/// Renews the Lease until the process ends.
pub async fn run(client: kube::Client, node: String, node_uid: String) {
    let api: Api<Lease> = Api::namespaced(client, NAMESPACE);
    loop {
        let wait = match renew(&api, &node, &node_uid).await {
            Ok(()) => RENEW,
            Err(e) => {
                tracing::warn!(node = %node, error = %controllers::logs::describe(&e), "node lease not renewed");
                RETRY
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_is_the_kubelets() {
        let now: jiff::Timestamp = "2026-01-02T03:04:05.123456789Z".parse().unwrap_or_default();
        let l = lease("n1", "u1", now).ok().unwrap_or_default();
        let spec = serde_json::to_value(l.spec).unwrap_or_default();
        assert_eq!(spec["holderIdentity"], "n1");
        assert_eq!(spec["leaseDurationSeconds"], 40);
        assert_eq!(spec["renewTime"], "2026-01-02T03:04:05.123456Z");
        let owners = l.metadata.owner_references.unwrap_or_default();
        assert_eq!(owners[0].kind, "Node");
        assert_eq!(owners[0].uid, "u1");
    }
}
