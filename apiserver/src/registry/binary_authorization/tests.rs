use base64::Engine;
use serde_json::{Value, json};

use crate::testing::Cluster;

const GROUP: &str = "/apis/binaryauthorization.oxshift.io/v1";
const URI: &str = "registry.example.com:5000/shop/app@sha256:c62ead5b8c15c231f9e786250b07909daf6c266d0fcddd93fea882eb722c3be4";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn message(body: &Value) -> String {
    body["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn attestors_are_validated_on_write() {
    let cluster = Cluster::new();
    let bad = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestor",
        "metadata": {"name": "built-by-ci"},
        "spec": {"publicKeys": [{"pkixPublicKey": {"publicKeyPem": "nope", "signatureAlgorithm": "ECDSA_P256_SHA256"}}]}});
    let answer = cluster.post(&format!("{GROUP}/attestors"), bad).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = message(&answer.body);
    assert!(
        text.starts_with("Attestor.binaryauthorization.oxshift.io \"built-by-ci\" is invalid: spec.publicKeys[0].pkixPublicKey.publicKeyPem: Invalid value: \"nope\": not a PEM public key"),
        "{text}"
    );
    let good = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestor",
        "metadata": {"name": "built-by-ci"},
        "spec": {"publicKeys": [{"pkixPublicKey": {
            "publicKeyPem": include_str!("../../../../trust/src/attestation/testdata/ec-p256.pub"),
            "signatureAlgorithm": "ECDSA_P256_SHA256"}}]}});
    let answer = cluster.post(&format!("{GROUP}/attestors"), good).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn attestations_must_sign_a_payload_about_their_image() {
    let cluster = Cluster::with_default_namespace().await;
    let payload = b64(include_bytes!(
        "../../../../trust/src/attestation/testdata/payload.json"
    ));
    let attestation = |uri: &str| {
        json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestation",
            "metadata": {"name": "app"},
            "spec": {"resourceUri": uri, "attestor": "built-by-ci", "serializedPayload": payload,
                     "signatures": [{"publicKeyId": "k", "signature": "AA=="}]}})
    };
    let path = format!("{GROUP}/namespaces/default/attestations");
    let answer = cluster
        .post(&path, attestation(&URI.replace("shop/app", "shop/other")))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        message(&answer.body).contains(
            "spec.serializedPayload: Invalid value: \"<payload>\": the payload names the repository"
        ),
        "{}",
        answer.body
    );
    let answer = cluster
        .post(&path, attestation("registry.example.com:5000/shop/app:v1"))
        .await;
    assert!(
        message(&answer.body).contains("spec.resourceUri: Invalid value"),
        "{}",
        answer.body
    );
    let answer = cluster.post(&path, attestation(URI)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

#[tokio::test]
async fn only_the_cluster_policy_is_accepted() {
    let cluster = Cluster::new();
    let policy = |name: &str, rule: Value| {
        json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Policy",
            "metadata": {"name": name}, "spec": {"defaultAdmissionRule": rule}})
    };
    let allow = json!({"evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"});
    let answer = cluster
        .post(&format!("{GROUP}/policies"), policy("mine", allow.clone()))
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let require = json!({"evaluationMode": "REQUIRE_ATTESTATION", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"});
    let answer = cluster
        .post(&format!("{GROUP}/policies"), policy("cluster", require))
        .await;
    assert!(
        message(&answer.body).contains("spec.defaultAdmissionRule.requireAttestationsBy: Required value: an attestor is required when evaluationMode is REQUIRE_ATTESTATION"),
        "{}",
        answer.body
    );
    let answer = cluster
        .post(&format!("{GROUP}/policies"), policy("cluster", allow))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}
