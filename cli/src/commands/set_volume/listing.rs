//! The listing without an operation: each volume's source (a claim with its allocation) and
//! where it is mounted, in upstream's lines.

use serde_json::Value;

use super::VolumeArgs;
use super::spec::selected;
use crate::error::CliError;

/// What a volume's source is, as upstream words it.
pub(super) fn describe_source(v: &Value) -> String {
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
