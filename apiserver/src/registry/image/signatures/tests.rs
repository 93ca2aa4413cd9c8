use base64::Engine;
use serde_json::{Value, json};

use crate::testing::Cluster;

pub(crate) const DIGEST: &str =
    "sha256:f20c43161d73848408ef247f0ec7111b19fe58ffebc0cbcaa0d2c8bda4967268";
const SIGNATURES: &str = "/apis/image.openshift.io/v1/imagesignatures";
pub(crate) const RSA_SIG: &[u8] = include_bytes!("../../../../../trust/src/testdata/rsa.sig");
pub(crate) const OTHER_SIG: &[u8] = include_bytes!("../../../../../trust/src/testdata/other.sig");
pub(crate) const SIGNER_KEY: &[u8] = include_bytes!("../../../../../trust/src/testdata/signer.gpg");

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn signature(name: &str, content: &[u8]) -> Value {
    json!({"apiVersion": "image.openshift.io/v1", "kind": "ImageSignature",
           "metadata": {"name": name}, "type": "atomic", "content": b64(content)})
}

pub(crate) async fn trust_policy(cluster: &Cluster, docker: Value) {
    let policy = json!({"apiVersion": "config.oxshift.io/v1", "kind": "ImageTrustPolicy",
        "metadata": {"name": "cluster"},
        "spec": {"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": docker}}});
    cluster
        .post("/apis/config.oxshift.io/v1/imagetrustpolicies", policy)
        .await
        .created();
}

pub(crate) fn signed_by() -> Value {
    json!([{"type": "signedBy", "keyType": "GPGKeys", "keyData": b64(SIGNER_KEY)}])
}

pub(crate) async fn image(cluster: &Cluster, digest: &str, reference: &str) {
    cluster
        .post(
            "/apis/image.openshift.io/v1/images",
            json!({"apiVersion": "image.openshift.io/v1", "kind": "Image",
                   "metadata": {"name": digest}, "dockerImageReference": reference}),
        )
        .await
        .created();
}

#[tokio::test]
async fn signatures_are_verified_into_their_image_and_deleted_from_it() {
    let cluster = Cluster::new();
    image(
        &cluster,
        DIGEST,
        &format!("registry.example.com/team/app@{DIGEST}"),
    )
    .await;
    trust_policy(&cluster, json!({"registry.example.com": signed_by()})).await;
    let name = format!("{DIGEST}@good");
    let created = cluster
        .post(SIGNATURES, signature(&name, RSA_SIG))
        .await
        .created();
    assert_eq!(created["imageIdentity"], "registry.example.com/team/app:v1");
    assert_eq!(created["conditions"][0]["type"], "Trusted");
    assert_eq!(created["conditions"][0]["status"], "True");
    assert_eq!(created["conditions"][1]["type"], "ForImage");
    assert_eq!(created["conditions"][1]["status"], "True");
    assert_eq!(created["signedClaims"]["docker-manifest-digest"], DIGEST);
    assert_eq!(
        created["issuedBy"]["commonName"],
        "Trust Test <signer@example.com>"
    );
    assert_eq!(created["created"], "2026-12-06T04:28:27Z");

    let stored = cluster
        .get(&format!("/apis/image.openshift.io/v1/images/{DIGEST}"))
        .await
        .ok();
    assert_eq!(stored["signatures"][0]["metadata"]["name"], name.as_str());

    cluster
        .post(SIGNATURES, signature(&format!("{DIGEST}@again"), RSA_SIG))
        .await
        .failure(
            409,
            "AlreadyExists",
            &format!("imagesignatures.image.openshift.io \"{DIGEST}@again\" already exists"),
        );

    let untrusted = cluster
        .post(SIGNATURES, signature(&format!("{DIGEST}@other"), OTHER_SIG))
        .await
        .created();
    assert_eq!(untrusted["conditions"][0]["status"], "False");
    assert!(untrusted.get("imageIdentity").is_none(), "{untrusted}");

    let answer = cluster
        .post(
            SIGNATURES,
            signature(&format!("{DIGEST}@junk"), b"not a signature"),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("content: Invalid value: \"<15 bytes>\": not an OpenPGP signed message"),
        "{}",
        answer.body
    );

    let answer = cluster
        .post(SIGNATURES, signature("no-at-sign", RSA_SIG))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body["message"].as_str().unwrap_or_default().contains("metadata.name: Invalid value: \"no-at-sign\": name must be of format <imageName>@<signatureName>"), "{}", answer.body);
    let missing = format!("sha256:{}@x", "0".repeat(64));
    let answer = cluster.post(SIGNATURES, signature(&missing, RSA_SIG)).await;
    assert_eq!(answer.status, 404, "{}", answer.body);

    cluster.delete(&format!("{SIGNATURES}/{name}")).await.ok();
    let answer = cluster.delete(&format!("{SIGNATURES}/{name}")).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    let answer = cluster.delete(&format!("{SIGNATURES}/nothing")).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let stored = cluster
        .get(&format!("/apis/image.openshift.io/v1/images/{DIGEST}"))
        .await
        .ok();
    assert_eq!(stored["signatures"].as_array().map(Vec::len), Some(1));
}
