//! `oc adm image-attestation`: deploy-by-digest attestations (binaryauthorization.oxshift.io),
//! named after gcloud's `container binauthz` commands. `create-attestor` makes an Attestor of a
//! PGP or PKIX public key file; `create-signature-payload` prints the payload to sign for an
//! image by digest; `sign-and-create` signs it (with a key of the local gpg keyring, or a PKIX
//! private key file) and creates the Attestation in the current project; `create` creates one
//! from a signature made elsewhere.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use http::Method;
use serde_json::json;
use trust::attestation::{attestor, keys, payload, sign};

use super::Globals;
use crate::client::session;
use crate::error::CliError;

const API: &str = "/apis/binaryauthorization.oxshift.io/v1";

#[derive(Debug, clap::Subcommand)]
pub enum ImageAttestationCommand {
    /// Create an Attestor from a public key file.
    CreateAttestor(AttestorArgs),
    /// Print the payload to sign for an image referenced by digest.
    CreateSignaturePayload(PayloadArgs),
    /// Sign an image's payload and create the Attestation in the current project.
    SignAndCreate(SignArgs),
    /// Create an Attestation from a signature made elsewhere.
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct AttestorArgs {
    /// The attestor's name.
    name: String,
    /// An ASCII-armored OpenPGP public key (gpg --armor --export).
    #[arg(long)]
    pgp_public_key_file: Option<String>,
    /// A PEM public key (openssl ec -pubout).
    #[arg(long)]
    pkix_public_key_file: Option<String>,
    /// The PKIX key's signature algorithm.
    #[arg(long, default_value = "ECDSA_P256_SHA256")]
    pkix_public_key_algorithm: String,
    /// A PKIX key's ID (default: ni:///sha-256;<digest of the key>; a PGP key's is its
    /// fingerprint).
    #[arg(long)]
    public_key_id_override: Option<String>,
    /// What the attestor vouches for.
    #[arg(long, default_value = "")]
    description: String,
}

#[derive(Debug, clap::Args)]
pub struct PayloadArgs {
    /// The image by digest: host/repository@sha256:<hex>.
    #[arg(long)]
    artifact_url: String,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The image by digest: host/repository@sha256:<hex>.
    #[arg(long)]
    artifact_url: String,
    /// The attestor whose key signs.
    #[arg(long)]
    attestor: String,
    /// A key of the local gpg keyring (ID, fingerprint or user ID) to sign with.
    #[arg(long)]
    pgp_key: Option<String>,
    /// A PKIX private key file in PEM to sign with.
    #[arg(long)]
    private_key_file: Option<String>,
    /// The private key's signature algorithm.
    #[arg(long, default_value = "ECDSA_P256_SHA256")]
    signature_algorithm: String,
    /// The attestor's ID of the signing key (default: the PGP key's fingerprint, or the
    /// attestor's only PKIX key).
    #[arg(long)]
    public_key_id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The image by digest: host/repository@sha256:<hex>.
    #[arg(long)]
    artifact_url: String,
    /// The attestor whose key made the signature.
    #[arg(long)]
    attestor: String,
    /// The signature file (OpenPGP detached, an OpenPGP signed message carrying the payload as
    /// `gpg --armor --sign` writes it, or PKIX).
    #[arg(long)]
    signature_file: String,
    /// The attestor's ID of the key that made the signature.
    #[arg(long)]
    public_key_id: String,
    /// The signed payload (default: the one create-signature-payload prints).
    #[arg(long)]
    payload_file: Option<String>,
}

pub async fn run(g: &Globals, command: ImageAttestationCommand) -> Result<(), CliError> {
    match command {
        ImageAttestationCommand::CreateAttestor(a) => create_attestor(g, &a).await,
        ImageAttestationCommand::CreateSignaturePayload(a) => {
            println!(
                "{}",
                payload::create(&a.artifact_url).map_err(CliError::msg)?
            );
            Ok(())
        }
        ImageAttestationCommand::SignAndCreate(a) => sign_and_create(g, &a).await,
        ImageAttestationCommand::Create(a) => {
            let signature = read(&a.signature_file)?;
            // A signed OpenPGP message (`gpg --sign`) carries its payload, as GKE's PGP
            // attestations: the server reads it from there.
            let carried =
                keys::is_message(&signature, trust::simple_signing::is_armored(&signature));
            let payload = match &a.payload_file {
                Some(f) => Some(read(f)?),
                None if carried => None,
                None => Some(
                    payload::create(&a.artifact_url)
                        .map_err(CliError::msg)?
                        .into_bytes(),
                ),
            };
            create(
                g,
                &a.artifact_url,
                &a.attestor,
                payload.as_deref(),
                &a.public_key_id,
                &signature,
            )
            .await
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::msg(format!("error: {path}: {e}")))
}

async fn create_attestor(g: &Globals, a: &AttestorArgs) -> Result<(), CliError> {
    let key = match (&a.pgp_public_key_file, &a.pkix_public_key_file) {
        (Some(f), None) => {
            let armored = String::from_utf8_lossy(&read(f)?).into_owned();
            let (_, id) = keys::parse_pgp(armored.as_bytes()).map_err(CliError::msg)?;
            json!({"id": id, "asciiArmoredPgpPublicKey": armored})
        }
        (None, Some(f)) => {
            let pem = String::from_utf8_lossy(&read(f)?).into_owned();
            keys::parse_pkix(pem.as_bytes(), &a.pkix_public_key_algorithm)
                .map_err(CliError::msg)?;
            let id = a
                .public_key_id_override
                .clone()
                .unwrap_or_else(|| attestor::pkix_id(pem.as_bytes()));
            json!({"id": id, "pkixPublicKey": {"publicKeyPem": pem,
                "signatureAlgorithm": a.pkix_public_key_algorithm}})
        }
        _ => {
            return Err(CliError::msg(
                "error: exactly one of --pgp-public-key-file and --pkix-public-key-file is required",
            ));
        }
    };
    let body = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestor",
        "metadata": {"name": a.name},
        "spec": {"description": a.description, "publicKeys": [key]}});
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    s.write(
        Method::POST,
        &format!("{API}/attestors?fieldManager=oc"),
        &body,
    )
    .await?;
    println!("attestor.binaryauthorization.oxshift.io/{} created", a.name);
    println!("public key id: {}", key["id"].as_str().unwrap_or_default());
    Ok(())
}

async fn sign_and_create(g: &Globals, a: &SignArgs) -> Result<(), CliError> {
    let payload = payload::create(&a.artifact_url)
        .map_err(CliError::msg)?
        .into_bytes();
    let (signature, id) = match (&a.pgp_key, &a.private_key_file) {
        (Some(key), None) => {
            let signature = gpg(&["--local-user", key, "--armor", "--detach-sign"], &payload)?;
            let id = match &a.public_key_id {
                Some(id) => id.clone(),
                None => fingerprint(key)?,
            };
            (signature, id)
        }
        (None, Some(file)) => {
            let signature = sign::pkix_sign(&read(file)?, &a.signature_algorithm, &payload)
                .map_err(|e| CliError::msg(format!("error: {e}")))?;
            let id = match &a.public_key_id {
                Some(id) => id.clone(),
                None => only_pkix_key(g, &a.attestor).await?,
            };
            (signature, id)
        }
        _ => {
            return Err(CliError::msg(
                "error: exactly one of --pgp-key and --private-key-file is required",
            ));
        }
    };
    create(
        g,
        &a.artifact_url,
        &a.attestor,
        Some(&payload),
        &id,
        &signature,
    )
    .await
}

/// The Attestation `<attestor>-<digest prefix>` in the current project.
async fn create(
    g: &Globals,
    artifact_url: &str,
    attestor: &str,
    payload: Option<&[u8]>,
    key_id: &str,
    signature: &[u8],
) -> Result<(), CliError> {
    let image = payload::parse_resource_uri(artifact_url).map_err(CliError::msg)?;
    let hex = image.digest.as_deref().unwrap_or_default();
    let hex = hex.split_once(':').map_or(hex, |(_, h)| h);
    let name = format!("{attestor}-{}", &hex[..hex.len().min(16)]);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut body = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestation",
        "metadata": {"name": name},
        "spec": {"resourceUri": image.full(), "attestor": attestor,
            "signatures": [{"publicKeyId": key_id, "signature": b64(signature)}]}});
    if let Some(payload) = payload {
        body["spec"]["serializedPayload"] = json!(b64(payload));
    }
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let path = format!(
        "{API}/namespaces/{}/attestations?fieldManager=oc",
        s.namespace
    );
    s.write(Method::POST, &path, &body).await?;
    println!("attestation.binaryauthorization.oxshift.io/{name} created");
    Ok(())
}

/// The attestor's one PKIX key's ID.
async fn only_pkix_key(g: &Globals, attestor: &str) -> Result<String, CliError> {
    let config = g.kubeconfig()?;
    let s = session(&config, &g.overrides).await?;
    let found = s.get(&format!("{API}/attestors/{attestor}")).await?;
    let parsed = attestor::parse(&found["spec"])
        .map_err(|_| CliError::msg("error: the attestor does not parse"))?;
    let pkix: Vec<String> = found["spec"]["publicKeys"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(parsed)
        .filter(|(raw, _)| raw.get("asciiArmoredPgpPublicKey").is_none())
        .map(|(_, k)| k.id)
        .collect();
    match pkix.as_slice() {
        [id] => Ok(id.clone()),
        _ => Err(CliError::msg(format!(
            "error: the attestor {attestor} has {} PKIX keys: name the signing key with --public-key-id",
            pkix.len()
        ))),
    }
}

/// `gpg --batch <args>` with `input` on stdin: its stdout.
fn gpg(args: &[&str], input: &[u8]) -> Result<Vec<u8>, CliError> {
    let mut child = Command::new("gpg")
        .arg("--batch")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::msg(format!("error: gpg: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| CliError::msg(format!("error: gpg: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| CliError::msg(format!("error: gpg: {e}")))?;
    if !out.status.success() {
        return Err(CliError::msg(format!(
            "error: gpg failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// The fingerprint of a key of the local keyring.
fn fingerprint(key: &str) -> Result<String, CliError> {
    let listed = gpg(&["--with-colons", "--list-keys", key], b"")?;
    String::from_utf8_lossy(&listed)
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .map(str::to_string)
        .ok_or_else(|| CliError::msg(format!("error: gpg has no key {key:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_names_the_repository_and_digest() {
        let url = "registry.example.com:5000/shop/app@sha256:c62ead5b8c15c231f9e786250b07909daf6c266d0fcddd93fea882eb722c3be4";
        let text = payload::create(url).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            doc["critical"]["identity"]["docker-reference"],
            "registry.example.com:5000/shop/app"
        );
        assert_eq!(
            doc["critical"]["type"],
            "Google cloud binauthz container signature"
        );
    }
}
