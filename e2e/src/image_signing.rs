//! What tests of image signing share: OCI layouts of small images and GPG keys made on the
//! spot.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// An OCI layout of one image with an empty layer, told apart from others by a label:
/// `oci:<dir>`.
pub fn oci_layout(dir: &Path, label: &str) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(&digest[7..]), bytes).unwrap();
        (digest, bytes.len())
    };
    let (layer, layer_size) = put(&[0u8; 1024]);
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Labels": {"trust-test": label}},
        "rootfs": {"type": "layers", "diff_ids": [layer]}});
    let (config, config_size) = put(config.to_string().as_bytes());
    let manifest = serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]});
    let (manifest, manifest_size) = put(manifest.to_string().as_bytes());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": manifest_size}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    format!("oci:{}", dir.display())
}

/// `gpg` in the keyring `home`, its stdout; the test fails when it does.
pub fn gpg(home: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--passphrase", ""])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A signing key in a fresh GNUPGHOME `home`: its fingerprint.
pub fn gpg_key(home: &Path) -> String {
    std::fs::create_dir_all(home).unwrap();
    gpg(
        home,
        &[
            "--quick-gen-key",
            "Trust E2E <trust@example.com>",
            "rsa2048",
            "sign",
            "never",
        ],
    );
    fingerprint(home)
}

/// The fingerprint of the first key in the keyring `home`.
pub fn fingerprint(home: &Path) -> String {
    let listed = String::from_utf8(gpg(home, &["--list-keys", "--with-colons"])).unwrap();
    listed
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_string()
}

/// Stops the gpg-agent a key's use started in `home`.
pub fn stop_gpg_agent(home: &Path) {
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home)
        .args(["--kill", "gpg-agent"])
        .output();
}

/// Why a test that signs images with gpg and pushes them with skopeo to real pods cannot run
/// here, if it cannot.
pub fn signing_unavailable() -> Option<String> {
    if let Some(why) = crate::real_pods::real_pods_unavailable() {
        return Some(why);
    }
    (!Path::new("/usr/bin/gpg").exists() || !Path::new("/usr/bin/skopeo").exists())
        .then(|| "gpg or skopeo is missing (hack/setup.sh installs them)".to_string())
}

/// A lookaside signature store: `python -m http.server` publishing `dir` on a loopback port.
pub fn serve_store(dir: &Path, port: u16) -> Child {
    let child = Command::new(crate::python())
        .args(["-m", "http.server", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the signature store did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// Signs `manifest` (the bytes the registry serves for `reference`, `host/repository:tag`)
/// with the key `fingerprint` of the keyring `gnupg` into the lookaside store `store`, where
/// containers' lookaside stores keep it: `<repository>@sha256=<hex>/signature-1`, whose path
/// it returns.
pub fn sign_into_store(
    gnupg: &Path,
    store: &Path,
    manifest: &[u8],
    reference: &str,
    fingerprint: &str,
) -> PathBuf {
    let digest = sha256(manifest);
    let path = reference.split_once('/').map_or(reference, |(_, p)| p);
    let repository = match path.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => path,
    };
    let signature = store
        .join(format!("{repository}@sha256={}", &digest[7..]))
        .join("signature-1");
    std::fs::create_dir_all(signature.parent().unwrap()).unwrap();
    let unsigned = store.with_extension(format!("{}.json", &digest[7..19]));
    std::fs::write(&unsigned, manifest).unwrap();
    let out = Command::new("skopeo")
        .env("GNUPGHOME", gnupg)
        .arg("standalone-sign")
        .args([&unsigned, Path::new(reference)])
        .arg(fingerprint)
        .arg("--output")
        .arg(&signature)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo standalone-sign {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    signature
}

/// The public key `fingerprint` of the keyring `home`, base64 of its binary export: the
/// `keyData` of a `signedBy` requirement.
pub fn key_data(home: &Path, fingerprint: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(gpg(home, &["--export", fingerprint]))
}

/// How skopeo authenticates to a registry.
#[derive(Clone, Copy)]
pub enum RegistryAuth<'a> {
    Anonymous,
    /// `user:password`.
    Creds(&'a str),
    /// A containers-auth.json file.
    AuthFile(&'a str),
}

impl RegistryAuth<'_> {
    /// skopeo's arguments for it: `creds_flag` names the credentials (`--creds`,
    /// `--dest-creds`).
    fn args<'s>(&'s self, creds_flag: &'s str) -> Vec<&'s str> {
        match self {
            RegistryAuth::Anonymous => Vec::new(),
            RegistryAuth::Creds(creds) => vec![creds_flag, creds],
            RegistryAuth::AuthFile(file) => vec!["--authfile", file],
        }
    }
}

/// A repository of a registry on loopback holding two small images: `v1`, signed by a key
/// made on the spot into a lookaside store served on loopback, and `unsigned`. The store and
/// the key's gpg-agent are stopped when it is dropped.
pub struct SignedRepository {
    /// The keyring holding the key.
    pub gnupg: PathBuf,
    pub fingerprint: String,
    /// `v1`'s manifest digest.
    pub digest: String,
    /// `v1`'s signature in the store.
    pub signature: PathBuf,
    /// Where the lookaside store is served: `http://127.0.0.1:<store_port>`.
    pub store_port: u16,
    store: Option<Child>,
}

impl SignedRepository {
    /// Pushes both tags to `repo` (`host:port/path`, its TLS, if any, not verified) as `auth`
    /// says, signs `v1` as the registry serves it, and serves the store; its files go under
    /// `dir`.
    pub fn push(dir: &Path, repo: &str, auth: RegistryAuth) -> SignedRepository {
        let gnupg = dir.join("gnupg");
        let fingerprint = gpg_key(&gnupg);
        let skopeo = |args: &[&str]| skopeo_with(&gnupg, args);
        for (tag, label) in [("v1", "signed"), ("unsigned", "unsigned")] {
            let layout = oci_layout(&dir.join(label), label);
            let to = format!("docker://{repo}:{tag}");
            let mut args = vec!["--insecure-policy", "copy", "--dest-tls-verify=false"];
            args.extend(auth.args("--dest-creds"));
            args.extend([layout.as_str(), to.as_str()]);
            crate::output::ok(skopeo(&args), &format!("push {tag}"));
        }
        let v1 = format!("docker://{repo}:v1");
        let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
        args.extend(auth.args("--creds"));
        args.push(&v1);
        let raw = skopeo(&args);
        assert!(
            raw.status.success(),
            "skopeo inspect --raw: {}",
            crate::output::text(&raw)
        );
        // Signed into the layout `lookaside-staging` writes (`--sign-by` would store the
        // signature through a registry's signature extension instead).
        let sigstore = dir.join("sigstore");
        let reference = format!("{repo}:v1");
        let signature = sign_into_store(&gnupg, &sigstore, &raw.stdout, &reference, &fingerprint);
        let store_port = crate::free_port();
        let store = serve_store(&sigstore, store_port);
        SignedRepository {
            gnupg,
            fingerprint,
            digest: sha256(&raw.stdout),
            signature,
            store_port,
            store: Some(store),
        }
    }

    /// `skopeo` with the key's keyring.
    pub fn skopeo(&self, args: &[&str]) -> Output {
        skopeo_with(&self.gnupg, args)
    }

    /// The `signedBy` requirements that trust the key.
    pub fn signed_by(&self) -> serde_json::Value {
        serde_json::json!([{"type": "signedBy", "keyType": "GPGKeys",
            "keyData": key_data(&self.gnupg, &self.fingerprint)}])
    }

    /// Stops serving the store.
    pub fn stop_store(&mut self) {
        if let Some(mut store) = self.store.take() {
            let _ = store.kill();
            let _ = store.wait();
        }
    }
}

impl Drop for SignedRepository {
    fn drop(&mut self) {
        self.stop_store();
        stop_gpg_agent(&self.gnupg);
    }
}

fn skopeo_with(gnupg: &Path, args: &[&str]) -> Output {
    Command::new("skopeo")
        .env("GNUPGHOME", gnupg)
        .args(args)
        .output()
        .unwrap()
}
