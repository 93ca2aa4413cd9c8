//! `oc create -f`, `oc replace -f` and `oc delete`: objects from manifests created or
//! replaced through the API, and objects deleted by name, by manifest, by label or all of a
//! type, with kubectl's lines (`configmap/a created`, `configmap/a replaced`,
//! `configmap "a" deleted`).

use http::Method;
use serde_json::{Value, json};

use super::Globals;
use crate::client::{Session, send, session};
use crate::discovery::{self, Resource};
use crate::error::CliError;
use crate::manifests;
use crate::objects::{self, Target};

/// The resource of an object's `apiVersion` and `kind`.
pub(super) async fn resource_of(s: &Session, obj: &Value) -> Result<Resource, CliError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    for refresh in [false, true] {
        let all = discovery::resources(s, refresh).await?;
        if let Some(r) = all
            .iter()
            .find(|r| r.group == group && r.kind == kind && !r.plural.contains('/'))
        {
            let mut r = r.clone();
            r.version = version.to_string();
            return Ok(r);
        }
    }
    Err(CliError::msg(format!(
        "resource mapping not found for name: {:?} namespace: {:?} from {:?}: no matches for kind {kind:?} in version {api_version:?}\nensure CRDs are installed first",
        obj["metadata"]["name"].as_str().unwrap_or_default(),
        obj["metadata"]["namespace"].as_str().unwrap_or_default(),
        api_version
    )))
}

/// The namespace an object goes to: its own, else the session's.
pub(super) fn namespace_of<'a>(s: &'a Session, r: &Resource, obj: &'a Value) -> Option<&'a str> {
    r.namespaced.then(|| {
        obj["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(&s.namespace)
    })
}

/// An error of one object of a file, as kubectl words it.
pub(super) fn when(verb: &str, source: &str, e: CliError) -> CliError {
    match e {
        CliError::Server { reason, message } => CliError::Server {
            reason,
            message: format!("error when {verb} \"{source}\": {message}"),
        },
        other => other,
    }
}

#[derive(Debug, Default, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CreateArgs {
    #[command(subcommand)]
    pub what: Option<CreateCommand>,
    /// Files, directories or `-` (stdin) with the objects to create.
    #[arg(long = "filename", short = 'f')]
    pub filenames: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(long, short = 'R')]
    pub recursive: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum CreateCommand {
    /// Request a service account token.
    Token(super::token::TokenArgs),
    /// Create a cluster resource quota.
    #[command(name = "clusterresourcequota", alias = "clusterquota")]
    ClusterResourceQuota(super::create_cluster_quota::ClusterQuotaArgs),
    /// Create a deployment with the specified name.
    Deployment(super::create_deployment::DeploymentArgs),
    /// Expose containers externally via secured routes.
    #[command(subcommand)]
    Route(super::create_route::RouteCommand),
}

#[derive(Debug, Default, clap::Args)]
pub struct ReplaceArgs {
    #[command(flatten)]
    pub files: FileArgs,
    /// Delete and re-create the resource.
    #[arg(long)]
    pub force: bool,
}

/// Runs `step` on each object of the manifests, `doing` naming the verb in errors; as
/// kubectl, the errors come after the results, and any error makes the exit code 1.
pub(super) async fn each_manifest(
    a: &FileArgs,
    doing: &str,
    mut step: impl AsyncFnMut(&manifests::Manifest) -> Result<(), CliError>,
) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for m in manifests::read(&a.filenames, a.recursive)? {
        if let Err(e) = step(&m).await {
            errors.push(when(doing, &m.source, e));
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    match errors.is_empty() {
        true => Ok(()),
        // Each failure was printed; the exit code says there were some.
        false => Err(CliError::Silent),
    }
}

pub async fn create(g: &Globals, a: &CreateArgs) -> Result<(), CliError> {
    match &a.what {
        Some(CreateCommand::Token(t)) => return super::token::create_token(g, t).await,
        Some(CreateCommand::Deployment(d)) => return super::create_deployment::create(g, d).await,
        Some(CreateCommand::Route(r)) => return super::create_route::create(g, r).await,
        Some(CreateCommand::ClusterResourceQuota(q)) => {
            return super::create_cluster_quota::create(g, q).await;
        }
        None => {}
    }
    if a.filenames.is_empty() {
        return Err(CliError::msg("must specify one of -f and -k"));
    }
    let files = FileArgs {
        filenames: a.filenames.clone(),
        recursive: a.recursive,
    };
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    each_manifest(&files, "creating", async |m| {
        let r = resource_of(&s, &m.object).await?;
        let path = format!(
            "{}?fieldManager=kubectl-create",
            r.path(namespace_of(&s, &r, &m.object))
        );
        let created = s.write(Method::POST, &path, &m.object).await?;
        println!(
            "{}/{} created",
            r.qualified_kind(),
            created["metadata"]["name"].as_str().unwrap_or_default()
        );
        Ok(())
    })
    .await
}

pub async fn replace(g: &Globals, a: &ReplaceArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    each_manifest(&a.files, "replacing", async |m| {
        let r = resource_of(&s, &m.object).await?;
        let target = Target::of_object(&s, r, &m.object);
        if a.force {
            let deleting = DeleteArgs {
                wait: true,
                ..DeleteArgs::default()
            };
            delete_one(&s, &target, &deleting).await?;
            let mut fresh = m.object.clone();
            if let Some(meta) = fresh["metadata"].as_object_mut() {
                meta.remove("resourceVersion");
            }
            let path = format!(
                "{}?fieldManager=kubectl-replace",
                target.resource.path(target.namespace.as_deref())
            );
            s.write(Method::POST, &path, &fresh).await?;
        } else {
            let path = format!("{}?fieldManager=kubectl-replace", target.path());
            s.write(Method::PUT, &path, &m.object).await?;
        }
        println!("{} replaced", target.display());
        Ok(())
    })
    .await
}

#[derive(Debug, Default, clap::Args)]
pub struct DeleteArgs {
    /// TYPE NAME..., TYPE/NAME..., or TYPE with -l or --all.
    pub words: Vec<String>,
    /// Files, directories or `-` (stdin) with the objects to delete.
    #[arg(long = "filename", short = 'f')]
    pub filenames: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(long, short = 'R')]
    pub recursive: bool,
    /// Selector (label query) to filter on.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    /// Delete all resources of the type in the namespace.
    #[arg(long)]
    pub all: bool,
    /// background, foreground or orphan.
    #[arg(long, num_args = 0..=1, default_missing_value = "background")]
    pub cascade: Option<String>,
    /// Wait for the resources to be gone before returning.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub wait: bool,
}

#[derive(Debug, Default, clap::Args)]
pub struct FileArgs {
    /// Files, directories or `-` (stdin) with the objects.
    #[arg(long = "filename", short = 'f', required = true)]
    pub filenames: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(long, short = 'R')]
    pub recursive: bool,
}

async fn delete_one(s: &Session, t: &Target, a: &DeleteArgs) -> Result<(), CliError> {
    let policy = match a.cascade.as_deref() {
        None | Some("background") | Some("true") => "Background",
        Some("foreground") => "Foreground",
        Some("orphan") | Some("false") => "Orphan",
        Some(other) => {
            return Err(CliError::msg(format!(
                "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
            )));
        }
    };
    let path = t.path();
    let body = json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": policy});
    let deleted = s.write(Method::DELETE, &path, &body).await?;
    println!("{} \"{}\" deleted", t.resource.qualified_kind(), t.name);
    if a.wait {
        // As kubectl, until the object is gone (finalizers may hold it): gone too when the
        // name holds another object (one a controller made again at once).
        let uid = deleted["metadata"]["uid"]
            .as_str()
            .filter(|u| !u.is_empty());
        loop {
            let answer = send(&s.client, Method::GET, &path, &[], None).await?;
            if answer.status == http::StatusCode::NOT_FOUND || replaced(&answer.body, uid) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Whether `body` is an object of another uid than the deleted one's.
fn replaced(body: &[u8], deleted_uid: Option<&str>) -> bool {
    let Some(deleted_uid) = deleted_uid else {
        return false;
    };
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|found| found["metadata"]["uid"].as_str().map(|u| u != deleted_uid))
        .unwrap_or(false)
}

pub async fn delete(g: &Globals, a: &DeleteArgs) -> Result<(), CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    // Each object with the file it came from.
    let mut targets: Vec<(Target, Option<String>)> = Vec::new();
    if !a.filenames.is_empty() {
        for m in manifests::read(&a.filenames, a.recursive)? {
            let r = resource_of(&s, &m.object).await?;
            targets.push((Target::of_object(&s, r, &m.object), Some(m.source)));
        }
    } else {
        if a.words.is_empty() {
            return Err(CliError::msg(
                "You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'",
            ));
        }
        let named = objects::words(&a.words)?;
        if !named.pairs.is_empty() {
            for t in objects::named(&s, &a.words).await? {
                targets.push((t, None));
            }
        } else {
            if !a.all && a.selector.is_none() {
                return Err(CliError::msg(
                    "resource(s) were provided, but no name was specified",
                ));
            }
            for kind in named.kinds {
                let r = discovery::resolve(&s, &kind).await?;
                let ns = r.namespaced.then(|| s.namespace.clone());
                let query = match &a.selector {
                    Some(sel) => format!("?labelSelector={}", crate::client::encode(sel)),
                    None => String::new(),
                };
                let list = s.get(&format!("{}{query}", r.path(ns.as_deref()))).await?;
                for item in list["items"].as_array().into_iter().flatten() {
                    let name = item["metadata"]["name"].as_str().unwrap_or_default();
                    let t = Target {
                        resource: r.clone(),
                        namespace: ns.clone(),
                        name: name.to_string(),
                    };
                    targets.push((t, None));
                }
            }
            if targets.is_empty() {
                println!("No resources found");
                return Ok(());
            }
        }
    }
    // As kubectl, the errors come after what was deleted.
    let mut errors = Vec::new();
    for (t, source) in &targets {
        if let Err(e) = delete_one(&s, t, a).await {
            errors.push(match source {
                Some(source) => when("deleting", source, e),
                None => e,
            });
        }
    }
    for e in &errors {
        eprintln!("{e}");
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(CliError::Silent),
    }
}

#[cfg(test)]
mod tests {
    use super::replaced;

    #[test]
    fn a_name_made_again_is_not_the_deleted_object() {
        let found = br#"{"metadata":{"name":"web-tls","uid":"b"}}"#;
        assert!(replaced(found, Some("a")));
        assert!(!replaced(found, Some("b")));
        // Without the deleted object's uid (a Status answered the deletion), only a 404 ends
        // the wait.
        assert!(!replaced(found, None));
        assert!(!replaced(b"not json", Some("a")));
    }
}
