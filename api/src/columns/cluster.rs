//! Columns of the networking, scheduling, runtime, storage, flow-control and certificate kinds, as
//! upstream's printers define them (kube 1.32).

use super::column::Special::*;
use super::column::{AGE, Cell, Column, NAME, col, special, text};

pub const INGRESS: &[Column] = &[
    NAME,
    col(
        "Class",
        "string",
        "The name of the IngressClass resource that should be used for additional configuration",
        Cell::PathOr("spec.ingressClassName", "<none>"),
    ),
    special(
        "Hosts",
        "Hosts that incoming requests are matched against before the ingress rule",
        IngressHosts,
    ),
    special(
        "Address",
        "Address is a list containing ingress points for the load-balancer",
        IngressAddress,
    ),
    special(
        "Ports",
        "Ports of TLS configurations that open",
        IngressPorts,
    ),
    AGE,
];

pub const INGRESS_CLASS: &[Column] = &[
    NAME,
    text(
        "Controller",
        "Controller that is responsible for handling this class",
        "spec.controller",
    ),
    special(
        "Parameters",
        "A reference to a resource with additional parameters",
        IngressClassParameters,
    ),
    AGE,
];

pub const NETWORK_POLICY: &[Column] = &[
    NAME,
    col(
        "Pod-Selector",
        "string",
        "The pods the policy applies to.",
        Cell::Selector("spec.podSelector"),
    ),
    AGE,
];

pub const PRIORITY_CLASS: &[Column] = &[
    NAME,
    col(
        "Value",
        "integer",
        "The priority of pods using this class.",
        Cell::Int("value"),
    ),
    col(
        "Global-Default",
        "boolean",
        "Whether pods without a priority class get this one.",
        Cell::Bool("globalDefault", false),
    ),
    AGE,
    text(
        "PreemptionPolicy",
        "Whether pods of this class preempt lower-priority pods.",
        "preemptionPolicy",
    ),
];

pub const RUNTIME_CLASS: &[Column] = &[
    NAME,
    text("Handler", "The CRI handler of this class.", "handler"),
    AGE,
];

pub const STORAGE_CLASS: &[Column] = &[
    NAME.with_cell(Cell::Special(StorageClassName)),
    text(
        "Provisioner",
        "The provisioner of volumes of this class.",
        "provisioner",
    ),
    col(
        "ReclaimPolicy",
        "string",
        "What happens to released volumes of this class.",
        Cell::PathOr("reclaimPolicy", "Delete"),
    ),
    col(
        "VolumeBindingMode",
        "string",
        "When claims of this class are bound.",
        Cell::PathOr("volumeBindingMode", "Immediate"),
    ),
    col(
        "AllowVolumeExpansion",
        "string",
        "Whether volumes of this class may be expanded.",
        Cell::Bool("allowVolumeExpansion", false),
    ),
    AGE,
];

pub const CSI_DRIVER: &[Column] = &[
    NAME,
    col(
        "AttachRequired",
        "boolean",
        "Whether the driver needs an attach operation.",
        Cell::Bool("spec.attachRequired", true),
    ),
    col(
        "PodInfoOnMount",
        "boolean",
        "Whether the driver gets pod information on mount.",
        Cell::Bool("spec.podInfoOnMount", false),
    ),
    col(
        "StorageCapacity",
        "boolean",
        "Whether the driver reports storage capacity.",
        Cell::Bool("spec.storageCapacity", false),
    ),
    special(
        "TokenRequests",
        "The audiences of the tokens the driver receives.",
        CsiTokenRequests,
    ),
    col(
        "RequiresRepublish",
        "boolean",
        "Whether volumes are published again periodically.",
        Cell::Bool("spec.requiresRepublish", false),
    ),
    special("Modes", "The volume lifecycle modes supported.", CsiModes),
    AGE,
];

pub const CSI_NODE: &[Column] = &[
    NAME,
    col(
        "Drivers",
        "integer",
        "Drivers indicates the number of CSI drivers registered on the node",
        Cell::Len("spec.drivers"),
    ),
    AGE,
];

pub const CSI_STORAGE_CAPACITY: &[Column] = &[
    NAME,
    text(
        "StorageClassName",
        "The storage class the capacity is for.",
        "storageClassName",
    ),
    col(
        "Capacity",
        "string",
        "The capacity available.",
        Cell::PathOr("capacity", "<unset>"),
    ),
];

pub const VOLUME_ATTACHMENT: &[Column] = &[
    NAME,
    Column {
        format: "name",
        ..text(
            "Attacher",
            "The volume driver that attaches.",
            "spec.attacher",
        )
    },
    text(
        "PV",
        "The persistent volume attached.",
        "spec.source.persistentVolumeName",
    ),
    text("Node", "The node attached to.", "spec.nodeName"),
    col(
        "Attached",
        "boolean",
        "Whether the volume is attached.",
        Cell::Bool("status.attached", false),
    ),
    AGE,
];

pub const FLOW_SCHEMA: &[Column] = &[
    NAME,
    text(
        "PriorityLevel",
        "The priority level of matching requests.",
        "spec.priorityLevelConfiguration.name",
    ),
    col(
        "MatchingPrecedence",
        "string",
        "The order in which flow schemas are matched.",
        Cell::Int("spec.matchingPrecedence"),
    ),
    col(
        "DistinguisherMethod",
        "string",
        "How matching requests are split into flows.",
        Cell::PathOr("spec.distinguisherMethod.type", "<none>"),
    ),
    AGE,
    special(
        "MissingPL",
        "references a broken or non-existent PriorityLevelConfiguration",
        FlowSchemaDangling,
    ),
];

pub const PRIORITY_LEVEL_CONFIGURATION: &[Column] = &[
    NAME,
    text(
        "Type",
        "Whether the level is limited or exempt.",
        "spec.type",
    ),
    col(
        "NominalConcurrencyShares",
        "string",
        "The level's share of the server's concurrency.",
        Cell::PathOrNone("spec.limited.nominalConcurrencyShares"),
    ),
    col(
        "Queues",
        "string",
        "The number of queues.",
        Cell::PathOrNone("spec.limited.limitResponse.queuing.queues"),
    ),
    col(
        "HandSize",
        "string",
        "The number of queues a flow is shuffled to.",
        Cell::PathOrNone("spec.limited.limitResponse.queuing.handSize"),
    ),
    col(
        "QueueLengthLimit",
        "string",
        "The most requests a queue may hold.",
        Cell::PathOrNone("spec.limited.limitResponse.queuing.queueLengthLimit"),
    ),
    AGE,
];

pub const CERTIFICATE_SIGNING_REQUEST: &[Column] = &[
    NAME,
    AGE,
    col(
        "SignerName",
        "string",
        "signerName indicates the requested signer, and is a qualified name.",
        Cell::PathOrNone("spec.signerName"),
    ),
    text(
        "Requestor",
        "request contains an x509 certificate signing request encoded in a \"CERTIFICATE REQUEST\" PEM block.",
        "spec.username",
    ),
    special(
        "RequestedDuration",
        "expirationSeconds is the requested duration of validity of the issued certificate.",
        CsrRequestedDuration,
    ),
    special(
        "Condition",
        "conditions applied to the request. Known conditions are \"Approved\", \"Denied\", and \"Failed\".",
        CsrCondition,
    ),
];

pub const API_SERVICE: &[Column] = &[
    NAME,
    special(
        "Service",
        "The reference to the service that hosts this API endpoint.",
        ApiServiceService,
    ),
    special(
        "Available",
        "Whether this service is available.",
        ApiServiceAvailable,
    ),
    AGE,
];
