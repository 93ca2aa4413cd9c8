//! The integrated registry's signature extension with real tools: a project admin who may
//! sign images (`system:image-signer`) pushes an image with `skopeo copy --sign-by` and a GPG
//! key the test makes; skopeo finds the extension advertised on `/v2/` and stores the
//! signature there, which makes it an ImageSignature of the Image. A pull under a policy
//! requiring that key succeeds (the signature read back through the extension: no lookaside
//! store is configured), one requiring another key is refused. A user who may not sign gets
//! the registry's `DENIED` for the signature of the image they push, nobody anonymous may
//! read or write signatures, and a user without rights in the project may not read them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use e2e::image_signing::{gpg, gpg_key, oci_layout, signing_unavailable, stop_gpg_agent};
use e2e::oc::{oc, registry_login};
use e2e::output::{failed, ok};
use e2e::{Backend, Cluster};

/// `curl` of the registry: the status line and headers, then the body.
fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "60"])
        .args(args)
        .output()
        .unwrap();
    ok(out, &format!("curl {args:?}"))
}

/// A `containers-policy.json` requiring signatures by the key in `key` for the project's
/// repositories, and refusing everything else.
fn policy(path: &Path, scope: &str, key: &Path) -> String {
    let policy = serde_json::json!({"default": [{"type": "reject"}],
        "transports": {"docker": {scope: [
            {"type": "signedBy", "keyType": "GPGKeys", "keyPath": key}]}}});
    std::fs::write(path, policy.to_string()).unwrap();
    path.display().to_string()
}

#[test]
fn signatures_are_pushed_and_read_through_the_registry() {
    if let Some(why) = signing_unavailable() {
        eprintln!("SKIPPED signatures_are_pushed_and_read_through_the_registry: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dirp = dir.path();
    let passwords = dirp.join("htpasswd");
    let line = |user: &str| format!("{user}:{}\n", bcrypt::hash("pw", 4).unwrap());
    std::fs::write(&passwords, line("alice") + &line("bob")).unwrap();
    let c = Cluster::start_with(
        Backend::Embedded,
        &["--registry=true", "--htpasswd", passwords.to_str().unwrap()],
    );
    let registry = c.kubectl_ok(&[
        "get",
        "images.config.openshift.io",
        "cluster",
        "-o",
        "jsonpath={.status.internalRegistryHostname}",
    ]);
    // An empty registries.d: no lookaside store anywhere, the extension is the only way.
    let no_lookaside = dirp.join("registries.d");
    std::fs::create_dir_all(&no_lookaside).unwrap();
    let gnupg = dirp.join("gnupg");
    let fingerprint = gpg_key(&gnupg);
    let skopeo = |authfile: &Path, args: &[&str]| {
        Command::new("skopeo")
            .env("GNUPGHOME", &gnupg)
            .args(["--registries.d", no_lookaside.to_str().unwrap()])
            .args(args)
            .arg("--authfile")
            .arg(authfile)
            .output()
            .unwrap()
    };
    let login = |user: &str| registry_login(&c, dirp, user, &registry);
    let (alice, alice_auth, alice_token) = login("alice");
    let (bob, bob_auth, bob_token) = login("bob");
    ok(oc(&alice, &["new-project", "shop"]), "oc new-project shop");
    ok(oc(&bob, &["new-project", "bobs"]), "oc new-project bobs");
    c.kubectl_ok(&[
        "create",
        "clusterrolebinding",
        "alice-signs",
        "--clusterrole=system:image-signer",
        "--user=alice",
    ]);

    // The extension is advertised where clients look for it.
    let base = curl(&[&format!("http://{registry}/v2/")]);
    assert!(base.starts_with("HTTP/1.1 401"), "{base}");
    assert!(
        base.to_ascii_lowercase()
            .contains("x-registry-supports-signatures: 1"),
        "{base}"
    );

    // Pushed and signed by alice: the signature becomes an ImageSignature of the Image.
    let layout = oci_layout(&dirp.join("image"), "signed-through-the-registry");
    let repo = format!("{registry}/shop/app");
    let digest_file = dirp.join("digest");
    ok(
        skopeo(
            &alice_auth,
            &[
                "--insecure-policy",
                "copy",
                "--dest-tls-verify=false",
                "--sign-by",
                &fingerprint,
                "--digestfile",
                digest_file.to_str().unwrap(),
                &layout,
                &format!("docker://{repo}:v1"),
            ],
        ),
        "signed push",
    );
    let digest = std::fs::read_to_string(&digest_file)
        .unwrap()
        .trim()
        .to_string();
    let image = ok(
        oc(&alice, &["get", "image", &digest, "-o", "yaml"]),
        "oc get image",
    );
    assert!(image.contains("signatures:"), "{image}");
    assert!(image.contains(&format!("name: {digest}@")), "{image}");
    assert!(image.contains("type: atomic"), "{image}");
    let content = c.kubectl_ok(&[
        "get",
        "images.image.openshift.io",
        &digest,
        "-o",
        "jsonpath={.signatures[0].content}",
    ]);
    assert!(!content.is_empty());

    // Read back as the extension lists it, by the holder of a pull right.
    let signatures_url = format!("http://{registry}/extensions/v2/shop/app/signatures/{digest}");
    let listed = curl(&[
        "-H",
        &format!("Authorization: Bearer {alice_token}"),
        &signatures_url,
    ]);
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let body: serde_json::Value =
        serde_json::from_str(listed.rsplit("\r\n\r\n").next().unwrap()).unwrap();
    assert_eq!(body["signatures"][0]["schemaVersion"], 2, "{body}");
    assert_eq!(body["signatures"][0]["type"], "atomic", "{body}");
    assert_eq!(body["signatures"][0]["content"], content.as_str(), "{body}");
    // An image the registry does not hold is unknown at once: only a pushed one that the API
    // has not recorded yet is waited for.
    let never = format!("sha256:{}", "0".repeat(64));
    let unknown_url = format!("http://{registry}/extensions/v2/shop/app/signatures/{never}");
    let asked = std::time::Instant::now();
    let unknown = curl(&[
        "-H",
        &format!("Authorization: Bearer {alice_token}"),
        &unknown_url,
    ]);
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let unknown_put = curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {alice_token}"),
        "--data-binary",
        &serde_json::json!({"schemaVersion": 2, "name": format!("{never}@none"),
            "type": "atomic", "content": content})
        .to_string(),
        &unknown_url,
    ]);
    assert!(unknown_put.starts_with("HTTP/1.1 404"), "{unknown_put}");
    let took = asked.elapsed();
    assert!(
        took < std::time::Duration::from_secs(5),
        "an unknown image's signatures took {took:?}"
    );

    // A pull requiring alice's key verifies the signature read through the extension.
    let key = dirp.join("alice.gpg");
    std::fs::write(&key, gpg(&gnupg, &["--export", &fingerprint])).unwrap();
    let scope = format!("{registry}/shop");
    let trusting = policy(&dirp.join("policy.json"), &scope, &key);
    ok(
        skopeo(
            &alice_auth,
            &[
                "--policy",
                &trusting,
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{repo}:v1"),
                &format!("dir:{}", dirp.join("pulled").display()),
            ],
        ),
        "pull requiring the signing key",
    );
    // Another key: refused.
    let other_home = dirp.join("other-gnupg");
    let other = gpg_key(&other_home);
    let other_key = dirp.join("other.gpg");
    std::fs::write(&other_key, gpg(&other_home, &["--export", &other])).unwrap();
    let distrusting = policy(&dirp.join("other-policy.json"), &scope, &other_key);
    let refused = failed(
        skopeo(
            &alice_auth,
            &[
                "--policy",
                &distrusting,
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{repo}:v1"),
                &format!("dir:{}", dirp.join("refused").display()),
            ],
        ),
        "pull requiring another key",
    );
    assert!(refused.contains("ignature"), "{refused}");

    // bob may push into his project but not sign: the registry denies the signature.
    let denied = failed(
        skopeo(
            &bob_auth,
            &[
                "--insecure-policy",
                "copy",
                "--dest-tls-verify=false",
                "--sign-by",
                &fingerprint,
                &layout,
                &format!("docker://{registry}/bobs/app:v1"),
            ],
        ),
        "bob's signed push",
    );
    assert!(
        denied.contains("requested access to the resource is denied"),
        "{denied}"
    );
    let put_body = serde_json::json!({"schemaVersion": 2, "name": format!("{digest}@bobs"),
        "type": "atomic", "content": content})
    .to_string();
    let put = curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: Bearer {bob_token}"),
        "--data-binary",
        &put_body,
        &signatures_url,
    ]);
    assert!(put.starts_with("HTTP/1.1 403"), "{put}");
    assert!(put.contains(r#""code":"DENIED""#), "{put}");
    // Nor may bob read shop's signatures.
    let get = curl(&[
        "-H",
        &format!("Authorization: Bearer {bob_token}"),
        &signatures_url,
    ]);
    assert!(get.starts_with("HTTP/1.1 403"), "{get}");
    // Anonymous callers are challenged.
    for method in ["GET", "PUT"] {
        let anonymous = curl(&["-X", method, "--data-binary", &put_body, &signatures_url]);
        assert!(anonymous.starts_with("HTTP/1.1 401"), "{anonymous}");
        assert!(
            anonymous.contains(r#""code":"UNAUTHORIZED""#),
            "{anonymous}"
        );
        assert!(
            anonymous
                .to_ascii_lowercase()
                .contains("www-authenticate: bearer realm="),
            "{anonymous}"
        );
    }
    // Still one signature: none of the refused writes landed.
    let count = c.kubectl_ok(&[
        "get",
        "images.image.openshift.io",
        &digest,
        "-o",
        "jsonpath={range .signatures[*]}{.metadata.name}{\"\\n\"}{end}",
    ]);
    assert_eq!(count.lines().count(), 1, "{count}");
    stop_gpg_agent(&gnupg);
    stop_gpg_agent(&other_home);
}
