//! The build's source secret (`spec.source.sourceSecret`, mounted in the build pod at
//! `/var/run/secrets/openshift.io/source`) turned into git's configuration for the clone, as
//! upstream's builder reads it: `username`, `password` or `token` for http(s) URLs (kept in a
//! credential store file, never in the URL git prints), `ca.crt` for https URLs, and a
//! `.gitconfig`. The secret's `.gitconfig` is read as data, not included: git runs on the node
//! itself, so only keys that cannot run commands or send the clone elsewhere are taken.
//! `ssh-privatekey` is recognised, but ssh sources are not fetched by this node.

use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Where the build pod mounts the source secret (what messages name).
pub const SOURCE_MOUNT: &str = "/var/run/secrets/openshift.io/source";

/// The files of a source secret the builder knows.
const HANDLED: [&str; 6] = [
    "username",
    "password",
    "token",
    "ca.crt",
    ".gitconfig",
    "ssh-privatekey",
];

/// Upstream's user name when a password comes without one.
const DEFAULT_USERNAME: &str = "builder";

/// Git's configuration for one clone: the file `GIT_CONFIG_GLOBAL` names, the URL to fetch
/// (without credentials in it) and what the log says of it. The files are removed when it is
/// dropped.
#[derive(Debug)]
pub struct SourceAuth {
    dir: PathBuf,
    pub config: PathBuf,
    pub uri: String,
    /// Lines for the build's log (keys of the `.gitconfig` left out).
    pub notes: Vec<String>,
}

impl Drop for SourceAuth {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pieces of a URL the credentials concern.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    scheme: &'a str,
    user: &'a str,
    password: &'a str,
    /// Everything after the user information (host, port, path).
    rest: &'a str,
}

fn parse(uri: &str) -> Option<Url<'_>> {
    let (scheme, after) = uri.split_once("://")?;
    let authority_end = after.find('/').unwrap_or(after.len());
    let (user_info, rest) = match after[..authority_end].rfind('@') {
        Some(at) => (&after[..at], &after[at + 1..]),
        None => ("", after),
    };
    let (user, password) = user_info.split_once(':').unwrap_or((user_info, ""));
    Some(Url {
        scheme,
        user,
        password,
        rest,
    })
}

/// `value` percent-encoded for a URL's user information.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first line of a secret's file, if present.
fn first_line(dir: &Path, name: &str) -> Result<String, String> {
    match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("reading {SOURCE_MOUNT}/{name}: {e}")),
    }
}

/// Upstream's choice of credentials: the secret's user name, else the URL's; its token, else
/// its password, else the URL's. The URL to fetch and the credential-store line, or nothing
/// when the URL needs no change.
fn credentials(url: &Url<'_>, username: &str, password: &str, token: &str) -> Option<String> {
    let user = match username {
        "" => url.user.to_string(),
        u => encode(u),
    };
    let secret = match (token, password) {
        ("", "") => url.password.to_string(),
        ("", p) => encode(p),
        (t, _) => encode(t),
    };
    if secret.is_empty() && user == url.user {
        return None;
    }
    let user = if user.is_empty() {
        DEFAULT_USERNAME.to_string()
    } else {
        user
    };
    Some(format!("{}://{user}:{secret}@{}", url.scheme, url.rest))
}

/// Whether a `.gitconfig` key (as `git config --list` prints it) may be used: none that runs
/// a command, changes where git connects or what it trusts beyond TLS verification.
fn key_allowed(key: &str) -> bool {
    let (section, rest) = key.split_once('.').unwrap_or((key, ""));
    let name = rest.rsplit('.').next().unwrap_or(rest);
    match section {
        "user" => matches!(rest, "name" | "email"),
        "http" => matches!(name, "sslverify" | "sslcainfo" | "extraheader"),
        "credential" => name == "username",
        _ => false,
    }
}

/// The secret's `.gitconfig` as key/value pairs (its includes not followed), those git may
/// use, and the keys left out.
async fn gitconfig_entries(secret: &Path) -> Result<(Vec<(String, String)>, Vec<String>), String> {
    let path = secret.join(".gitconfig");
    let out = Command::new("git")
        .args(["config", "--no-includes", "--null", "--list", "--file"])
        .arg(&path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .await
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "reading {SOURCE_MOUNT}/.gitconfig: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for entry in text.split('\0').filter(|e| !e.is_empty()) {
        let (key, value) = entry.split_once('\n').unwrap_or((entry, "true"));
        if !key_allowed(key) {
            left_out.push(key.to_string());
            continue;
        }
        let value = if key.ends_with(".sslcainfo") {
            // A file of the secret, named as the build pod sees it.
            match value.strip_prefix(SOURCE_MOUNT) {
                Some(file) => secret
                    .join(file.trim_start_matches('/'))
                    .to_string_lossy()
                    .into_owned(),
                None => {
                    left_out.push(key.to_string());
                    continue;
                }
            }
        } else {
            value.to_string()
        };
        kept.push((key.to_string(), value));
    }
    Ok((kept, left_out))
}

async fn set(config: &Path, key: &str, value: &str) -> Result<(), String> {
    let out = Command::new("git")
        .args(["config", "--add", "--file"])
        .arg(config)
        .args([key, value])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .await
        .map_err(|e| format!("git: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "setting {key}: exit status {:?}",
            out.status.code()
        )),
    }
}

fn private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("creating {}: {e}", dir.display()))
}

fn private_file(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Git's configuration for cloning `uri` with the secret in `secret` (the node's directory
/// of the mount), in the new directory `scratch`. An error is the setup's, in upstream's
/// words.
pub async fn setup(secret: &Path, uri: &str, scratch: &Path) -> Result<SourceAuth, String> {
    let present: Vec<String> = std::fs::read_dir(secret)
        .map_err(|e| format!("cannot setup source secret: reading {SOURCE_MOUNT}: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| HANDLED.contains(&name.as_str()))
        .collect();
    if present.is_empty() {
        return Err(format!(
            "cannot setup source secret: no auth handler was found for secrets in {SOURCE_MOUNT}"
        ));
    }
    private_dir(scratch)?;
    let mut auth = SourceAuth {
        dir: scratch.to_path_buf(),
        config: scratch.join("gitconfig"),
        uri: uri.to_string(),
        notes: Vec::new(),
    };
    private_file(&auth.config, "")?;
    let has = |name: &str| present.iter().any(|p| p == name);
    let mut entries = Vec::new();
    if has(".gitconfig") {
        let (kept, left_out) = gitconfig_entries(secret).await?;
        entries.extend(kept);
        auth.notes.extend(left_out.into_iter().map(|key| {
            format!("Ignoring {key:?} of the source secret's .gitconfig: not used by this builder")
        }));
    }
    let url = parse(uri);
    let web = url
        .as_ref()
        .is_some_and(|u| matches!(u.scheme, "http" | "https"));
    if web
        && (has("username") || has("password") || has("token"))
        && let Some(url) = &url
    {
        let line = credentials(
            url,
            &first_line(secret, "username")?,
            &first_line(secret, "password")?,
            &first_line(secret, "token")?,
        );
        if let Some(line) = line {
            let store = scratch.join("credentials");
            private_file(&store, &format!("{line}\n"))?;
            entries.push((
                "credential.helper".into(),
                format!("store --file={}", store.display()),
            ));
            auth.uri = format!("{}://{}", url.scheme, url.rest);
        }
    }
    if has("ca.crt") && url.as_ref().is_some_and(|u| u.scheme == "https") {
        entries.push((
            "http.sslCAInfo".into(),
            secret.join("ca.crt").to_string_lossy().into_owned(),
        ));
    }
    for (key, value) in &entries {
        set(&auth.config, key, value).await?;
    }
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_around_their_user_information() {
        assert_eq!(
            parse("https://u:p@127.0.0.1:8443/r.git?x=a@b"),
            Some(Url {
                scheme: "https",
                user: "u",
                password: "p",
                rest: "127.0.0.1:8443/r.git?x=a@b"
            })
        );
        assert_eq!(parse("http://h/r").unwrap().user, "");
        assert!(parse("h:r").is_none());
    }

    #[test]
    fn credentials_are_chosen_as_upstreams() {
        let url = parse("https://h/r").unwrap();
        assert_eq!(credentials(&url, "", "", ""), None);
        assert_eq!(
            credentials(&url, "ann", "p w", "").as_deref(),
            Some("https://ann:p%20w@h/r")
        );
        // A token wins over a password; a missing user name is upstream's default.
        assert_eq!(
            credentials(&url, "", "p", "t").as_deref(),
            Some("https://builder:t@h/r")
        );
        let with_user = parse("http://ann@h/r").unwrap();
        assert_eq!(credentials(&with_user, "", "", ""), None);
        assert_eq!(
            credentials(&with_user, "", "pw", "").as_deref(),
            Some("http://ann:pw@h/r")
        );
    }

    #[test]
    fn only_harmless_gitconfig_keys_are_used() {
        for key in [
            "user.name",
            "http.sslverify",
            "http.https://h/.sslverify",
            "http.extraheader",
            "credential.username",
        ] {
            assert!(key_allowed(key), "{key}");
        }
        for key in [
            "credential.helper",
            "core.sshcommand",
            "core.fsmonitor",
            "http.proxy",
            "url.http://x/.insteadof",
            "include.path",
            "protocol.ext.allow",
        ] {
            assert!(!key_allowed(key), "{key}");
        }
    }

    #[tokio::test]
    async fn a_basic_auth_secret_and_ca_become_gitconfig() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::create_dir(&secret).unwrap();
        std::fs::write(secret.join("username"), "ann\n").unwrap();
        std::fs::write(secret.join("password"), "s3cret").unwrap();
        std::fs::write(secret.join("ca.crt"), "PEM").unwrap();
        std::fs::write(
            secret.join(".gitconfig"),
            "[http]\n\tsslVerify = true\n\tproxy = http://elsewhere\n[core]\n\tsshCommand = touch /tmp/x\n",
        )
        .unwrap();
        let scratch = dir.path().join("auth");
        let auth = setup(&secret, "https://127.0.0.1:9/r.git", &scratch)
            .await
            .unwrap();
        assert_eq!(auth.uri, "https://127.0.0.1:9/r.git");
        let config = std::fs::read_to_string(&auth.config).unwrap();
        assert!(config.contains("sslverify = true"), "{config}");
        assert!(config.contains("sslCAInfo"), "{config}");
        assert!(!config.contains("elsewhere") && !config.contains("touch"));
        assert!(!config.contains("s3cret"), "{config}");
        let store = std::fs::read_to_string(scratch.join("credentials")).unwrap();
        assert_eq!(store, "https://ann:s3cret@127.0.0.1:9/r.git\n");
        assert_eq!(auth.notes.len(), 2, "{:?}", auth.notes);
        drop(auth);
        assert!(!scratch.exists());

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let err = setup(&empty, "https://h/r", &dir.path().join("x"))
            .await
            .unwrap_err();
        assert!(err.contains("no auth handler was found"), "{err}");
    }
}
