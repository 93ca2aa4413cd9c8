//! `oc set volume(s) TYPE/NAME [--add | --remove]`: the volumes of a pod template. Without
//! an operation the volumes are listed (with their claims' allocation and the mounts);
//! `--add` adds or replaces a volume and mounts it in the chosen containers (a claim with
//! `--claim-size` is created first); `--remove` takes a volume (or, with `--confirm`, all of
//! them) and its mounts away. The object is written back whole, read again and redone when
//! another writer (a controller's status) came first, so no concurrent change is lost.
//! Objects come from names, `-l`/`--all` over a type, or `-f` files; `--local` changes the
//! files' objects without a server, `--dry-run=client` the server's without writing them,
//! `--dry-run=server` has the server check the writes; `-o` prints the results (`output.rs`).

use http::Method;

mod listing;
mod output;
mod plan;
mod spec;

use super::Globals;
use crate::client::{Session, session};
use crate::error::CliError;
use crate::objects::{self, Target};

#[derive(Debug, Default, clap::Args)]
pub struct VolumeArgs {
    /// TYPE NAME or TYPE/NAME.
    pub words: Vec<String>,
    /// If true, add volume and/or volume mounts for containers.
    #[arg(long)]
    pub add: bool,
    /// If true, remove volume and/or volume mounts for containers.
    #[arg(long)]
    pub remove: bool,
    /// Name of the volume. If empty, auto generated for add operation.
    #[arg(long, default_value = "")]
    pub name: String,
    /// The names of containers in the selected pod templates to change - may use wildcards.
    #[arg(long, short = 'c', default_value = "*")]
    pub containers: String,
    /// If true, confirm that you really want to remove multiple volumes.
    #[arg(long)]
    pub confirm: bool,
    /// Type of the volume source for add operation.
    #[arg(long, short = 't')]
    pub r#type: Option<String>,
    /// Mount path inside the container.
    #[arg(long, short = 'm', default_value = "")]
    pub mount_path: String,
    /// Path within the local volume from which the container's volume should be mounted.
    #[arg(long, default_value = "")]
    pub sub_path: String,
    /// The default mode bits to create files with (secrets and config maps; 0644 if unset).
    #[arg(long, default_value = "")]
    pub default_mode: String,
    /// Mount volume as ReadOnly.
    #[arg(long)]
    pub read_only: bool,
    /// If true, replace existing volume source with the provided name and/or volume mount.
    #[arg(long)]
    pub overwrite: bool,
    /// Host path. Must be provided for hostPath volume type.
    #[arg(long, default_value = "")]
    pub path: String,
    /// Name of the persisted config map. Must be provided for configmap volume type.
    #[arg(long, default_value = "")]
    pub configmap_name: String,
    /// Name of the persisted secret. Must be provided for secret volume type.
    #[arg(long, default_value = "")]
    pub secret_name: String,
    /// Persistent volume claim name. Must be provided for persistentVolumeClaim volume type.
    #[arg(long, default_value = "")]
    pub claim_name: String,
    /// StorageClass to use for the persistent volume claim.
    #[arg(long)]
    pub claim_class: Option<String>,
    /// If specified along with a persistent volume type, create a new claim with the given size.
    #[arg(long, default_value = "")]
    pub claim_size: String,
    /// Access mode of the claim to be created: ReadWriteOnce (rwo), ReadWriteMany (rwm) or
    /// ReadOnlyMany (rom).
    #[arg(long, default_value = "ReadWriteOnce")]
    pub claim_mode: String,
    /// Filename, directory, or - (stdin) of the resources to edit.
    #[arg(long = "filename", short = 'f')]
    pub filenames: Vec<String>,
    /// Process the directory used in -f, --filename recursively.
    #[arg(long, short = 'R')]
    pub recursive: bool,
    /// Selector (label query) to filter on.
    #[arg(long, short = 'l')]
    pub selector: Option<String>,
    /// If true, select all resources in the namespace of the specified resource types.
    #[arg(long)]
    pub all: bool,
    /// If true, set volume will NOT contact api-server but run locally.
    #[arg(long)]
    pub local: bool,
    /// Must be "none", "server", or "client": only print (client) or only have the server
    /// check (server) what would be sent.
    #[arg(long, num_args = 0..=1, default_missing_value = "unchanged")]
    pub dry_run: Option<String>,
    /// Output format: json, yaml or name.
    #[arg(long, short = 'o')]
    pub output: Option<String>,
}

use listing::*;
use output::{DryRun, Printer};
use plan::*;
use spec::*;

/// An object as upstream names it in its error lines (`deployments/web`).
fn resource_name(t: &Target) -> String {
    format!("{}/{}", t.resource.plural, t.name)
}

/// An error's text without the `error: ` prefix (a server's answer: its message).
fn bare(e: &CliError) -> String {
    match e {
        CliError::Message(m) => m.clone(),
        CliError::Server { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn claims_path(s: &Session, t: &Target) -> String {
    let ns = t.namespace.as_deref().unwrap_or(&s.namespace);
    format!("/api/v1/namespaces/{ns}/persistentvolumeclaims")
}

async fn list(s: &Session, a: &VolumeArgs, targets: &[Target]) -> Result<(), CliError> {
    let mut failed = false;
    for t in targets {
        let mut obj = s.get(&t.path()).await?;
        let kind = t.resource.kind.clone();
        // Objects without a pod template have nothing to list (as upstream, no error).
        let Some(spec) = pod_spec_mut(&kind, &mut obj).map(|v| v.clone()) else {
            continue;
        };
        let mut claims = std::collections::HashMap::new();
        for v in spec["volumes"].as_array().into_iter().flatten() {
            if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
                let found = s.get(&format!("{}/{c}", claims_path(s, t))).await;
                let line = match found {
                    Ok(claim) => describe_claim(&claim),
                    Err(CliError::Server { reason, .. }) if reason == "NotFound" => {
                        "does not exist".to_string()
                    }
                    Err(e) => return Err(e),
                };
                claims.insert(c.to_string(), line);
            }
        }
        let line = |c: &str| claims.get(c).cloned().unwrap_or_default();
        match list_lines(&kind, &t.name, a, &spec, &line) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                eprintln!("error: {} {}", resource_name(t), bare(&e));
                failed = true;
            }
        }
    }
    match failed {
        true => Err(CliError::Silent),
        false => Ok(()),
    }
}

/// Tries before a write that keeps meeting newer versions of the object gives up.
const ATTEMPTS: usize = 5;

/// One object's pod template changed and written back (read again and redone when a
/// controller wrote it meanwhile): `None` if it has no pod template, else the notes to print
/// or the error line.
/// The object's pod template changed as the flags say: `None` if it has none, else the notes
/// to print or the error.
fn change(
    a: &VolumeArgs,
    plan: Option<&AddPlan>,
    obj: &mut serde_json::Value,
) -> Option<Result<Vec<String>, CliError>> {
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let what = format!(
        "{kind}/{}",
        obj["metadata"]["name"].as_str().unwrap_or_default()
    );
    let spec = pod_spec_mut(&kind, obj)?;
    Some(match plan {
        Some(p) => add_to_spec(a, p, spec, &what).map(|(_, notes)| notes),
        None => remove_from_spec(a, spec).map(|()| Vec::new()),
    })
}

/// What one object's update gave: the notes and the object as written, or the error line.
type Updated = Result<(Vec<String>, serde_json::Value), String>;

async fn update(
    s: &Session,
    a: &VolumeArgs,
    plan: Option<&AddPlan>,
    t: &Target,
    dry_run: DryRun,
) -> Result<Option<Updated>, CliError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut obj = s.get(&t.path()).await?;
        let notes = match change(a, plan, &mut obj) {
            None => return Ok(None),
            Some(Ok(notes)) => notes,
            Some(Err(e)) => return Ok(Some(Err(format!("{} {}", resource_name(t), bare(&e))))),
        };
        if dry_run == DryRun::Client {
            return Ok(Some(Ok((notes, obj))));
        }
        let path = format!("{}{}", t.path(), dry_run.query());
        match s.write(Method::PUT, &path, &obj).await {
            Ok(written) => return Ok(Some(Ok((notes, written)))),
            Err(CliError::Server { reason, .. }) if reason == "Conflict" && attempt < ATTEMPTS => {}
            Err(e) => {
                return Ok(Some(Err(format!(
                    "failed to patch volume update to pod template: {}",
                    bare(&e)
                ))));
            }
        }
    }
}

/// The objects the words, `-l`/`--all` and `-f` name, in the session's namespace.
async fn targets(s: &Session, a: &VolumeArgs) -> Result<Vec<Target>, CliError> {
    let mut out = Vec::new();
    let files = match a.filenames.is_empty() {
        true => Vec::new(),
        false => crate::manifests::read(&a.filenames, a.recursive)?,
    };
    for m in files {
        let r = super::write::resource_of(s, &m.object).await?;
        out.push(Target::of_object(s, r, &m.object));
    }
    if a.words.is_empty() {
        return Ok(out);
    }
    let named = objects::words(&a.words)?;
    if !named.pairs.is_empty() {
        out.extend(objects::named(s, &a.words).await?);
        return Ok(out);
    }
    if !a.all && a.selector.is_none() {
        return Err(CliError::msg(
            "resource(s) were provided, but no name was specified",
        ));
    }
    for kind in named.kinds {
        let r = crate::discovery::resolve(s, &kind).await?;
        let ns = r.namespaced.then(|| s.namespace.clone());
        let query = match &a.selector {
            Some(sel) => format!("?labelSelector={}", crate::client::encode(sel)),
            None => String::new(),
        };
        let list = s.get(&format!("{}{query}", r.path(ns.as_deref()))).await?;
        for item in list["items"].as_array().into_iter().flatten() {
            out.push(Target {
                resource: r.clone(),
                namespace: ns.clone(),
                name: item["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// `--local`: the files' objects changed and printed, the server never asked.
fn local(a: &VolumeArgs, plan: Option<&AddPlan>, printer: &mut Printer) -> Result<(), CliError> {
    let mut printed = Vec::new();
    for m in crate::manifests::read(&a.filenames, a.recursive)? {
        let mut obj = m.object;
        match change(a, plan, &mut obj) {
            Some(Ok(notes)) => notes.iter().for_each(|n| eprintln!("{n}")),
            Some(Err(e)) => {
                let name = output::object_name(&obj);
                return Err(CliError::msg(format!("{name} {}", bare(&e))));
            }
            None => {}
        }
        printed.push(obj);
    }
    printed.extend(plan.and_then(|p| p.claim.clone()));
    for obj in &printed {
        print!("{}", printer.text(obj)?);
    }
    Ok(())
}

pub async fn volume(g: &Globals, a: &VolumeArgs) -> Result<(), CliError> {
    validate(a)?;
    let plan = match a.add {
        true => Some(plan_add(a)?),
        false => None,
    };
    let dry_run = DryRun::parse(a.dry_run.as_deref())?;
    let mut printer = Printer::new(a.output.as_deref(), dry_run)?;
    if a.local {
        return local(a, plan.as_ref(), &mut printer);
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let targets = targets(&s, a).await?;
    if !a.add && !a.remove {
        return list(&s, a, &targets).await;
    }
    let mut errors = Vec::new();
    let mut printed = Vec::new();
    if let (Some(claim), Some(t)) = (
        plan.as_ref().and_then(|p| p.claim.as_ref()),
        targets.first(),
    ) {
        let path = format!("{}{}", claims_path(&s, t), dry_run.query());
        match dry_run {
            // Printed after the objects, as upstream appends it to them.
            DryRun::Client => {}
            _ => {
                if let Err(e) = s.post(&path, claim).await {
                    errors.push(format!(
                        "failed to patch volume update to pod template: {}",
                        bare(&e)
                    ));
                }
            }
        }
    }
    for t in &targets {
        match update(&s, a, plan.as_ref(), t, dry_run).await? {
            Some(Ok((notes, written))) => {
                notes.iter().for_each(|n| eprintln!("{n}"));
                printed.push(written);
            }
            Some(Err(e)) => errors.push(e),
            None if targets.len() == 1 => {
                return Err(CliError::msg(format!(
                    "the {} {} is not a pod or does not have a pod template",
                    t.resource.kind, t.name
                )));
            }
            None => {}
        }
    }
    if dry_run == DryRun::Client {
        printed.extend(plan.as_ref().and_then(|p| p.claim.clone()));
    }
    for obj in &printed {
        print!("{}", printer.text(obj)?);
    }
    if errors.is_empty() {
        return Ok(());
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    Err(CliError::Silent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn args(f: impl FnOnce(&mut VolumeArgs)) -> VolumeArgs {
        let mut a = VolumeArgs {
            words: vec!["deployment/web".into()],
            containers: "*".into(),
            claim_mode: "ReadWriteOnce".into(),
            ..Default::default()
        };
        f(&mut a);
        a
    }

    fn spec() -> Value {
        json!({"containers": [{"name": "web"}, {"name": "side"}]})
    }

    #[test]
    fn flags_are_checked_as_upstream() {
        let both = args(|a| {
            a.add = true;
            a.remove = true;
        });
        assert_eq!(
            validate(&both).unwrap_err().to_string(),
            "error: you may only specify one operation at a time"
        );
        let all = args(|a| a.remove = true);
        assert_eq!(
            validate(&all).unwrap_err().to_string(),
            "error: must provide --confirm for removing more than one volume"
        );
        let pvc = args(|a| {
            a.add = true;
            a.r#type = Some("pvc".into());
        });
        assert_eq!(
            plan_add(&pvc).unwrap_err().to_string(),
            "error: must provide --claim-name or --claim-size (to create a new claim) for --type=pvc"
        );
        let mode = args(|a| {
            a.add = true;
            a.claim_size = "1Gi".into();
            a.claim_mode = "rwx".into();
        });
        assert!(
            plan_add(&mode)
                .unwrap_err()
                .to_string()
                .contains("--claim-mode must be one of")
        );
    }

    #[test]
    fn a_sized_claim_is_planned_with_its_mode_and_class() {
        let a = args(|a| {
            a.add = true;
            a.claim_name = "data".into();
            a.claim_size = "1024Mi".into();
            a.claim_mode = "rwm".into();
            a.claim_class = Some("fast".into());
        });
        let plan = plan_add(&a).unwrap();
        assert_eq!(plan.kind, "persistentvolumeclaim");
        assert_eq!(
            plan.claim.unwrap()["spec"],
            json!({"accessModes": ["ReadWriteMany"], "storageClassName": "fast",
                "resources": {"requests": {"storage": "1Gi"}}})
        );
    }

    #[test]
    fn add_mounts_in_chosen_containers_and_refuses_a_taken_name() {
        let a = args(|a| {
            a.add = true;
            a.name = "data".into();
            a.claim_name = "data".into();
            a.mount_path = "/data/".into();
            a.containers = "w*".into();
            a.read_only = true;
        });
        let plan = plan_add(&a).unwrap();
        let mut s = spec();
        add_to_spec(&a, &plan, &mut s, "Deployment/web").unwrap();
        assert_eq!(
            s,
            json!({"containers": [{"name": "web", "volumeMounts": [{"name": "data",
                "mountPath": "/data", "readOnly": true}]}, {"name": "side"}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]})
        );
        let other = args(|a| {
            a.add = true;
            a.name = "data".into();
        });
        let plan = plan_add(&other).unwrap();
        assert_eq!(
            add_to_spec(&other, &plan, &mut s, "x")
                .unwrap_err()
                .to_string(),
            "error: volume 'data' already exists. Use --overwrite to replace"
        );
        let taken = args(|a| {
            a.add = true;
            a.name = "cache".into();
            a.mount_path = "/data".into();
        });
        let plan = plan_add(&taken).unwrap();
        assert_eq!(
            add_to_spec(&taken, &plan, &mut s, "x")
                .unwrap_err()
                .to_string(),
            "error: volume mount '/data' already exists for container 'web'"
        );
    }

    #[test]
    fn overwrite_finds_the_volume_by_its_mount_path() {
        let mut s = json!({"containers": [{"name": "web", "volumeMounts": [
            {"name": "old", "mountPath": "/d"}]}], "volumes": [{"name": "old", "emptyDir": {}}]});
        let a = args(|a| {
            a.add = true;
            a.overwrite = true;
            a.claim_name = "c".into();
            a.mount_path = "/d/".into();
        });
        let plan = plan_add(&a).unwrap();
        let (name, _) = add_to_spec(&a, &plan, &mut s, "x").unwrap();
        assert_eq!(name, "old");
        assert_eq!(
            s["volumes"],
            json!([{"name": "old", "persistentVolumeClaim": {"claimName": "c"}}])
        );
        assert_eq!(
            s["containers"][0]["volumeMounts"],
            json!([{"name": "old", "mountPath": "/d"}])
        );
        let nowhere = args(|a| {
            a.add = true;
            a.overwrite = true;
            a.mount_path = "/e".into();
        });
        let plan = plan_add(&nowhere).unwrap();
        assert_eq!(
            add_to_spec(&nowhere, &plan, &mut s, "x")
                .unwrap_err()
                .to_string(),
            "error: unable to find the volume for mount-path: /e"
        );
    }

    #[test]
    fn remove_keeps_a_volume_another_container_mounts() {
        let mut s = json!({"containers": [
            {"name": "web", "volumeMounts": [{"name": "data", "mountPath": "/d"}]},
            {"name": "side", "volumeMounts": [{"name": "data", "mountPath": "/d"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]});
        let one = args(|a| {
            a.remove = true;
            a.name = "data".into();
            a.containers = "web".into();
        });
        remove_from_spec(&one, &mut s).unwrap();
        assert_eq!(s["volumes"].as_array().unwrap().len(), 1);
        assert!(s["containers"][0].get("volumeMounts").is_none());
        let all = args(|a| {
            a.remove = true;
            a.name = "data".into();
        });
        remove_from_spec(&all, &mut s).unwrap();
        assert!(s.get("volumes").is_none());
        assert_eq!(
            remove_from_spec(&all, &mut s).unwrap_err().to_string(),
            "error: volume 'data' not found"
        );
    }

    #[test]
    fn the_listing_names_sources_claims_and_mounts() {
        let s = json!({"containers": [{"name": "web", "volumeMounts": [
            {"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "c"}},
                {"name": "tmp", "emptyDir": {}}]});
        let bound =
            json!({"spec": {"volumeName": "pv1"}, "status": {"capacity": {"storage": "1Gi"}}});
        let lines = list_lines("Deployment", "web", &args(|_| {}), &s, &|_| {
            describe_claim(&bound)
        })
        .unwrap();
        assert_eq!(
            lines,
            [
                "Deployment web",
                "  pvc/c (allocated 1GiB) as data",
                "    mounted at /data",
                "  empty directory as tmp"
            ]
        );
        let pending = json!({"spec": {"resources": {"requests": {"storage": "2Gi"}}}});
        assert_eq!(describe_claim(&pending), "waiting for 2GiB allocation");
        assert_eq!(clean("/a/./b/../c/"), "/a/c");
        assert!(glob(b"w*b", b"web") && !glob(b"w?", b"web"));
    }
}
