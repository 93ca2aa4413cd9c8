//! What a printer column is: its header, its OpenAPI type, and where its cells come from;
//! the builders the kinds' tables are written with, and the columns every kind shares.

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
    /// The scalar at a dotted path, this text when absent.
    PathOr(&'static str, &'static str),
    /// The integer at a dotted path, 0 when absent.
    Int(&'static str),
    /// The boolean at a dotted path, this default when absent.
    Bool(&'static str, bool),
    /// An optional boolean as Go's printers print one: `True`, `False` or `<unset>`.
    BoolText(&'static str),
    /// Time since the timestamp at a path, `<none>` when absent.
    SinceOrNone(&'static str),
    /// A cell computed by kind-specific rules.
    Special(Special),
}

/// Cells with kind-specific rules, as upstream's printers compute them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    ServiceExternalIp,
    ServicePorts,
    EndpointAddresses,
    /// The ports of an EndpointSlice (numbers, or names), three at most and `+ N more...`.
    SlicePorts,
    /// The addresses of an EndpointSlice's endpoints, likewise.
    SliceEndpoints,
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
    RoutePort,
    RouteTermination,
    TemplateParameters,
    DeploymentConfigTriggers,
    /// A build's source type (`Git`, `Dockerfile`, `Binary`...) at a path.
    BuildFrom(&'static str),
    BuildDuration,
    ImageStreamRepository,
    ImageStreamUpdated,
    /// How long ago the object was created, as the image kinds print it.
    CreatedAgo,
    /// `kind.group/name` of the controller owner reference, in lower case.
    ControllerOf,
    IngressHosts,
    IngressAddress,
    IngressPorts,
    /// `Kind.group/name` of an IngressClass's parameters.
    IngressClassParameters,
    /// An autoscaler's metrics: `cpu: 20%/80%`, the current value `<unknown>` until measured.
    HpaTargets,
    /// A storage class's name, with ` (default)` when it is the default class.
    StorageClassName,
    /// A volume's or claim's phase, `Terminating` once it is being deleted.
    VolumePhase,
    CsiTokenRequests,
    CsiModes,
    /// The status of a flow schema's `Dangling` condition, `?` without one.
    FlowSchemaDangling,
    /// An APIService's service as `namespace/name`, `Local` without one.
    ApiServiceService,
    /// An APIService's `Available` status, with its reason unless `True`.
    ApiServiceAvailable,
    /// A cluster quota's `spec.selector.annotations` as Go prints a map (`map[k:v]`).
    AnnotationSelector,
    /// A certificate signing request's `spec.expirationSeconds` as a duration (`<none>`).
    CsrRequestedDuration,
    /// A certificate signing request's state: `Denied`, `Approved` or `Pending`, then
    /// `,Failed` and `,Issued`.
    CsrCondition,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    /// OpenAPI type of the cell: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    /// OpenAPI format (`name` for the name column).
    pub format: &'static str,
    pub description: &'static str,
    /// 0 for default columns, 1 for those shown only with `-o wide`.
    pub priority: u8,
    pub cell: Cell,
}

impl Column {
    /// The same column with its cells from elsewhere.
    pub const fn with_cell(mut self, cell: Cell) -> Column {
        self.cell = cell;
        self
    }
}

pub(super) const fn col(
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

pub(super) const fn wide(name: &'static str, description: &'static str, cell: Cell) -> Column {
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

pub(super) const fn special(name: &'static str, description: &'static str, s: Special) -> Column {
    col(name, "string", description, Cell::Special(s))
}

pub(super) const fn text(
    name: &'static str,
    description: &'static str,
    path: &'static str,
) -> Column {
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
