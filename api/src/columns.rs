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
}

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
