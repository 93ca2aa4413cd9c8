//! What `oc set volume` prints for each object it changed: `-o yaml|json|name`, else the name
//! printer's `<kind.group>/<name> volume updated`, with kubectl's dry-run suffix.

use serde_json::Value;

use crate::error::CliError;
use crate::printers;

/// `--dry-run`: nothing sent (`client`), or sent for the server to check only (`server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    None,
    Client,
    Server,
}

impl DryRun {
    /// kubectl's values; the bare flag is the deprecated `unchanged`, meaning `client`.
    pub fn parse(value: Option<&str>) -> Result<DryRun, CliError> {
        match value {
            None | Some("none") | Some("false") => Ok(DryRun::None),
            Some("client") | Some("unchanged") | Some("true") => Ok(DryRun::Client),
            Some("server") => Ok(DryRun::Server),
            Some(other) => Err(CliError::msg(format!(
                "Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }

    /// The query a write carries.
    pub fn query(self) -> &'static str {
        match self {
            DryRun::Server => "?dryRun=All",
            _ => "",
        }
    }
}

/// An object as the name printer writes it: `kind.group/name`.
pub fn object_name(obj: &Value) -> String {
    let kind = obj["kind"].as_str().unwrap_or_default().to_lowercase();
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    match obj["apiVersion"].as_str().and_then(|v| v.split_once('/')) {
        Some((group, _)) => format!("{kind}.{group}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

pub struct Printer {
    format: Option<String>,
    suffix: &'static str,
    printed: usize,
}

impl Printer {
    pub fn new(output: Option<&str>, dry_run: DryRun) -> Result<Printer, CliError> {
        let format = output.filter(|o| !o.is_empty()).map(str::to_string);
        if let Some(f) = format.as_deref()
            && !matches!(f, "yaml" | "json" | "name")
        {
            return Err(CliError::msg(format!(
                "unable to match a printer suitable for the output format {f:?}, allowed formats are: json,name,yaml"
            )));
        }
        let suffix = match dry_run {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        };
        Ok(Printer {
            format,
            suffix,
            printed: 0,
        })
    }

    /// The text for one more object (YAML documents after the first open with `---`).
    pub fn text(&mut self, obj: &Value) -> Result<String, CliError> {
        self.printed += 1;
        Ok(match self.format.as_deref() {
            None => format!("{} volume updated{}\n", object_name(obj), self.suffix),
            Some("name") => format!("{}\n", object_name(obj)),
            Some("yaml") => {
                let separator = if self.printed > 1 { "---\n" } else { "" };
                format!("{separator}{}", printers::yaml(obj)?)
            }
            _ => printers::pretty_json(obj),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_print_as_kubectl_printers_write_them() {
        let deploy =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let claim =
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}});
        let mut p = Printer::new(None, DryRun::Client).unwrap();
        assert_eq!(
            p.text(&deploy).unwrap(),
            "deployment.apps/web volume updated (dry run)\n"
        );
        let mut p = Printer::new(None, DryRun::Server).unwrap();
        assert_eq!(
            p.text(&claim).unwrap(),
            "persistentvolumeclaim/c volume updated (server dry run)\n"
        );
        let mut p = Printer::new(Some("name"), DryRun::Client).unwrap();
        assert_eq!(p.text(&deploy).unwrap(), "deployment.apps/web\n");
        let mut p = Printer::new(Some("yaml"), DryRun::None).unwrap();
        assert!(
            p.text(&deploy)
                .unwrap()
                .starts_with("apiVersion: apps/v1\n")
        );
        assert!(p.text(&claim).unwrap().starts_with("---\napiVersion: v1\n"));
        assert!(Printer::new(Some("wide"), DryRun::None).is_err());
        assert_eq!(DryRun::parse(Some("unchanged")).unwrap(), DryRun::Client);
        assert_eq!(
            DryRun::parse(Some("maybe")).unwrap_err().to_string(),
            "error: Invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\"."
        );
    }
}
