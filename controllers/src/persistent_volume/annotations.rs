//! The annotations the binder, the scheduler and the provisioner exchange on claims and
//! volumes (upstream's names), and the local provisioner's name.

/// On a claim: the binder finished binding it.
pub const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
/// On a claim or a volume: the binder (not the user) chose the other side.
pub const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
/// On a claim: the node the scheduler chose for its first consumer.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// On a claim: the provisioner asked to make its volume.
pub const STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
pub const BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";
/// On a volume: the provisioner that made it.
pub const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
/// The class provisioner of volumes nothing provisions (local volumes made by hand).
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";
/// Oxshift's local provisioner: directories under a node's storage directory.
pub const LOCAL_PROVISIONER: &str = "oxshift.io/local-path";
pub const YES: &str = "yes";
