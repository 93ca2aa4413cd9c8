//! What `--add` will do, from the flags alone: upstream's checks of their combinations and
//! the claim to create.

use serde_json::{Value, json};

use super::VolumeArgs;
use crate::error::CliError;

/// The `--add` options once defaulted and checked: the volume source's type in lower case,
/// and the claim to create, if any.
#[derive(Debug, PartialEq)]
pub struct AddPlan {
    pub kind: String,
    pub type_given: bool,
    pub claim: Option<Value>,
    pub claim_name: String,
}

pub(super) fn err(text: &str) -> CliError {
    CliError::msg(text)
}

/// Upstream's checks of the flags (before anything is read from the server).
pub fn validate(a: &VolumeArgs) -> Result<(), CliError> {
    if a.add && a.remove {
        return Err(err("you may only specify one operation at a time"));
    }
    if a.selector.is_some() && a.all {
        return Err(err(
            "you may specify either --selector or --all but not both",
        ));
    }
    if a.words.is_empty() && a.filenames.is_empty() {
        return Err(err(
            "provide one or more resources to add, list, or delete volumes on as TYPE/NAME",
        ));
    }
    if !a.add && !a.remove && a.output.as_deref().is_some_and(|o| !o.is_empty()) {
        return Err(err("--list and --output may not be specified together"));
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
            claim_name = format!(
                "pvc-{}",
                crate::commands::create_deployment::random_suffix()
            );
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
