//! The htpasswd identity provider: `user:hash` lines, with bcrypt (`$2y$`, `$2a$`, `$2b$`)
//! or `{SHA}` hashes. The file is re-read when it changes, so users can be added or removed
//! without a restart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine;
use sha1::Digest;

pub struct Htpasswd {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

/// The file's entries (user, hash) as of its modification time.
type Loaded = (Option<SystemTime>, Vec<(String, String)>);

impl Htpasswd {
    pub fn new(path: &Path) -> Htpasswd {
        Htpasswd {
            path: path.to_path_buf(),
            loaded: Mutex::new((None, Vec::new())),
        }
    }

    /// Whether `password` is `user`'s. An unreadable file authenticates nobody.
    pub fn authenticate(&self, user: &str, password: &str) -> bool {
        let hash = {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            let modified = std::fs::metadata(&self.path)
                .and_then(|m| m.modified())
                .ok();
            if modified.is_none() || modified != loaded.0 {
                let entries = std::fs::read_to_string(&self.path)
                    .map(|text| parse(&text))
                    .unwrap_or_default();
                *loaded = (modified, entries);
            }
            loaded
                .1
                .iter()
                .find(|(u, _)| u == user)
                .map(|(_, h)| h.clone())
        };
        hash.is_some_and(|h| verify(password, &h))
    }
}

fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(u, h)| (u.to_string(), h.to_string()))
        .collect()
}

fn verify(password: &str, hash: &str) -> bool {
    if let Some(sha) = hash.strip_prefix("{SHA}") {
        let digest = sha1::Sha1::digest(password.as_bytes());
        return base64::engine::general_purpose::STANDARD.encode(digest) == sha;
    }
    if hash.starts_with("$2") {
        return bcrypt::verify(password, hash).unwrap_or(false);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_and_sha_entries_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("htpasswd");
        let alice = bcrypt::hash("wonderland", 4).unwrap();
        // `htpasswd -s`: {SHA} of "secret".
        std::fs::write(
            &path,
            format!("# users\nalice:{alice}\nbob:{{SHA}}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"),
        )
        .unwrap();
        let idp = Htpasswd::new(&path);
        assert!(idp.authenticate("alice", "wonderland"));
        assert!(!idp.authenticate("alice", "wrong"));
        assert!(idp.authenticate("bob", "secret"));
        assert!(!idp.authenticate("carol", "secret"));
        // A changed file is picked up.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, format!("carol:{alice}\n")).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(later).unwrap();
        assert!(idp.authenticate("carol", "wonderland"));
        assert!(!idp.authenticate("alice", "wonderland"));
    }
}
