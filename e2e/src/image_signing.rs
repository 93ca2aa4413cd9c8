//! What tests of image signing share: OCI layouts of small images and GPG keys made on the
//! spot.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
