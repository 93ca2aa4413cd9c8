//! `oc registry login` (credentials for the integrated registry written to a Docker
//! config.json) and `oc registry info` (its host names), as upstream's: the host is found in
//! the status of the first image stream of the current project, else of `openshift`.

use std::path::PathBuf;

use base64::Engine;
use serde_json::{Map, Value};

use super::Globals;
use crate::client::{Session, session};
use crate::error::CliError;

#[derive(Debug, clap::Subcommand)]
pub enum RegistryCommand {
    /// Log in to the integrated registry.
    Login(LoginArgs),
    /// Print information about the integrated registry.
    Info(InfoArgs),
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Provide credentials in the form 'user:password' to authenticate (advanced).
    #[arg(long)]
    auth_basic: Option<String>,
    /// The location of the file your credentials will be stored in. Default is Docker
    /// config.json.
    #[arg(long = "registry-config", short = 'a', visible_alias = "to")]
    registry_config: Option<String>,
    /// Log in as the specified service account name in the specified namespace.
    #[arg(long = "service-account", short = 'z')]
    service_account: Option<String>,
    /// An alternate domain name and port to use for the registry, defaults to the cluster's
    /// configured external hostname.
    #[arg(long)]
    registry: Option<String>,
    /// Skip checking the credentials against the registry.
    #[arg(long)]
    skip_check: bool,
    /// Bypass HTTPS certificate verification when checking the registry login.
    #[arg(long)]
    insecure: bool,
}

#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Return the internal hostname of the registry.
    #[arg(long)]
    internal: bool,
    /// Return the public hostname of the registry.
    #[arg(long)]
    public: bool,
    /// Attempt to contact the registry at the returned hostname.
    #[arg(long)]
    check: bool,
    /// Suppress informational messages (upstream wires this to `--check`).
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub async fn run(g: &Globals, c: RegistryCommand) -> Result<(), CliError> {
    match c {
        RegistryCommand::Login(a) => login(g, &a).await,
        RegistryCommand::Info(a) => info(g, &a).await,
    }
}

/// The registry part of the first image stream's public and internal repositories.
struct Hostnames {
    public: String,
    internal: String,
}

async fn hostnames(s: &Session) -> Result<Option<Hostnames>, CliError> {
    for ns in [s.namespace.as_str(), "openshift"] {
        let list = match s
            .get(&format!(
                "/apis/image.openshift.io/v1/namespaces/{ns}/imagestreams"
            ))
            .await
        {
            Ok(list) => list,
            Err(CliError::Server { reason, message }) if reason == "Unauthorized" => {
                return Err(CliError::Server { reason, message });
            }
            Err(_) => continue,
        };
        let Some(first) = list["items"].as_array().and_then(|i| i.first()) else {
            continue;
        };
        let host = |field: &str| registry_of(first["status"][field].as_str().unwrap_or_default());
        return Ok(Some(Hostnames {
            public: host("publicDockerImageRepository"),
            internal: host("dockerImageRepository"),
        }));
    }
    Ok(None)
}

/// `host[:port]` of `host[:port]/ns/name`.
fn registry_of(repository: &str) -> String {
    match repository.split_once('/') {
        Some((host, _)) => host.to_string(),
        None => String::new(),
    }
}

/// Where the cluster's image configuration says the integrated registry is; used when no
/// image stream tells it.
async fn configured_internal(s: &Session) -> Option<String> {
    let image = s
        .get("/apis/config.openshift.io/v1/images/cluster")
        .await
        .ok()?;
    image["status"]["internalRegistryHostname"]
        .as_str()
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

async fn login(g: &Globals, a: &LoginArgs) -> Result<(), CliError> {
    if a.service_account.is_some() && a.auth_basic.is_some() {
        return Err(CliError::msg(
            "You may only specify a single authentication input as -z or --auth-basic",
        ));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let (user, password) = if let Some(sa) = &a.service_account {
        service_account_credentials(&s, sa).await?
    } else if let Some(basic) = &a.auth_basic {
        let (u, p) = basic
            .split_once(':')
            .ok_or_else(|| CliError::msg("--auth-basic must be in the form user:password"))?;
        (u.to_string(), p.to_string())
    } else {
        let token = s
            .token
            .clone()
            .ok_or_else(|| CliError::msg("no token is currently in use for this session"))?;
        ("user".to_string(), token)
    };
    let host = match &a.registry {
        Some(h) => h.clone(),
        None => {
            let found = hostnames(&s).await?;
            match found {
                Some(h) if !h.public.is_empty() => {
                    eprintln!("info: Using registry public hostname {}", h.public);
                    h.public
                }
                Some(h) if !h.internal.is_empty() => {
                    eprintln!("info: Using internal registry hostname {}", h.internal);
                    h.internal
                }
                _ => match configured_internal(&s).await {
                    Some(h) => {
                        eprintln!("info: Using internal registry hostname {h}");
                        h
                    }
                    None => String::new(),
                },
            }
        }
    };
    if host.is_empty() {
        return Err(CliError::msg(
            "The public hostname of the integrated registry could not be determined. Please specify one with --registry.",
        ));
    }
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}").as_bytes());
    let target = a.registry_config.clone().unwrap_or_default();
    let (path, create_dir) = match target.as_str() {
        "" => (Some(default_config_file()?), true),
        "-" => (None, false),
        p => (Some(PathBuf::from(p)), false),
    };
    let existing = match &path {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(CliError::msg(e.to_string())),
        },
        None => Vec::new(),
    };
    let shown = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "-".into());
    let contents = with_auth(&existing, &host, &auth, &shown)?;
    match path {
        None => println!("{contents}"),
        Some(path) => {
            if create_dir && let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            write_private(&path, contents.as_bytes())?;
            println!("Saved credentials for {host}");
        }
    }
    Ok(())
}

/// The config file with `auths[host] = {auth}` set, other entries kept.
fn with_auth(existing: &[u8], host: &str, auth: &str, file: &str) -> Result<String, CliError> {
    let existing = if existing.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        existing
    };
    let mut config: Map<String, Value> = serde_json::from_slice(existing)
        .map_err(|e| CliError::msg(format!("unable to parse existing credentials {file}: {e}")))?;
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(auths) = auths.as_object_mut() else {
        return Err(CliError::msg(format!(
            "the specified config file {file} does not appear to be in the correct Docker config.json format: have 'auths' key of type {}",
            go_type(auths)
        )));
    };
    auths.insert(host.into(), serde_json::json!({ "auth": auth }));
    // As Go writes maps: keys sorted, two-space indentation.
    serde_json::to_string_pretty(&sorted(Value::Object(config)))
        .map_err(|e| CliError::msg(e.to_string()))
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Number(_) => "float64",
        Value::Bool(_) => "bool",
        _ => "<nil>",
    }
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        v => v,
    }
}

fn default_config_file() -> Result<PathBuf, CliError> {
    let home = std::env::var_os("HOME").ok_or_else(|| CliError::msg("no home directory"))?;
    Ok(PathBuf::from(home).join(".docker").join("config.json"))
}

fn write_private(path: &std::path::Path, contents: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::msg(format!("open {}: {e}", path.display())))?;
    file.write_all(contents)
        .map_err(|e| CliError::msg(format!("write {}: {e}", path.display())))
}

/// The token of the service account's first token secret, as upstream reads it.
async fn service_account_credentials(
    s: &Session,
    name: &str,
) -> Result<(String, String), CliError> {
    let ns = &s.namespace;
    let account = match s
        .get(&format!("/api/v1/namespaces/{ns}/serviceaccounts/{name}"))
        .await
    {
        Ok(a) => a,
        Err(CliError::Server { reason, .. }) if reason == "NotFound" => {
            return Err(CliError::msg(format!(
                "the service account {name} does not exist in namespace {ns}"
            )));
        }
        Err(e) => return Err(e),
    };
    let mut last_forbidden = false;
    for secret in account["secrets"].as_array().into_iter().flatten() {
        let Some(secret_name) = secret["name"].as_str() else {
            continue;
        };
        let secret = match s
            .get(&format!("/api/v1/namespaces/{ns}/secrets/{secret_name}"))
            .await
        {
            Ok(s) => s,
            Err(CliError::Server { reason, .. }) => {
                last_forbidden = reason == "Forbidden";
                continue;
            }
            Err(_) => continue,
        };
        if secret["type"] != "kubernetes.io/service-account-token" {
            continue;
        }
        let token = secret["data"]["token"]
            .as_str()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .and_then(|t| String::from_utf8(t).ok())
            .filter(|t| !t.is_empty());
        if let Some(token) = token {
            return Ok((format!("system-serviceaccount-{ns}-{name}"), token));
        }
    }
    if last_forbidden {
        return Err(CliError::msg(format!(
            "you do not have permission to view service account secrets in namespace {ns}"
        )));
    }
    Err(CliError::msg(format!(
        "the service account {name} had no valid secrets associated with it"
    )))
}

async fn info(g: &Globals, a: &InfoArgs) -> Result<(), CliError> {
    if a.internal && a.public {
        return Err(CliError::msg(
            "only one of --internal or --public may be specified at a time",
        ));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let Some(h) = hostnames(&s).await? else {
        return Err(CliError::msg(
            "no image streams could be located to retrieve registry info, please specify a namespace with image streams",
        ));
    };
    if h.public.is_empty() && h.internal.is_empty() {
        return Err(CliError::msg(
            "the integrated registry has not been configured",
        ));
    }
    let host = if a.public {
        if h.public.is_empty() {
            return Err(CliError::msg("registry does not have public hostname"));
        }
        h.public
    } else if a.internal {
        if h.internal.is_empty() {
            return Err(CliError::msg("registry does not have an internal hostname"));
        }
        h.internal
    } else if !h.public.is_empty() {
        h.public
    } else {
        if a.check || a.quiet {
            eprintln!("info: Registry does not have a public hostname");
        }
        h.internal
    };
    if a.check || a.quiet {
        // The integrated registry answers plain HTTP on loopback: insecure access is allowed.
        let options = registry_client::Options {
            insecure: true,
            timeout: std::time::Duration::from_secs(15),
            ..Default::default()
        };
        registry_client::RegistryClient::new()
            .ping(&host, &options)
            .await
            .map_err(|e| {
                CliError::msg(format!("registry could not be contacted at {host}: {e}"))
            })?;
    }
    println!("{host}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_added_to_the_config_as_go_writes_it() {
        let out = with_auth(
            br#"{"auths":{"z":{"auth":"eg=="}},"credsStore":"x"}"#,
            "127.0.0.1:5000",
            "dXNlcjp0",
            "f",
        )
        .unwrap();
        assert_eq!(
            out,
            "{\n  \"auths\": {\n    \"127.0.0.1:5000\": {\n      \"auth\": \"dXNlcjp0\"\n    },\n    \"z\": {\n      \"auth\": \"eg==\"\n    }\n  },\n  \"credsStore\": \"x\"\n}"
        );
        assert_eq!(
            with_auth(b"", "h", "a", "f").unwrap(),
            "{\n  \"auths\": {\n    \"h\": {\n      \"auth\": \"a\"\n    }\n  }\n}"
        );
        assert!(with_auth(br#"{"auths":"x"}"#, "h", "a", "f").is_err());
        assert_eq!(registry_of("127.0.0.1:5000/ns/app"), "127.0.0.1:5000");
        assert_eq!(registry_of(""), "");
    }
}
