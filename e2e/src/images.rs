//! Images and keys for the image trust tests: OCI layouts of one small image that `skopeo`
//! pushes, and GPG signing keys in a test's own GNUPGHOME.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// An OCI layout of one image with an empty layer, told apart from others by a label.
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

/// A signing key in a fresh GNUPGHOME: its fingerprint.
pub fn gpg_key(home: &Path) -> String {
    std::fs::create_dir_all(home).unwrap();
    let gpg = |args: &[&str]| {
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
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    gpg(&[
        "--quick-gen-key",
        "Trust E2E <trust@example.com>",
        "rsa2048",
        "sign",
        "never",
    ]);
    let listed = gpg(&["--list-keys", "--with-colons"]);
    listed
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_string()
}
