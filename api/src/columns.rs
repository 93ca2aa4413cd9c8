//! Printer columns: what `kubectl get` shows for each kind (the server answers lists and gets
//! as a Table when asked). Cells are computed from the object by the API server.

/// Where a cell's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `metadata.name`.
    Name,
    /// Time since `metadata.creationTimestamp`, as upstream prints durations (`5m`, `2d3h`).
    Age,
    /// The scalar at a dotted path (empty when absent).
    Path(&'static str),
    /// The scalar at a dotted path, `<none>` when absent.
    PathOrNone(&'static str),
    /// The number of keys across these maps (e.g. a ConfigMap's `data` and `binaryData`).
    Keys(&'static [&'static str]),
    /// The length of the list at a dotted path.
    Len(&'static str),
    /// `a/b` from two integer paths (missing counts as 0).
    Ratio(&'static str, &'static str),
    /// Comma-separated names, or images, of the containers of the PodSpec at a path.
    ContainerNames(&'static str),
    ContainerImages(&'static str),
    /// The label selector at a path, in string form.
    Selector(&'static str),
    /// A pod's ready containers over its containers.
    PodReady,
    /// A pod's status reason, else its phase.
    PodStatus,
    /// The sum of a pod's container restart counts.
    PodRestarts,
    /// Time since the timestamp at a path (`<unknown>` when absent).
    AgeOf(&'static str),
    /// The map at a path as `k=v,k2=v2` (`<none>` when empty).
    Pairs(&'static str),
    /// `Kind/name` of the object reference at a path.
    KindName(&'static str),
    /// A field of each element of the list at a path (the elements themselves for ""),
    /// comma-separated (`<none>` when empty).
    Joined(&'static str, &'static str),
    /// The value at a path as compact JSON, `<no value>` when absent.
    JsonOrNoValue(&'static str),
    /// The value of an annotation (keys hold dots, so not a path).
    Annotation(&'static str),
    /// The scalar at a dotted path, `<unset>` when absent.
    PathOrUnset(&'static str),
    /// A cell computed by kind-specific rules.
    Special(Special),
}

/// Cells with kind-specific rules, as upstream's printers compute them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    ServiceExternalIp,
    ServicePorts,
    EndpointAddresses,
    /// `kind/name` of an event's object, the kind in lower case.
    EventObject,
    /// `namespace/name` of a volume's claim.
    VolumeClaim,
    /// Access modes at a path in short form (`RWO,ROX`).
    AccessModes(&'static str),
    /// `resource: used/hard` of a quota's request (or limit) resources.
    QuotaRequests,
    QuotaLimits,
    NodeStatus,
    NodeRoles,
    JobStatus,
    JobCompletions,
    JobDuration,
    /// Names of a binding's subjects of one kind (`User`, `Group`, `ServiceAccount`).
    Subjects(&'static str),
    RouteHost,
    RouteServices,
    RouteTermination,
    TemplateParameters,
    DeploymentConfigTriggers,
    /// A build's source type (`Git`, `Dockerfile`, `Binary`...) at a path.
    BuildFrom(&'static str),
    BuildDuration,
    ImageStreamRepository,
    ImageStreamUpdated,
}

use Special::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// OpenAPI type of the cell: `string` or `integer`.
    pub kind: &'static str,
    /// OpenAPI format (`name` for the name column).
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for default columns, 1 for those shown only with `-o wide`.
    pub priority: u8,
    pub cell: Cell,
}

const fn col(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    cell: Cell,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        description,
        priority: 0,
        cell,
    }
}

const fn wide(name: &'static str, description: &'static str, cell: Cell) -> Column {
    Column {
        name,
        kind: "string",
        format: "",
        description,
        priority: 1,
        cell,
    }
}

pub const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
    cell: Cell::Name,
};
pub const AGE: Column = col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
    Cell::Age,
);

/// Columns of kinds that define none.
pub const DEFAULT: &[Column] = &[NAME, AGE];

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

const TEMPLATE: &str = "spec.template.spec";
const WORKLOAD_WIDE: [Column; 3] = [
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

const fn special(name: &'static str, description: &'static str, s: Special) -> Column {
    col(name, "string", description, Cell::Special(s))
}

const fn text(name: &'static str, description: &'static str, path: &'static str) -> Column {
    col(name, "string", description, Cell::Path(path))
}

pub const CREATED_AT: Column = col(
    "Created At",
    "date",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
    Cell::Path("metadata.creationTimestamp"),
);

/// Kinds upstream prints with their creation time only (roles, limit ranges).
pub const CREATED: &[Column] = &[NAME, CREATED_AT];

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
    text("Status", "The phase of the volume.", "status.phase"),
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
    text("Status", "The phase of the claim.", "status.phase"),
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

pub const IMAGE_STREAM: &[Column] = &[
    NAME,
    special(
        "Image Repository",
        "Where the stream's images are pushed and pulled.",
        ImageStreamRepository,
    ),
    col(
        "Tags",
        "string",
        "The stream's tags.",
        Cell::Joined("status.tags", "tag"),
    ),
    special(
        "Updated",
        "When the stream last changed.",
        ImageStreamUpdated,
    ),
];

pub const IMAGE: &[Column] = &[
    NAME,
    text(
        "Image Reference",
        "The image's pull spec.",
        "dockerImageReference",
    ),
];

pub const DEPLOYMENT_CONFIG: &[Column] = &[
    NAME,
    col(
        "Revision",
        "integer",
        "The latest revision.",
        Cell::Path("status.latestVersion"),
    ),
    col(
        "Desired",
        "integer",
        "The desired replicas.",
        Cell::Path("spec.replicas"),
    ),
    col(
        "Current",
        "integer",
        "The current replicas.",
        Cell::Path("status.replicas"),
    ),
    special(
        "Triggered By",
        "What starts a new revision.",
        DeploymentConfigTriggers,
    ),
];

pub const BUILD_CONFIG: &[Column] = &[
    NAME,
    text("Type", "The build strategy.", "spec.strategy.type"),
    special("From", "The source of the build.", BuildFrom("spec.source")),
    col(
        "Latest",
        "integer",
        "The latest build number.",
        Cell::Path("status.lastVersion"),
    ),
];

pub const BUILD: &[Column] = &[
    NAME,
    text("Type", "The build strategy.", "spec.strategy.type"),
    special("From", "The source of the build.", BuildFrom("spec.source")),
    text("Status", "The phase of the build.", "status.phase"),
    col(
        "Started",
        "string",
        "When the build started.",
        Cell::AgeOf("status.startTimestamp"),
    ),
    special("Duration", "How long the build ran.", BuildDuration),
];

pub const ROUTE: &[Column] = &[
    NAME,
    special("Host/Port", "The host the route serves.", RouteHost),
    text("Path", "The path the route serves.", "spec.path"),
    special(
        "Services",
        "The services the route sends traffic to.",
        RouteServices,
    ),
    text("Port", "The target port.", "spec.port.targetPort"),
    special("Termination", "TLS termination.", RouteTermination),
    text("Wildcard", "The wildcard policy.", "spec.wildcardPolicy"),
];

pub const OPENSHIFT_TEMPLATE: &[Column] = &[
    NAME,
    text(
        "Description",
        "The template's description.",
        "metadata.annotations.description",
    ),
    special(
        "Parameters",
        "The template's parameters.",
        TemplateParameters,
    ),
    col(
        "Objects",
        "integer",
        "The number of objects.",
        Cell::Len("objects"),
    ),
];

pub const SECURITY_CONTEXT_CONSTRAINTS: &[Column] = &[
    NAME,
    text(
        "Priv",
        "Whether privileged containers are allowed.",
        "allowPrivilegedContainer",
    ),
    col(
        "Caps",
        "string",
        "Capabilities that may be added.",
        Cell::JsonOrNoValue("allowedCapabilities"),
    ),
    text(
        "SELinux",
        "The SELinux context strategy.",
        "seLinuxContext.type",
    ),
    text("RunAsUser", "The user ID strategy.", "runAsUser.type"),
    text("FSGroup", "The fs group strategy.", "fsGroup.type"),
    text(
        "SupGroup",
        "The supplemental groups strategy.",
        "supplementalGroups.type",
    ),
    col(
        "Priority",
        "string",
        "The priority of the constraints.",
        Cell::JsonOrNoValue("priority"),
    ),
    text(
        "ReadOnlyRootFS",
        "Whether the root filesystem must be read-only.",
        "readOnlyRootFilesystem",
    ),
    col(
        "Volumes",
        "string",
        "The volume types allowed.",
        Cell::JsonOrNoValue("volumes"),
    ),
];

pub const PROJECT: &[Column] = &[
    NAME,
    col(
        "Display Name",
        "string",
        "The project's display name.",
        Cell::Annotation("openshift.io/display-name"),
    ),
    text("Status", "The status of the project.", "status.phase"),
];

pub const USER: &[Column] = &[
    NAME,
    text("UID", "The user's uid.", "metadata.uid"),
    text("Full Name", "The user's full name.", "fullName"),
    col(
        "Identities",
        "string",
        "The user's identities.",
        Cell::Joined("identities", ""),
    ),
];

pub const IDENTITY: &[Column] = &[
    NAME,
    text("IDP Name", "The identity provider.", "providerName"),
    text(
        "IDP User Name",
        "The user's name at the provider.",
        "providerUserName",
    ),
    text("User Name", "The user the identity maps to.", "user.name"),
    text("User UID", "The uid of that user.", "user.uid"),
];

pub const GROUP: &[Column] = &[
    NAME,
    col(
        "Users",
        "string",
        "The group's members.",
        Cell::Joined("users", ""),
    ),
];

pub const OAUTH_ACCESS_TOKEN: &[Column] = &[
    NAME,
    text("User Name", "The user the token stands for.", "userName"),
    USER_OAUTH_ACCESS_TOKEN[1],
    USER_OAUTH_ACCESS_TOKEN[2],
    USER_OAUTH_ACCESS_TOKEN[3],
    USER_OAUTH_ACCESS_TOKEN[4],
];

pub const USER_OAUTH_ACCESS_TOKEN: &[Column] = &[
    NAME,
    text(
        "Client Name",
        "The client the token was issued to.",
        "clientName",
    ),
    text(
        "Created",
        "When the token was issued.",
        "metadata.creationTimestamp",
    ),
    text(
        "Redirect URI",
        "Where the token was delivered.",
        "redirectURI",
    ),
    col(
        "Scopes",
        "string",
        "What the token may do.",
        Cell::Joined("scopes", ""),
    ),
];
