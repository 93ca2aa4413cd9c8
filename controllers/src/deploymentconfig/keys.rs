//! The annotations and labels of deployments (upstream's appsutil constants), and the
//! replication controllers' phases.

pub const CONFIG_NAME: &str = "openshift.io/deployment-config.name";
pub const LATEST_VERSION: &str = "openshift.io/deployment-config.latest-version";
pub const ENCODED_CONFIG: &str = "openshift.io/encoded-deployment-config";
pub const PHASE: &str = "openshift.io/deployment.phase";
pub const DEPLOYMENT_NAME: &str = "openshift.io/deployment.name";
pub const DEPLOYER_POD: &str = "openshift.io/deployer-pod.name";
pub const CREATED_AT: &str = "openshift.io/deployer-pod.created-at";
pub const STARTED_AT: &str = "openshift.io/deployer-pod.started-at";
pub const COMPLETED_AT: &str = "openshift.io/deployer-pod.completed-at";
pub const REPLICAS: &str = "openshift.io/deployment.replicas";
pub const DESIRED_REPLICAS: &str = "kubectl.kubernetes.io/desired-replicas";
pub const STATUS_REASON: &str = "openshift.io/deployment.status-reason";
pub const CANCELLED: &str = "openshift.io/deployment.cancelled";
pub const IGNORE_DEPLOYER: &str = "deploy.openshift.io/deployer-pod.ignore";
/// The deployer's log, kept on the replication controller it deploys (the API server's
/// `deploymentconfigs/log` reads it).
pub const DEPLOYER_LOG: &str = "deploy.oxshift.io/log";
/// When the deployer last moved the rollout on (its timeout counts from there).
pub const PROGRESS_AT: &str = "deploy.oxshift.io/progress-at";
/// The lifecycle hooks of the rollout that are over (`pre,mid`), so none runs twice.
pub const HOOKS_DONE: &str = "deploy.oxshift.io/hooks-done";
/// Set once the strategy has taken its first step (after any `pre` hook).
pub const STRATEGY_STARTED: &str = "deploy.oxshift.io/strategy-started";
pub const LABEL_CONFIG: &str = "deploymentconfig";
pub const LABEL_DEPLOYMENT: &str = "deployment";

pub const NEW: &str = "New";
pub const PENDING: &str = "Pending";
pub const RUNNING: &str = "Running";
pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";

pub const CANCELLED_BY_USER: &str = "cancelled by the user";
pub const SUPERSEDED: &str = "newer deployment was found running";

/// Whether a phase is final.
pub fn terminal(phase: &str) -> bool {
    phase == COMPLETE || phase == FAILED
}

/// A deployment's replication controller name.
pub fn rc_name(config: &str, version: i64) -> String {
    format!("{config}-{version}")
}
