//! `oc describe (TYPE [NAME_PREFIX] | TYPE/NAME) [-l SELECTOR]`: each object as kubectl
//! describes it — a describer of its own for the kinds that have one (kubectl's in
//! `describe/kinds.rs` and `describe/workloads.rs`, `oc`'s in `describe/openshift.rs` and
//! `describe/builds.rs`), else
//! every field under readable labels — followed by the events about it.

mod builds;
mod certificates;
pub(crate) use builds::go_duration;
mod container_state;
mod events;
mod image;
mod kinds;
mod node;
mod openshift;
mod pod;
mod pod_template;
pub(crate) use pod_template::describe as describe_pod_template;
mod storage;
mod text;
mod workloads;

use serde_json::Value;

use super::Globals;
use crate::client::{Session, encode, session};
use crate::discovery;
use crate::error::CliError;
use crate::objects::{self, Target};
use crate::printers::tabwriter;

#[derive(Debug, Default, clap::Args)]
pub struct DescribeArgs {
    /// TYPE [NAME_PREFIX], or TYPE/NAME.
    #[arg(required = true)]
    pub words: Vec<String>,
    /// Selector (label query) to filter on.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    /// List the requested objects across all namespaces.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    /// If true, display events related to the described object.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub show_events: bool,
}

/// The objects to describe: those named, else those of the type whose names start with the
/// prefix (all without one), as kubectl selects them; and whether they were found by the
/// prefix, which kubectl prints each followed by an empty line rather than between them.
async fn targets(s: &Session, a: &DescribeArgs) -> Result<(Vec<(Target, Value)>, bool), CliError> {
    let kinds = objects::words(&a.words)?.kinds;
    if kinds.is_empty() {
        let mut out = Vec::new();
        for t in objects::named(s, &a.words).await? {
            let obj = s.get(&t.path()).await?;
            out.push((t, obj));
        }
        return Ok((out, false));
    }
    let mut by_prefix = false;
    let prefix = a.words.get(1).cloned().unwrap_or_default();
    let mut out = Vec::new();
    for kind in kinds {
        let r = discovery::resolve(s, &kind).await?;
        let namespace = (r.namespaced && !a.all_namespaces).then(|| s.namespace.clone());
        let query = match &a.selector {
            Some(sel) => format!("?labelSelector={}", encode(sel)),
            None => String::new(),
        };
        // A full name is fetched directly; when nothing starts with it either, the error of
        // that fetch is the answer, as upstream's.
        let mut missing = None;
        if !prefix.is_empty() {
            let t = Target {
                resource: r.clone(),
                namespace: namespace.clone(),
                name: prefix.clone(),
            };
            match s.get(&t.path()).await {
                Ok(obj) => {
                    out.push((t, obj));
                    continue;
                }
                Err(e) => {
                    missing = Some(e);
                    by_prefix = true;
                }
            }
        }
        let list = s
            .get(&format!("{}{query}", r.path(namespace.as_deref())))
            .await?;
        for item in list["items"].as_array().into_iter().flatten() {
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            if !name.starts_with(&prefix) {
                continue;
            }
            let mut obj = item.clone();
            obj["apiVersion"] = Value::String(r.group_version());
            obj["kind"] = Value::String(r.kind.clone());
            let t = Target {
                resource: r.clone(),
                namespace: item["metadata"]["namespace"].as_str().map(str::to_string),
                name: name.to_string(),
            };
            out.push((t, obj));
        }
        if out.is_empty()
            && let Some(e) = missing
        {
            return Err(e);
        }
    }
    Ok((out, by_prefix))
}

pub async fn describe(g: &Globals, a: &DescribeArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let (targets, by_prefix) = targets(&s, a).await?;
    if targets.is_empty() {
        match a.all_namespaces {
            true => eprintln!("No resources found"),
            false => eprintln!("No resources found in {} namespace.", s.namespace),
        }
        return Ok(());
    }
    let mut first = true;
    for (t, obj) in targets {
        let mut out = description(&s, &t, &obj).await;
        if a.show_events && has_events(&t.resource.kind) {
            match (t.resource.group.as_str(), t.resource.kind.as_str()) {
                ("", "Node") => out.push_str(&events::about_node(&s, &obj).await),
                _ => out.push_str(&events::about(&s, &obj).await),
            }
        }
        if !first && !by_prefix {
            print!("\n\n");
        }
        first = false;
        match oc_style(&t.resource.kind) {
            true => print!("{}", tabwriter::format_tabs(&out)),
            false => print!("{}", tabwriter::format(&out)),
        }
        if by_prefix {
            println!();
        }
    }
    Ok(())
}

/// Whether kubectl lists events after this kind's description.
fn has_events(kind: &str) -> bool {
    !matches!(
        kind,
        "Secret"
            | "Namespace"
            | "Project"
            | "ImageStream"
            | "ImageStreamTag"
            | "ImageStreamImage"
            | "Image"
            | "Route"
            | "Role"
            | "ClusterRole"
            | "RoleBinding"
            | "ClusterRoleBinding"
            | "ResourceQuota"
            | "ClusterResourceQuota"
            | "AppliedClusterResourceQuota"
    )
}

/// Whether the description is `oc`'s own (aligned with tabs) rather than kubectl's.
fn oc_style(kind: &str) -> bool {
    matches!(
        kind,
        "Project"
            | "ImageStream"
            | "ImageStreamTag"
            | "ImageStreamImage"
            | "Image"
            | "Route"
            | "DeploymentConfig"
            | "BuildConfig"
            | "Build"
            | "ClusterResourceQuota"
            | "AppliedClusterResourceQuota"
    )
}

/// The description of one object, by the describer of its kind.
async fn description(s: &Session, t: &Target, obj: &Value) -> String {
    let mut out = String::new();
    match (t.resource.group.as_str(), t.resource.kind.as_str()) {
        ("", "ConfigMap") => kinds::config_map(&mut out, obj),
        ("certificates.k8s.io", "CertificateSigningRequest") => {
            certificates::certificate_signing_request(&mut out, obj)
        }
        ("", "Secret") => kinds::secret(&mut out, obj),
        ("", "Namespace") => kinds::namespace(&mut out, s, obj).await,
        ("project.openshift.io", "Project") => openshift::project(&mut out, s, obj).await,
        ("image.openshift.io", "ImageStream") => openshift::image_stream(&mut out, obj),
        ("image.openshift.io", "ImageStreamTag" | "ImageStreamImage") => {
            image::image(&mut out, &obj["image"], str_of_name(&obj["image"]))
        }
        ("image.openshift.io", "Image") => image::image(&mut out, obj, ""),
        ("route.openshift.io", "Route") => openshift::route(&mut out, s, obj).await,
        ("apps.openshift.io", "DeploymentConfig") => {
            openshift::deployment_config(&mut out, s, obj).await
        }
        ("build.openshift.io", "BuildConfig") => builds::build_config(&mut out, s, obj).await,
        ("build.openshift.io", "Build") => builds::build(&mut out, obj),
        ("", "Pod") => pod::pod(&mut out, obj),
        ("", "Node") => node::node(&mut out, s, obj).await,
        ("", "ServiceAccount") => kinds::service_account(&mut out, obj),
        ("", "ResourceQuota") => kinds::resource_quota(&mut out, obj),
        ("quota.openshift.io", "ClusterResourceQuota" | "AppliedClusterResourceQuota") => {
            openshift::cluster_quota(&mut out, obj)
        }
        ("", "PersistentVolume") => storage::persistent_volume(&mut out, obj),
        ("", "PersistentVolumeClaim") => storage::persistent_volume_claim(&mut out, s, obj).await,
        ("", "Service") => workloads::service(&mut out, s, obj).await,
        ("apps", "Deployment") => workloads::deployment(&mut out, s, obj).await,
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => kinds::role(&mut out, obj),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            kinds::binding(&mut out, obj)
        }
        _ => kinds::generic(&mut out, obj),
    }
    out
}

/// The name of an object's image.
fn str_of_name(image: &Value) -> &str {
    image["metadata"]["name"].as_str().unwrap_or_default()
}

/// An image stream described as `oc describe is` prints it (for `oc import-image`).
pub fn image_stream_text(is: &Value) -> String {
    let mut out = String::new();
    openshift::image_stream(&mut out, is);
    tabwriter::format_tabs(&out)
}
