//! `oc set volume(s) TYPE/NAME [--add | --remove]`: the volumes of a pod template. Without
//! an operation the volumes are listed (with their claims' allocation and the mounts);
//! `--add` adds or replaces a volume and mounts it in the chosen containers (a claim with
//! `--claim-size` is created first); `--remove` takes a volume (or, with `--confirm`, all of
//! them) and its mounts away. The object is written back whole, read again and redone when
//! another writer (a controller's status) came first, so no concurrent change is lost.

use http::Method;
use serde_json::{Value, json};

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
}

/// The `--add` options once defaulted and checked: the volume source's type in lower case,
/// and the claim to create, if any.
#[derive(Debug, PartialEq)]
pub struct AddPlan {
    pub kind: String,
    pub type_given: bool,
    pub claim: Option<Value>,
    pub claim_name: String,
}

fn err(text: &str) -> CliError {
    CliError::msg(text)
}

/// Upstream's checks of the flags (before anything is read from the server).
pub fn validate(a: &VolumeArgs) -> Result<(), CliError> {
    if a.add && a.remove {
        return Err(err("you may only specify one operation at a time"));
    }
    if a.words.is_empty() {
        return Err(err(
            "provide one or more resources to add, list, or delete volumes on as TYPE/NAME",
        ));
    }
    if !a.add
        && (!a.path.is_empty()
            || !a.secret_name.is_empty()
            || !a.configmap_name.is_empty()
            || !a.claim_name.is_empty()
            || !a.default_mode.is_empty()
            || a.overwrite
            || a.r#type.is_some())
    {
        return Err(err(
            "--type|--path|--configmap-name|--secret-name|--claim-name|--source|--default-mode|--overwrite are only valid for --add operation",
        ));
    }
    if a.remove && a.name.is_empty() && !a.confirm {
        return Err(err(
            "must provide --confirm for removing more than one volume",
        ));
    }
    Ok(())
}

/// `--add`'s type (defaulted from the other flags), its checks and the claim to create.
pub fn plan_add(a: &VolumeArgs) -> Result<AddPlan, CliError> {
    let kind = match &a.r#type {
        Some(t) => t.to_lowercase(),
        None if !a.claim_name.is_empty() || !a.claim_size.is_empty() => {
            "persistentvolumeclaim".into()
        }
        None if !a.secret_name.is_empty() => "secret".into(),
        None if !a.configmap_name.is_empty() => "configmap".into(),
        None if !a.path.is_empty() => "hostpath".into(),
        None => "emptydir".into(),
    };
    let mode_ok = |m: &str| {
        let digits = m.strip_prefix('0').filter(|d| d.len() == 3).unwrap_or(m);
        digits.len() == 3 && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    };
    match kind.as_str() {
        "emptydir" => {}
        "hostpath" if a.path.is_empty() => {
            return Err(err("must provide --path for --type=hostPath"));
        }
        "hostpath" => {}
        "secret" | "configmap" => {
            let (flag, given) = match kind.as_str() {
                "secret" => ("secret-name", &a.secret_name),
                _ => ("configmap-name", &a.configmap_name),
            };
            if given.is_empty() {
                return Err(CliError::msg(format!(
                    "must provide --{flag} for --type={kind}"
                )));
            }
            if !a.default_mode.is_empty() && !mode_ok(&a.default_mode) {
                return Err(err("--default-mode must be between 0000 and 0777"));
            }
        }
        "persistentvolumeclaim" | "pvc" => {
            if a.claim_name.is_empty() && a.claim_size.is_empty() {
                return Err(err(
                    "must provide --claim-name or --claim-size (to create a new claim) for --type=pvc",
                ));
            }
        }
        _ => {
            return Err(err(
                "invalid volume type. Supported types: emptyDir, hostPath, secret, persistentVolumeClaim",
            ));
        }
    }
    let claim_kind = matches!(kind.as_str(), "persistentvolumeclaim" | "pvc");
    if a.claim_class.is_some() {
        if !claim_kind {
            return Err(err("must provide --type as persistentVolumeClaim"));
        }
        if a.claim_size.is_empty() {
            return Err(err(
                "must provide --claim-size to create new pvc with claim-class",
            ));
        }
    }
    if !a.default_mode.is_empty() && !matches!(kind.as_str(), "secret" | "configmap") {
        return Err(err(
            "--default-mode is only available for secrets and configmaps",
        ));
    }
    let mode = match a.claim_mode.to_lowercase().as_str() {
        "readonlymany" | "rom" => "ReadOnlyMany",
        "readwriteonce" | "rwo" => "ReadWriteOnce",
        "readwritemany" | "rwm" => "ReadWriteMany",
        _ => {
            return Err(err(
                "--claim-mode must be one of ReadWriteOnce (rwo), ReadWriteMany (rwm), or ReadOnlyMany (rom)",
            ));
        }
    };
    let mut claim_name = a.claim_name.clone();
    let mut claim = None;
    if !a.claim_size.is_empty() {
        let size = api::quota::amount::Amount::parse(&a.claim_size).ok_or_else(|| {
            err(
                "--claim-size is not valid: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            )
        })?;
        if claim_name.is_empty() {
            claim_name = format!("pvc-{}", super::create_deployment::random_suffix());
        }
        let mut spec = json!({"accessModes": [mode],
            "resources": {"requests": {"storage": size.to_string()}}});
        if let Some(class) = &a.claim_class {
            spec["storageClassName"] = json!(class);
        }
        claim = Some(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name}, "spec": spec}));
    }
    // A source named by its flags counts as a given type (only the emptyDir default does not).
    let type_given = a.r#type.is_some() || kind != "emptydir";
    Ok(AddPlan {
        kind,
        type_given,
        claim,
        claim_name,
    })
}

/// Where a kind keeps its pod spec (`None`: it has none).
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "Pod" => Some(&["spec"]),
        "CronJob" => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        "Deployment"
        | "DeploymentConfig"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "PodTemplate" => Some(&["spec", "template", "spec"]),
        _ => None,
    }
}

fn pod_spec_mut<'a>(kind: &str, obj: &'a mut Value) -> Option<&'a mut Value> {
    let path = pod_spec_path(kind)?;
    let path = match kind {
        "PodTemplate" => &path[1..],
        _ => path,
    };
    path.iter()
        .try_fold(obj, |v, k| v.get_mut(*k))
        .filter(|v| v.is_object())
}

/// A shell-style pattern (`*`, `?`) matched against a whole name.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

fn selected(pattern: &str, container: &Value) -> bool {
    glob(
        pattern.as_bytes(),
        container["name"].as_str().unwrap_or_default().as_bytes(),
    )
}

/// A path as Go's `path.Clean` gives it.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => drop(parts.pop()),
            ".." if rooted => {}
            p => parts.push(p),
        }
    }
    match (rooted, parts.join("/")) {
        (true, p) => format!("/{p}"),
        (false, p) if p.is_empty() => ".".into(),
        (false, p) => p,
    }
}

fn list_of<'a>(v: &'a mut Value, key: &str) -> &'a mut Vec<Value> {
    if !v[key].is_array() {
        v[key] = json!([]);
    }
    match v[key].as_array_mut() {
        Some(list) => list,
        None => unreachable!("just made an array"),
    }
}

/// The volume mounted at `--mount-path` in the selected containers (`--overwrite` without a
/// name): exactly one container may have it.
fn mounted_at(a: &VolumeArgs, spec: &Value) -> Result<String, CliError> {
    let path = clean(&a.mount_path);
    let found: Vec<String> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| selected(&a.containers, c))
        .filter_map(|c| {
            c["volumeMounts"]
                .as_array()?
                .iter()
                .find(|m| clean(m["mountPath"].as_str().unwrap_or_default()) == path)
                .and_then(|m| m["name"].as_str().map(String::from))
        })
        .collect();
    match found.as_slice() {
        [] => Err(CliError::msg(format!(
            "unable to find the volume for mount-path: {}",
            a.mount_path
        ))),
        [name] => Ok(name.clone()),
        _ => Err(CliError::msg(format!(
            "found multiple volumes with same mount-path: {}",
            a.mount_path
        ))),
    }
}

/// `--add` applied to a pod spec: the volume (named, replaced with `--overwrite`, or the
/// claim's existing one reused) and its mount in the selected containers. Returns the
/// volume's name and any warning to print.
pub fn add_to_spec(
    a: &VolumeArgs,
    plan: &AddPlan,
    spec: &mut Value,
    what: &str,
) -> Result<(String, Vec<String>), CliError> {
    let mut notes = Vec::new();
    let existing_claim = spec["volumes"].as_array().and_then(|vs| {
        vs.iter()
            .find(|v| {
                !plan.claim_name.is_empty()
                    && v["persistentVolumeClaim"]["claimName"] == plan.claim_name.as_str()
            })
            .and_then(|v| v["name"].as_str().map(String::from))
    });
    let name = match (&a.name, &existing_claim) {
        (n, _) if !n.is_empty() => n.clone(),
        _ if a.overwrite && a.mount_path.is_empty() => {
            return Err(err("ambiguous --overwrite, specify --name or --mount-path"));
        }
        _ if a.overwrite => mounted_at(a, spec)?,
        (_, Some(old)) => old.clone(),
        _ => {
            let generated = format!("volume-{}", super::create_deployment::random_suffix());
            notes.push(format!("info: Generated volume name: {generated}"));
            generated
        }
    };
    let volumes = list_of(spec, "volumes");
    let mut source = None;
    if let Some(i) = volumes.iter().position(|v| v["name"] == name.as_str()) {
        if !a.overwrite && existing_claim.is_none() {
            return Err(CliError::msg(format!(
                "volume '{name}' already exists. Use --overwrite to replace"
            )));
        }
        let old = volumes.remove(i);
        if !plan.type_given {
            source = Some(old);
        }
    } else if a.overwrite {
        notes.push(format!(
            "warning: volume \"{name}\" did not previously exist and was not overwritten. A new volume with this name has been created instead."
        ));
    }
    let volume = match source {
        Some(mut old) => {
            old["name"] = json!(name);
            old
        }
        None => {
            let mode = || {
                let text = match a.default_mode.as_str() {
                    "" => "644",
                    m => m,
                };
                i64::from_str_radix(text, 8).unwrap_or(0o644)
            };
            let mut v = json!({"name": name});
            match plan.kind.as_str() {
                "emptydir" => v["emptyDir"] = json!({}),
                "hostpath" => v["hostPath"] = json!({"path": a.path}),
                "secret" => {
                    v["secret"] = json!({"secretName": a.secret_name, "defaultMode": mode()})
                }
                "configmap" => {
                    v["configMap"] = json!({"name": a.configmap_name, "defaultMode": mode()})
                }
                _ => v["persistentVolumeClaim"] = json!({"claimName": plan.claim_name}),
            }
            v
        }
    };
    volumes.push(volume);
    if !a.mount_path.is_empty() {
        let path = clean(&a.mount_path);
        let containers = list_of(spec, "containers");
        let chosen: Vec<&mut Value> = containers
            .iter_mut()
            .filter(|c| selected(&a.containers, c))
            .collect();
        if chosen.is_empty() && a.containers != "*" {
            notes.push(format!(
                "warning: {what} does not have any containers matching {:?}",
                a.containers
            ));
        }
        for c in chosen {
            let cname = c["name"].as_str().unwrap_or_default().to_string();
            let mounts = list_of(c, "volumeMounts");
            if mounts.iter().any(|m| {
                clean(m["mountPath"].as_str().unwrap_or_default()) == path
                    && m["name"] != name.as_str()
            }) {
                return Err(CliError::msg(format!(
                    "volume mount '{}' already exists for container '{cname}'",
                    a.mount_path
                )));
            }
            if a.overwrite
                && let Some(i) = mounts.iter().position(|m| m["name"] == name.as_str())
            {
                mounts.remove(i);
            }
            let mut mount = json!({"name": name, "mountPath": path});
            if a.read_only {
                mount["readOnly"] = json!(true);
            }
            if !a.sub_path.is_empty() {
                mount["subPath"] = json!(clean(&a.sub_path));
            }
            mounts.push(mount);
        }
    }
    Ok((name, notes))
}

/// `--remove` applied to a pod spec: the named volume's mounts leave the selected containers,
/// and the volume itself goes when no other container mounts it (all of them without a name).
pub fn remove_from_spec(a: &VolumeArgs, spec: &mut Value) -> Result<(), CliError> {
    let containers = list_of(spec, "containers");
    let mut still_used = false;
    for c in containers.iter_mut() {
        let chosen = selected(&a.containers, c);
        let mounts = list_of(c, "volumeMounts");
        match (chosen, a.name.is_empty()) {
            (true, true) => mounts.clear(),
            (true, false) => mounts.retain(|m| m["name"] != a.name.as_str()),
            (false, _) => still_used |= mounts.iter().any(|m| m["name"] == a.name.as_str()),
        }
        if mounts.is_empty()
            && let Some(o) = c.as_object_mut()
        {
            o.remove("volumeMounts");
        }
    }
    let volumes = list_of(spec, "volumes");
    if a.name.is_empty() {
        volumes.clear();
    } else if !still_used {
        let Some(i) = volumes.iter().position(|v| v["name"] == a.name.as_str()) else {
            return Err(CliError::msg(format!("volume '{}' not found", a.name)));
        };
        volumes.remove(i);
    }
    // An empty list is left out, as Go's encoding of the pod spec leaves it.
    if volumes.is_empty()
        && let Some(o) = spec.as_object_mut()
    {
        o.remove("volumes");
    }
    Ok(())
}

/// What a volume's source is, as upstream words it.
fn describe_source(v: &Value) -> String {
    let ro = |s: &Value| {
        if s["readOnly"] == true {
            " read-only"
        } else {
            ""
        }
    };
    let text = |s: &Value| s.as_str().unwrap_or_default().to_string();
    if v["emptyDir"].is_object() {
        "empty directory".into()
    } else if v["hostPath"].is_object() {
        format!("host path {}", text(&v["hostPath"]["path"]))
    } else if v["nfs"].is_object() {
        let n = &v["nfs"];
        format!("NFS {}:{}{}", text(&n["server"]), text(&n["path"]), ro(n))
    } else if v["persistentVolumeClaim"].is_object() {
        let c = &v["persistentVolumeClaim"];
        format!("pvc/{}{}", text(&c["claimName"]), ro(c))
    } else if v["secret"].is_object() {
        format!("secret/{}", text(&v["secret"]["secretName"]))
    } else if v["configMap"].is_object() {
        format!("configMap/{}", text(&v["configMap"]["name"]))
    } else {
        "unknown".into()
    }
}

/// A claim's allocation, as upstream words it.
pub fn describe_claim(claim: &Value) -> String {
    let text = |s: &Value| s.as_str().map(String::from);
    if claim["spec"]["volumeName"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        return match text(&claim["spec"]["resources"]["requests"]["storage"]) {
            Some(size) => format!("waiting for {size}B allocation"),
            None => "waiting to allocate".into(),
        };
    }
    match text(&claim["status"]["capacity"]["storage"]) {
        Some(size) => format!("allocated {size}B"),
        None => "allocated unknown size".into(),
    }
}

/// The listing's lines for one pod spec; `claim` says what each claim's line adds.
pub fn list_lines(
    kind: &str,
    name: &str,
    a: &VolumeArgs,
    spec: &Value,
    claim: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, CliError> {
    let empty = Vec::new();
    let all = spec["containers"].as_array().unwrap_or(&empty);
    let containers: Vec<&Value> = all.iter().filter(|c| selected(&a.containers, c)).collect();
    let mut out = vec![format!("{kind} {name}")];
    let mut found = false;
    for v in spec["volumes"].as_array().unwrap_or(&empty) {
        let vname = v["name"].as_str().unwrap_or_default();
        if !a.name.is_empty() && a.name != vname {
            continue;
        }
        found = true;
        let mut refinfo = String::new();
        if let Some(c) = v["persistentVolumeClaim"]["claimName"].as_str() {
            refinfo = format!(" ({})", claim(c));
        }
        out.push(format!("  {}{refinfo} as {vname}", describe_source(v)));
        for c in &containers {
            for m in c["volumeMounts"].as_array().unwrap_or(&empty) {
                if m["name"] != vname {
                    continue;
                }
                let at = m["mountPath"].as_str().unwrap_or_default();
                out.push(match all.len() {
                    1 => format!("    mounted at {at}"),
                    _ => format!(
                        "    mounted at {at} in container {}",
                        c["name"].as_str().unwrap_or_default()
                    ),
                });
            }
        }
    }
    if !a.name.is_empty() && !found {
        return Err(CliError::msg(format!("volume {:?} not found", a.name)));
    }
    Ok(out)
}

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
async fn update(
    s: &Session,
    a: &VolumeArgs,
    plan: Option<&AddPlan>,
    t: &Target,
) -> Result<Option<Result<Vec<String>, String>>, CliError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut obj = s.get(&t.path()).await?;
        let kind = t.resource.kind.clone();
        let what = format!("{kind}/{}", t.name);
        let Some(spec) = pod_spec_mut(&kind, &mut obj) else {
            return Ok(None);
        };
        let changed = match plan {
            Some(p) => add_to_spec(a, p, spec, &what).map(|(_, notes)| notes),
            None => remove_from_spec(a, spec).map(|()| Vec::new()),
        };
        let notes = match changed {
            Ok(notes) => notes,
            Err(e) => return Ok(Some(Err(format!("{} {}", resource_name(t), bare(&e))))),
        };
        match s.write(Method::PUT, &t.path(), &obj).await {
            Ok(_) => return Ok(Some(Ok(notes))),
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

pub async fn volume(g: &Globals, a: &VolumeArgs) -> Result<(), CliError> {
    validate(a)?;
    let plan = match a.add {
        true => Some(plan_add(a)?),
        false => None,
    };
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let targets = objects::named(&s, &a.words).await?;
    if !a.add && !a.remove {
        return list(&s, a, &targets).await;
    }
    let mut errors = Vec::new();
    if let (Some(claim), Some(t)) = (
        plan.as_ref().and_then(|p| p.claim.as_ref()),
        targets.first(),
    ) && let Err(e) = s.post(&claims_path(&s, t), claim).await
    {
        errors.push(format!(
            "failed to patch volume update to pod template: {}",
            bare(&e)
        ));
    }
    for t in &targets {
        match update(&s, a, plan.as_ref(), t).await? {
            Some(Ok(notes)) => {
                notes.iter().for_each(|n| eprintln!("{n}"));
                println!("{} volume updated", t.display());
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
