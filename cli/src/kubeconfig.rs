//! The kubeconfig file, shared with kubectl and the real `oc`: found as they find it
//! (`--kubeconfig`, else the first file of `$KUBECONFIG`, else `~/.kube/config`), edited
//! entry by entry (fields this tool does not know are kept), and written owner-only. Entries
//! are named as `oc login` names them: cluster `127-0-0-1:8443`, user `alice/127-0-0-1:8443`,
//! context `<project>/127-0-0-1:8443/alice`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::error::CliError;

pub struct Kubeconfig {
    pub path: PathBuf,
    pub doc: Value,
}

/// The file to read and write.
pub fn location(flag: Option<&Path>) -> PathBuf {
    if let Some(path) = flag {
        return path.to_path_buf();
    }
    if let Some(first) = std::env::var_os("KUBECONFIG")
        .and_then(|v| std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty()))
    {
        return first;
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".kube").join("config")
}

/// `127-0-0-1:8443` for `https://127.0.0.1:8443`.
pub fn cluster_nickname(server: &str) -> String {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    host.replace('.', "-")
}

pub fn user_nickname(user: &str, server: &str) -> String {
    format!("{user}/{}", cluster_nickname(server))
}

pub fn context_nickname(namespace: &str, server: &str, user: &str) -> String {
    format!("{namespace}/{}/{user}", cluster_nickname(server))
}

impl Kubeconfig {
    /// The file at `path` (an empty configuration if it does not exist).
    pub fn load(path: PathBuf) -> Result<Kubeconfig, CliError> {
        let doc = match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => {
                serde_saphyr::from_str::<Value>(&text).map_err(|e| {
                    CliError::msg(format!(
                        "error loading config file \"{}\": {e}",
                        path.display()
                    ))
                })?
            }
            Ok(_) => Value::Null,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Value::Null,
            Err(e) => {
                return Err(CliError::msg(format!(
                    "error loading config file \"{}\": {e}",
                    path.display()
                )));
            }
        };
        let mut config = Kubeconfig { path, doc };
        if !config.doc.is_object() {
            config.doc = json!({"apiVersion": "v1", "kind": "Config", "preferences": {}});
        }
        for list in ["clusters", "contexts", "users"] {
            if !config.doc[list].is_array() {
                config.doc[list] = json!([]);
            }
        }
        Ok(config)
    }

    pub fn save(&self) -> Result<(), CliError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = crate::printers::yaml(&self.canonical())
            .map_err(|e| CliError::msg(format!("error writing the kubeconfig: {e}")))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CliError::msg(e.to_string()))?;
        }
        let tmp = self.path.with_extension("oc-tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            CliError::msg(format!(
                "error writing the kubeconfig \"{}\": {e}",
                self.path.display()
            ))
        })
    }

    fn find<'a>(&'a self, list: &str, name: &str) -> Option<&'a Value> {
        self.doc[list]
            .as_array()?
            .iter()
            .find(|e| e["name"] == name)
    }

    /// Sets the entry `name` of `list` (`clusters`, `users`, `contexts`): `body` goes under
    /// `field` (`cluster`, `user`, `context`), merged into what is there.
    pub fn upsert(&mut self, list: &str, field: &str, name: &str, body: Value) {
        let Some(entries) = self.doc[list].as_array_mut() else {
            return;
        };
        match entries.iter_mut().find(|e| e["name"] == name) {
            Some(entry) => {
                if !entry[field].is_object() {
                    entry[field] = json!({});
                }
                for (k, v) in body.as_object().into_iter().flatten() {
                    match v {
                        Value::Null => drop(entry[field].as_object_mut().and_then(|m| m.remove(k))),
                        v => entry[field][k] = v.clone(),
                    }
                }
            }
            None => entries.push(json!({"name": name, field: body})),
        }
    }

    /// The document as kubectl writes it: entries sorted by name (and keys sorted when
    /// printed), so files written by either tool read the same.
    pub fn canonical(&self) -> Value {
        let mut doc = self.doc.clone();
        for list in ["clusters", "contexts", "users"] {
            if let Some(entries) = doc[list].as_array_mut() {
                entries.sort_by(|a, b| {
                    a["name"]
                        .as_str()
                        .unwrap_or_default()
                        .cmp(b["name"].as_str().unwrap_or_default())
                });
            }
        }
        doc
    }

    pub fn current_context(&self) -> Option<&str> {
        self.doc["current-context"]
            .as_str()
            .filter(|c| !c.is_empty())
    }

    pub fn set_current_context(&mut self, name: &str) {
        self.doc["current-context"] = json!(name);
    }

    /// The context (`cluster`, `user`, `namespace`) of `name`.
    pub fn context(&self, name: &str) -> Option<&Value> {
        self.find("contexts", name).map(|c| &c["context"])
    }

    pub fn cluster(&self, name: &str) -> Option<&Value> {
        self.find("clusters", name).map(|c| &c["cluster"])
    }

    pub fn user(&self, name: &str) -> Option<&Value> {
        self.find("users", name).map(|c| &c["user"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_names() {
        assert_eq!(cluster_nickname("https://127.0.0.1:8443"), "127-0-0-1:8443");
        assert_eq!(
            user_nickname("alice", "https://api.example.com:6443"),
            "alice/api-example-com:6443"
        );
        assert_eq!(
            context_nickname("demo", "https://127.0.0.1:8443", "alice"),
            "demo/127-0-0-1:8443/alice"
        );
    }

    #[test]
    fn entries_are_edited_in_place_and_unknown_fields_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://a\n    extensions: [x]\nusers: []\ncontexts: []\n",
        )
        .unwrap();
        let mut k = Kubeconfig::load(path.clone()).unwrap();
        k.upsert("clusters", "cluster", "c", json!({"server": "https://b"}));
        k.upsert("users", "user", "u", json!({"token": "t"}));
        k.upsert("users", "user", "u", json!({"token": null}));
        k.set_current_context("ctx");
        k.save().unwrap();
        let k = Kubeconfig::load(path.clone()).unwrap();
        assert_eq!(k.cluster("c").unwrap()["server"], "https://b");
        assert_eq!(k.cluster("c").unwrap()["extensions"], json!(["x"]));
        assert!(k.user("u").unwrap().get("token").is_none());
        assert_eq!(k.current_context(), Some("ctx"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
