//! Columns of the workload kinds beyond deployments and jobs, and of the kinds that budget or
//! scale them, as upstream's printers define them (kube 1.32).

use super::column::Special::*;
use super::column::{AGE, Cell, Column, NAME, col, special, text, wide};
use super::kubernetes::WORKLOAD_WIDE;

const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

pub const POD_TEMPLATE: &[Column] = &[
    NAME,
    col(
        "Containers",
        "string",
        CONTAINERS,
        Cell::ContainerNames("template.spec"),
    ),
    col(
        "Images",
        "string",
        IMAGES,
        Cell::ContainerImages("template.spec"),
    ),
    col(
        "Pod Labels",
        "string",
        "The labels for the pod template.",
        Cell::Pairs("template.metadata.labels"),
    ),
];

pub const STATEFUL_SET: &[Column] = &[
    NAME,
    col(
        "Ready",
        "string",
        "Number of the pod with ready state",
        Cell::Ratio("status.readyReplicas", "spec.replicas"),
    ),
    AGE,
    WORKLOAD_WIDE[0],
    WORKLOAD_WIDE[1],
];

/// An integer cell (0 when absent) of a column declared as `integer`.
const fn count(name: &'static str, description: &'static str, path: &'static str) -> Column {
    col(name, "integer", description, Cell::Int(path))
}

/// An integer cell (0 when absent) of a column upstream declares as `string`.
const fn number(name: &'static str, description: &'static str, path: &'static str) -> Column {
    col(name, "string", description, Cell::Int(path))
}

pub const DAEMON_SET: &[Column] = &[
    NAME,
    count(
        "Desired",
        "The number of nodes that should be running the daemon pod.",
        "status.desiredNumberScheduled",
    ),
    count(
        "Current",
        "The number of nodes running at least one daemon pod and that are supposed to.",
        "status.currentNumberScheduled",
    ),
    count(
        "Ready",
        "The number of nodes running the daemon pod with a Ready condition.",
        "status.numberReady",
    ),
    count(
        "Up-to-date",
        "The number of nodes running the updated daemon pod.",
        "status.updatedNumberScheduled",
    ),
    count(
        "Available",
        "The number of nodes running the daemon pod available for minReadySeconds.",
        "status.numberAvailable",
    ),
    col(
        "Node Selector",
        "string",
        "The node labels the daemon pods must match.",
        Cell::Pairs("spec.template.spec.nodeSelector"),
    ),
    AGE,
    WORKLOAD_WIDE[0],
    WORKLOAD_WIDE[1],
    WORKLOAD_WIDE[2],
];

pub const CONTROLLER_REVISION: &[Column] = &[
    NAME,
    special("Controller", "Controller of the object", ControllerOf),
    col(
        "Revision",
        "string",
        "The revision of the state.",
        Cell::Int("revision"),
    ),
    AGE,
];

const JOB_TEMPLATE: &str = "spec.jobTemplate.spec.template.spec";

pub const CRON_JOB: &[Column] = &[
    NAME,
    text("Schedule", "The schedule in Cron format.", "spec.schedule"),
    col(
        "Timezone",
        "string",
        "The time zone of the schedule.",
        Cell::PathOr("spec.timeZone", "<none>"),
    ),
    col(
        "Suspend",
        "boolean",
        "Whether later executions are suspended.",
        Cell::BoolText("spec.suspend"),
    ),
    col(
        "Active",
        "integer",
        "The currently running jobs.",
        Cell::Len("status.active"),
    ),
    col(
        "Last Schedule",
        "string",
        "When the job was last successfully scheduled.",
        Cell::SinceOrNone("status.lastScheduleTime"),
    ),
    AGE,
    wide("Containers", CONTAINERS, Cell::ContainerNames(JOB_TEMPLATE)),
    wide("Images", IMAGES, Cell::ContainerImages(JOB_TEMPLATE)),
    wide(
        "Selector",
        "Label selector for the job's pods.",
        Cell::Selector("spec.jobTemplate.spec.selector"),
    ),
];

pub const POD_DISRUPTION_BUDGET: &[Column] = &[
    NAME,
    col(
        "Min Available",
        "string",
        "The minimum number of pods that must be available.",
        Cell::PathOr("spec.minAvailable", "N/A"),
    ),
    col(
        "Max Unavailable",
        "string",
        "The maximum number of pods that may be unavailable.",
        Cell::PathOr("spec.maxUnavailable", "N/A"),
    ),
    count(
        "Allowed Disruptions",
        "Calculated number of pods that may be disrupted at this time.",
        "status.disruptionsAllowed",
    ),
    AGE,
];

pub const HORIZONTAL_POD_AUTOSCALER: &[Column] = &[
    NAME,
    col(
        "Reference",
        "string",
        "The scaled resource.",
        Cell::KindName("spec.scaleTargetRef"),
    ),
    special("Targets", "The metrics and their targets.", HpaTargets),
    col(
        "MinPods",
        "string",
        "The lower limit of replicas.",
        Cell::PathOr("spec.minReplicas", "<unset>"),
    ),
    number(
        "MaxPods",
        "The upper limit of replicas.",
        "spec.maxReplicas",
    ),
    number(
        "Replicas",
        "The current number of replicas.",
        "status.currentReplicas",
    ),
    AGE,
];
