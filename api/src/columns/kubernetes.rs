//! The Kubernetes kinds' columns, as upstream's printers define them.

use super::column::Special::*;
use super::column::{AGE, Cell, Column, NAME, col, special, text, wide};

pub const NAMESPACE: &[Column] = &[
    NAME,
    col(
        "Status",
        "string",
        "The status of the namespace",
        Cell::Path("status.phase"),
    ),
    AGE,
];
pub const CONFIG_MAP: &[Column] = &[
    NAME,
    col(
        "Data",
        "integer",
        "Number of keys",
        Cell::Keys(&["data", "binaryData"]),
    ),
    AGE,
];
pub const SECRET: &[Column] = &[
    NAME,
    col(
        "Type",
        "string",
        "The type of the secret",
        Cell::Path("type"),
    ),
    col(
        "Data",
        "integer",
        "The number of entries in the secret",
        Cell::Keys(&["data"]),
    ),
    AGE,
];
pub const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    col(
        "Secrets",
        "string",
        "The number of secrets",
        Cell::Len("secrets"),
    ),
    AGE,
];
pub const LEASE: &[Column] = &[
    NAME,
    col(
        "Holder",
        "string",
        "The holder of the lease",
        Cell::Path("spec.holderIdentity"),
    ),
    AGE,
];

pub(super) const TEMPLATE: &str = "spec.template.spec";
pub(super) const WORKLOAD_WIDE: [Column; 3] = [
    wide(
        "Containers",
        "Names of each container in the template.",
        Cell::ContainerNames(TEMPLATE),
    ),
    wide(
        "Images",
        "Images referenced by each container in the template.",
        Cell::ContainerImages(TEMPLATE),
    ),
    wide(
        "Selector",
        "Label selector for pods.",
        Cell::Selector("spec.selector"),
    ),
];

pub const DEPLOYMENT: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "Number of the pod with ready state",
        Cell::Ratio("status.readyReplicas", "spec.replicas"),
    ),
    col(
        "Up-to-date",
        "integer",
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        Cell::Path("status.updatedReplicas"),
    ),
    col(
        "Available",
        "integer",
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        Cell::Path("status.availableReplicas"),
    ),
    AGE,
    WORKLOAD_WIDE[0],
    WORKLOAD_WIDE[1],
    WORKLOAD_WIDE[2],
];

/// ReplicaSets and ReplicationControllers.
pub const REPLICAS: &[Column] = &[
    NAME,
    col(
        "Desired",
        "integer",
        "Number of desired pods.",
        Cell::Path("spec.replicas"),
    ),
    col(
        "Current",
        "integer",
        "Number of actual replicas.",
        Cell::Path("status.replicas"),
    ),
    col(
        "Ready",
        "integer",
        "The number of ready replicas.",
        Cell::Path("status.readyReplicas"),
    ),
    AGE,
    WORKLOAD_WIDE[0],
    WORKLOAD_WIDE[1],
    WORKLOAD_WIDE[2],
];

pub const POD: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "The aggregate readiness state of this pod for accepting traffic.",
        Cell::PodReady,
    ),
    col(
        "Status",
        "string",
        "The aggregate status of the containers in this pod.",
        Cell::PodStatus,
    ),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted.",
        Cell::PodRestarts,
    ),
    AGE,
    wide(
        "IP",
        "IP address allocated to the pod.",
        Cell::PathOrNone("status.podIP"),
    ),
    wide(
        "Node",
        "Name of the node this pod is scheduled on.",
        Cell::PathOrNone("spec.nodeName"),
    ),
];

pub const SERVICE: &[Column] = &[
    NAME,
    text("Type", "The type of service.", "spec.type"),
    col(
        "Cluster-IP",
        "string",
        "The cluster IP of the service.",
        Cell::PathOrNone("spec.clusterIP"),
    ),
    special(
        "External-IP",
        "The external IP of the service.",
        ServiceExternalIp,
    ),
    special("Port(s)", "The ports of the service.", ServicePorts),
    AGE,
    wide(
        "Selector",
        "The label selector of the service.",
        Cell::Pairs("spec.selector"),
    ),
];

pub const ENDPOINTS: &[Column] = &[
    NAME,
    special("Endpoints", "Endpoints of the service.", EndpointAddresses),
    AGE,
];

pub const ENDPOINT_SLICE: &[Column] = &[
    NAME,
    text(
        "AddressType",
        "The type of address of the slice.",
        "addressType",
    ),
    special("Ports", "The ports of the slice.", SlicePorts),
    special(
        "Endpoints",
        "The addresses of the slice's endpoints.",
        SliceEndpoints,
    ),
    AGE,
];

pub const EVENT: &[Column] = &[
    col(
        "Last Seen",
        "string",
        "Time since the last occurrence.",
        Cell::AgeOf("lastTimestamp"),
    ),
    text("Type", "The type of the event.", "type"),
    text("Reason", "The reason of the event.", "reason"),
    special("Object", "The object the event is about.", EventObject),
    text("Message", "The message of the event.", "message"),
];

pub const RESOURCE_QUOTA: &[Column] = &[
    NAME,
    AGE,
    special("Request", "Used and hard request resources.", QuotaRequests),
    special("Limit", "Used and hard limit resources.", QuotaLimits),
];

pub const PERSISTENT_VOLUME: &[Column] = &[
    NAME,
    text(
        "Capacity",
        "The capacity of the volume.",
        "spec.capacity.storage",
    ),
    special(
        "Access Modes",
        "How the volume may be mounted.",
        AccessModes("spec.accessModes"),
    ),
    text(
        "Reclaim Policy",
        "What happens to the volume when released.",
        "spec.persistentVolumeReclaimPolicy",
    ),
    special("Status", "The phase of the volume.", VolumePhase),
    special("Claim", "The claim bound to the volume.", VolumeClaim),
    text(
        "StorageClass",
        "The storage class of the volume.",
        "spec.storageClassName",
    ),
    col(
        "VolumeAttributesClass",
        "string",
        "The volume attributes class.",
        Cell::PathOrUnset("spec.volumeAttributesClassName"),
    ),
    text("Reason", "Why the volume is in its phase.", "status.reason"),
    AGE,
    wide(
        "VolumeMode",
        "The volume mode.",
        Cell::Path("spec.volumeMode"),
    ),
];

pub const PERSISTENT_VOLUME_CLAIM: &[Column] = &[
    NAME,
    special("Status", "The phase of the claim.", VolumePhase),
    text(
        "Volume",
        "The volume bound to the claim.",
        "spec.volumeName",
    ),
    text(
        "Capacity",
        "The capacity of the bound volume.",
        "status.capacity.storage",
    ),
    special(
        "Access Modes",
        "How the volume may be mounted.",
        AccessModes("status.accessModes"),
    ),
    text(
        "StorageClass",
        "The storage class of the claim.",
        "spec.storageClassName",
    ),
    col(
        "VolumeAttributesClass",
        "string",
        "The volume attributes class.",
        Cell::PathOrUnset("spec.volumeAttributesClassName"),
    ),
    AGE,
    wide(
        "VolumeMode",
        "The volume mode.",
        Cell::Path("spec.volumeMode"),
    ),
];

pub const NODE: &[Column] = &[
    NAME,
    special("Status", "The readiness of the node.", NodeStatus),
    special("Roles", "The roles of the node.", NodeRoles),
    AGE,
    text(
        "Version",
        "The kubelet version of the node.",
        "status.nodeInfo.kubeletVersion",
    ),
];

pub const JOB: &[Column] = &[
    NAME,
    special("Status", "The status of the job.", JobStatus),
    special(
        "Completions",
        "The desired number of successfully finished pods.",
        JobCompletions,
    ),
    special("Duration", "Time the job took to complete.", JobDuration),
    AGE,
    WORKLOAD_WIDE[0],
    WORKLOAD_WIDE[1],
    WORKLOAD_WIDE[2],
];

pub const ROLE_BINDING: &[Column] = &[
    NAME,
    col(
        "Role",
        "string",
        "The role the binding grants.",
        Cell::KindName("roleRef"),
    ),
    AGE,
    wide(
        "Users",
        "Users in the binding.",
        Cell::Special(Subjects("User")),
    ),
    wide(
        "Groups",
        "Groups in the binding.",
        Cell::Special(Subjects("Group")),
    ),
    wide(
        "ServiceAccounts",
        "Service accounts in the binding.",
        Cell::Special(Subjects("ServiceAccount")),
    ),
];

pub const WEBHOOK_CONFIGURATION: &[Column] = &[
    NAME,
    col(
        "Webhooks",
        "integer",
        "The number of webhooks.",
        Cell::Len("webhooks"),
    ),
    AGE,
];

pub const ADMISSION_POLICY: &[Column] = &[
    NAME,
    col(
        "Validations",
        "integer",
        "The number of validations.",
        Cell::Len("spec.validations"),
    ),
    col(
        "ParamKind",
        "string",
        "The kind of the parameter resource.",
        Cell::PathOrUnset("spec.paramKind.kind"),
    ),
    AGE,
];

pub const ADMISSION_POLICY_BINDING: &[Column] = &[
    NAME,
    col(
        "PolicyName",
        "string",
        "The policy bound.",
        Cell::Path("spec.policyName"),
    ),
    col(
        "ParamRef",
        "string",
        "The parameter resource's name.",
        Cell::PathOrUnset("spec.paramRef.name"),
    ),
    AGE,
];
