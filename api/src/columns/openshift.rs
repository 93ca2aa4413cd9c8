//! The OpenShift kinds' columns, as `oc get` prints them.

use super::column::Special::*;
use super::column::{Cell, Column, NAME, col, special, text, wide};

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

pub const IMAGE_STREAM_TAG: &[Column] = &[
    NAME,
    text(
        "Image Reference",
        "The pull spec of the tag's image.",
        "image.dockerImageReference",
    ),
    special("Updated", "When the tag last changed.", CreatedAgo),
    wide(
        "Image Name",
        "The image's name.",
        Cell::Path("image.metadata.name"),
    ),
];

pub const IMAGE_STREAM_IMAGE: &[Column] = &[
    NAME,
    special("Updated", "When the image was created.", CreatedAgo),
    wide(
        "Image Reference",
        "The image's pull spec.",
        Cell::Path("image.dockerImageReference"),
    ),
    wide(
        "Image Name",
        "The image's name.",
        Cell::Path("image.metadata.name"),
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
        Cell::Path("status.updatedReplicas"),
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
    special("Port", "The target port.", RoutePort),
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

/// AppliedClusterResourceQuotas, as openshift-apiserver prints them.
pub const APPLIED_CLUSTER_RESOURCE_QUOTA: &[Column] = &[
    NAME,
    col(
        "Labels Selector",
        "string",
        "The label selector of the projects the quota selects.",
        Cell::Selector("spec.selector.labels"),
    ),
    special(
        "Annotations Selector",
        "The annotations the projects the quota selects carry.",
        AnnotationSelector,
    ),
];
