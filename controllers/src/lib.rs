//! Oxshift's controllers. Each is a level-triggered reconcile loop on kube-runtime that reads
//! through watches and writes only through the API, with the controller manager's own
//! credentials; a crash at any point converges on restart.
//!
//! - `service_accounts`: the `default`, `builder` and `deployer` service accounts of every
//!   namespace, and the role bindings that go with them;
//! - `image_pull_secrets`: each service account's pull secret for the integrated registry;
//! - `cluster_role_aggregation`: aggregated ClusterRoles hold the rules of the roles they
//!   select;
//! - `garbage_collector`: dependents of deleted owners are deleted (background, foreground)
//!   or released (orphan);
//! - `namespace_lifecycle`: a deleted namespace's content is deleted, then its `kubernetes`
//!   finalizer is removed so that it goes;
//! - `namespace_security`: each namespace's UID range, supplemental groups and SELinux MCS
//!   label, allocated uniquely from a persisted allocation;
//! - `pod_security_labels`: namespaces get the Pod Security `audit` and `warn` labels of
//!   the most privileged SCC their service accounts may use;
//! - `node_lifecycle`: silent nodes go Unknown, nodes are tainted by condition, pods are
//!   evicted from lost nodes and collected when their node is gone;
//! - `disruption`: PodDisruptionBudgets' status from the pods they pick;
//! - `job`: Jobs run their pods to completion (or failure), then expire;
//! - `cronjob`: CronJobs make a Job at each schedule time;
//! - `endpoints`: Services with a selector list their pods' addresses in Endpoints;
//! - `root_ca_publisher`: every namespace holds the cluster's CA bundle in the ConfigMap
//!   `kube-root-ca.crt`;
//! - `csr_signing`: approved certificate signing requests of the built-in signers are signed
//!   with the cluster CA; decided ones are removed after an hour, pending ones after a day;
//! - `service_ca`: annotated Services get serving-cert secrets signed by the service CA,
//!   annotated ConfigMaps its bundle;
//! - `ingress_routes`: Ingresses are served as Routes they own (openshift-controller-manager's
//!   ingress-to-route controller);
//! - `deployment`: Deployments roll their template out through ReplicaSets;
//! - `deploymentconfig`: DeploymentConfigs deploy through replication controllers (the
//!   config controller, the deployer, and the image trigger controller for configs and for
//!   workloads annotated with `image.openshift.io/triggers`);
//! - `resource_quota`: each ResourceQuota's status: `hard` from its spec, `used` recomputed
//!   from the namespace's objects;
//! - `cluster_quota`: each ClusterResourceQuota's status: the usage of every project it
//!   selects, and their total;
//! - `replicaset`: ReplicaSets and ReplicationControllers keep their number of pods;
//! - `daemonset`: DaemonSets keep one pod on each node that fits their template;
//! - `statefulset`: StatefulSets keep ordered pods with stable names and claims, rolled by
//!   revision;
//! - `template_instance`: template instances are instantiated once, with their requester's
//!   permissions, and report `Ready` or `InstantiateFailure`;
//! - `persistent_volume`: claims bind to volumes (or wait for a provisioner), volumes are
//!   released and reclaimed, and claims in use and bound volumes keep their protection
//!   finalizers;
//! - `scheduler`: pods without a node are bound to one that fits them (run on its own, with
//!   its own identity and Lease: `run_scheduler_elected`).
//!
//! Every object read, by a watch or a request, is decoded leniently (`lenient`): one stored
//! with fields of the wrong types is skipped where it matters (`skipped`) and never fails a
//! list. Nothing logged carries an object's content (`logs`). Failed objects are retried
//! after per-object delays that double (`backoff`).

pub mod backoff;
pub mod bounded;
pub mod build;
pub mod cluster_quota;
pub mod cluster_role_aggregation;
pub mod cronjob;
pub mod csr_signing;
pub mod daemonset;
pub mod deployment;
pub mod deploymentconfig;
pub mod discovery;
pub mod disruption;
pub mod endpoints;
pub mod events;
pub mod garbage_collector;
pub mod history;
pub mod image_config;
pub mod image_import;
pub mod image_pull_secrets;
pub mod ingress_routes;
pub mod job;
pub mod leader;
pub mod lenient;
pub mod logs;
pub mod namespace_lifecycle;
pub mod namespace_security;
pub mod node_lifecycle;
pub mod owners;
pub mod persistent_volume;
pub mod pod_security_labels;
pub mod replicaset;
pub mod resource_quota;
pub mod resources;
pub mod root_ca_publisher;
pub mod scheduler;
pub mod selector;
pub mod service_accounts;
pub mod service_ca;
pub mod skipped;
pub mod statefulset;
pub mod tasks;
pub mod template_instance;
#[cfg(test)]
mod testing;
pub mod watch_cache;
pub mod work_queue;
pub mod workload_status;

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use logs::quiet_client_logs;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// Described without a decoding error's message, which may quote an object's content.
    #[error("{}", logs::describe(.0))]
    Kube(#[from] kube::Error),
    #[error("{0}")]
    Invalid(String),
}

/// A client with the credentials of a kubeconfig file.
pub async fn client(kubeconfig: &Path) -> Result<Client, Error> {
    let config = Kubeconfig::read_from(kubeconfig).map_err(|e| Error::Kubeconfig(e.to_string()))?;
    let config = Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::Kubeconfig(e.to_string()))?;
    Ok(Client::try_from(config)?)
}

/// The CA bundle (PEM) a kubeconfig trusts for its server: the cluster's, which the root CA
/// publisher hands to every namespace.
pub fn root_ca(kubeconfig: &Path) -> Option<String> {
    use base64::Engine;
    let config = Kubeconfig::read_from(kubeconfig).ok()?;
    let cluster = config.clusters.first()?.cluster.as_ref()?;
    if let Some(data) = &cluster.certificate_authority_data {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .ok()?;
        return String::from_utf8(pem).ok();
    }
    std::fs::read_to_string(cluster.certificate_authority.as_ref()?).ok()
}

/// What may be tuned of the controllers.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long a node may go without a heartbeat before it is lost (upstream's
    /// `--node-monitor-grace-period`).
    pub node_monitor_grace_period: std::time::Duration,
    /// How often tags with `importPolicy.scheduled` are imported again (upstream's
    /// `scheduledImageImportMinimumIntervalSeconds`, 15 minutes).
    pub scheduled_image_import_interval: std::time::Duration,
    /// The cluster's CA bundle for `kube-root-ca.crt` (none: nothing is published).
    pub root_ca: Option<String>,
    /// How long the service CA's signer and serving certificates live, and how early they
    /// are replaced.
    pub service_ca_lifetimes: service_ca::certs::Lifetimes,
    /// The cluster CA the CSR signer signs with (none: requests are approved but never
    /// signed, as upstream's manager without signing files).
    pub cluster_signing: Option<csr_signing::SigningCa>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node_monitor_grace_period: node_lifecycle::MONITOR_GRACE,
            scheduled_image_import_interval: image_import::scheduled::INTERVAL,
            root_ca: None,
            service_ca_lifetimes: service_ca::certs::Lifetimes::default(),
            cluster_signing: None,
        }
    }
}

/// Runs every controller while this manager holds the leader Lease; returns when it loses
/// it (the controllers stopped).
pub async fn run_elected(client: Client, election: &leader::Election, options: Options) {
    election.acquire(&client).await;
    tokio::select! {
        _ = run(client.clone(), options) => {}
        _ = election.keep(&client) => {}
    }
}

/// Runs the scheduler while this process holds the scheduler's Lease.
pub async fn run_scheduler_elected(client: Client, election: &leader::Election) {
    election.acquire(&client).await;
    tokio::select! {
        _ = scheduler::run(client.clone()) => {}
        _ = election.keep(&client) => {}
    }
}

/// Runs every controller until the process ends, each as a task of its own.
pub async fn run(client: Client, options: Options) {
    let publisher = client.clone();
    let signer = client.clone();
    let (root_ca, cluster_signing) = (options.root_ca, options.cluster_signing);
    let mut tasks = tasks::Tasks::default();
    tasks.spawn(node_lifecycle::run(
        client.clone(),
        options.node_monitor_grace_period,
    ));
    tasks.spawn(service_accounts::run(client.clone()));
    tasks.spawn(image_pull_secrets::run(client.clone()));
    tasks.spawn(namespace_security::run(client.clone()));
    tasks.spawn(pod_security_labels::run(client.clone()));
    tasks.spawn(namespace_lifecycle::run(client.clone()));
    tasks.spawn(garbage_collector::run(client.clone()));
    tasks.spawn(cluster_role_aggregation::run(client.clone()));
    tasks.spawn(replicaset::run(client.clone()));
    tasks.spawn(deployment::run(client.clone()));
    tasks.spawn(deploymentconfig::run(client.clone()));
    tasks.spawn(build::run(client.clone()));
    tasks.spawn(endpoints::run(client.clone()));
    tasks.spawn(ingress_routes::run(client.clone()));
    tasks.spawn(image_config::run(client.clone()));
    tasks.spawn(template_instance::run(client.clone()));
    tasks.spawn(image_import::controller::run(client.clone()));
    tasks.spawn(image_import::scheduled::run_every(
        client.clone(),
        options.scheduled_image_import_interval,
    ));
    tasks.spawn(persistent_volume::run(client.clone()));
    tasks.spawn(persistent_volume::protection::run(client.clone()));
    tasks.spawn(resource_quota::run(client.clone()));
    tasks.spawn(cluster_quota::run(client.clone()));
    tasks.spawn(statefulset::run(client.clone()));
    tasks.spawn(daemonset::run(client.clone()));
    tasks.spawn(cronjob::run(client.clone()));
    tasks.spawn(service_ca::run_with(
        client.clone(),
        options.service_ca_lifetimes,
    ));
    tasks.spawn(async move {
        match root_ca {
            Some(bundle) => root_ca_publisher::run(publisher, bundle).await,
            None => tracing::warn!("no CA bundle: kube-root-ca.crt is not published"),
        }
    });
    tasks.spawn(async move {
        match cluster_signing {
            Some(signing) => csr_signing::run(signer, signing).await,
            None => {
                tracing::warn!("no cluster signing CA: certificate signing requests are not signed")
            }
        }
    });
    tasks.spawn(csr_signing::run_cleaner(client.clone()));
    tasks.spawn(disruption::run(client.clone()));
    tasks.spawn(job::run(client));
    tasks.join().await;
}
