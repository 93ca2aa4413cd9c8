//! The htpasswd identity provider: `user:hash` lines, with bcrypt (`$2y$`, `$2a$`, `$2b$`),
//! Apache MD5 (`$apr1$`) or `{SHA}` hashes, as `htpasswd -B`, `-m` and `-s` write them. The file is re-read when it changes, so users can be added or removed
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
    if let Some(rest) = hash.strip_prefix("$apr1$")
        && let Some((salt, _)) = rest.split_once('$')
    {
        return apr1(password.as_bytes(), salt.as_bytes()) == hash;
    }
    false
}

/// Apache's MD5-crypt (`$apr1$<salt>$<22 characters>`), the algorithm of `htpasswd -m`.
fn apr1(password: &[u8], salt: &[u8]) -> String {
    use md5::{Digest, Md5};
    let salt = &salt[..salt.len().min(8)];
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(b"$apr1$")
        .chain_update(salt);
    let mut remaining = password.len();
    while remaining > 0 {
        let n = remaining.min(16);
        ctx.update(&alternate[..n]);
        remaining -= n;
    }
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..password.len().min(1)]);
        }
        bits >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut round_ctx = Md5::new();
        if round % 2 == 1 {
            round_ctx.update(password);
        } else {
            round_ctx.update(digest);
        }
        if round % 3 != 0 {
            round_ctx.update(salt);
        }
        if round % 7 != 0 {
            round_ctx.update(password);
        }
        if round % 2 == 1 {
            round_ctx.update(digest);
        } else {
            round_ctx.update(password);
        }
        digest = round_ctx.finalize();
    }
    const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::new();
    let mut encode = |value: u32, count: usize| {
        let mut v = value;
        for _ in 0..count {
            out.push(ALPHABET[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    let d = |i: usize| u32::from(digest[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        encode((d(a) << 16) | (d(b) << 8) | d(c), 4);
    }
    encode(d(11), 2);
    format!("$apr1${}${out}", String::from_utf8_lossy(salt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apr1_matches_openssl() {
        // `openssl passwd -apr1 -salt ...`
        assert!(verify(
            "wonderland",
            "$apr1$hfT7jp2q$hoLYlJkggdkc288ClhDrb/"
        ));
        assert!(verify("p@ss w0rd", "$apr1$a1b2c3d4$hZh1SNM4PkS5B7Pf8TNFt1"));
        assert!(!verify(
            "wonderlanD",
            "$apr1$hfT7jp2q$hoLYlJkggdkc288ClhDrb/"
        ));
        assert!(!verify("x", "$apr1$nosalt"));
    }

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
        // A changed file is picked up (its modification time set apart from the first's, as
        // a coarse clock might not).
        std::fs::write(&path, format!("carol:{alice}\n")).unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(later).unwrap();
        assert!(idp.authenticate("carol", "wonderland"));
        assert!(!idp.authenticate("alice", "wonderland"));
    }
}
