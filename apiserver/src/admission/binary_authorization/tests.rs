use base64::Engine;
use serde_json::{Value, json};

use crate::testing::Cluster;

const GROUP: &str = "/apis/binaryauthorization.oxshift.io/v1";
const REPO: &str = "registry.example.com:5000/shop/app";
const DIGEST: &str = "sha256:c62ead5b8c15c231f9e786250b07909daf6c266d0fcddd93fea882eb722c3be4";
const OTHER: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pod(name: &str, image: &str, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"containers": [{"name": "c", "image": image}]}})
}

fn rule(mode: &str, enforcement: &str, failure: &str) -> Value {
    json!({"evaluationMode": mode, "requireAttestationsBy": ["built-by-ci"],
        "enforcementMode": enforcement, "failurePolicy": failure})
}

/// A cluster whose namespace `default` requires attestations by `built-by-ci` under `rule`,
/// the attestor's key given by `key`, and one attestation of `REPO@DIGEST` by key `ec`.
async fn cluster(rule: Value, key: Value) -> Cluster {
    let cluster = Cluster::with_default_namespace().await;
    let attestor = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestor",
        "metadata": {"name": "built-by-ci"}, "spec": {"publicKeys": [key]}});
    cluster
        .post(&format!("{GROUP}/attestors"), attestor)
        .await
        .created();
    let attestation = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Attestation",
        "metadata": {"name": "app"},
        "spec": {"resourceUri": format!("{REPO}@{DIGEST}"), "attestor": "built-by-ci",
            "serializedPayload": b64(include_bytes!("../../../../trust/src/attestation/testdata/payload.json")),
            "signatures": [{"publicKeyId": "ec", "signature": b64(include_bytes!("../../../../trust/src/attestation/testdata/ec-p256.sig"))}]}});
    cluster
        .post(
            &format!("{GROUP}/namespaces/default/attestations"),
            attestation,
        )
        .await
        .created();
    let policy = json!({"apiVersion": "binaryauthorization.oxshift.io/v1", "kind": "Policy",
        "metadata": {"name": "cluster"},
        "spec": {"admissionWhitelistPatterns": [{"namePattern": "registry.example.com:5000/platform/**"}],
            "defaultAdmissionRule": {"evaluationMode": "ALWAYS_ALLOW", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
            "kubernetesNamespaceAdmissionRules": {"default": rule}}});
    cluster
        .post(&format!("{GROUP}/policies"), policy)
        .await
        .created();
    cluster
}

fn inline_key() -> Value {
    json!({"id": "ec", "pkixPublicKey": {
        "publicKeyPem": include_str!("../../../../trust/src/attestation/testdata/ec-p256.pub"),
        "signatureAlgorithm": "ECDSA_P256_SHA256"}})
}

async fn create(cluster: &Cluster, name: &str, image: &str, annotations: Value) -> (u16, String) {
    let answer = cluster
        .post(
            "/api/v1/namespaces/default/pods",
            pod(name, image, annotations),
        )
        .await;
    let message = answer.body["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (answer.status.as_u16(), message)
}

#[tokio::test]
async fn attested_digests_are_admitted_and_tags_and_unattested_digests_refused() {
    let cluster = cluster(
        rule(
            "REQUIRE_ATTESTATION",
            "ENFORCED_BLOCK_AND_AUDIT_LOG",
            "Ignore",
        ),
        inline_key(),
    )
    .await;
    assert_eq!(
        create(&cluster, "attested", &format!("{REPO}@{DIGEST}"), json!({}))
            .await
            .0,
        201
    );
    let (status, message) = create(&cluster, "tagged", &format!("{REPO}:v1"), json!({})).await;
    assert_eq!(status, 403, "{message}");
    assert!(
        message.starts_with(&format!("pods \"tagged\" is forbidden: image {REPO}:v1 denied by Binary Authorization kubernetesNamespaceAdmissionRules[default]: attestations are looked up by digest: the image must be referenced by digest, not by a tag")),
        "{message}"
    );
    let (status, message) = create(
        &cluster,
        "unattested",
        &format!("{REPO}@{OTHER}"),
        json!({}),
    )
    .await;
    assert_eq!(status, 403, "{message}");
    assert!(
        message.contains("no attestations found that were valid and signed by a key trusted by the attestor(s) built-by-ci"),
        "{message}"
    );
    let glass = json!({"alpha.image-policy.k8s.io/break-glass": "true"});
    assert_eq!(
        create(&cluster, "glass", &format!("{REPO}@{OTHER}"), glass)
            .await
            .0,
        201
    );
    assert_eq!(
        create(
            &cluster,
            "exempt",
            "registry.example.com:5000/platform/tools/x:1",
            json!({})
        )
        .await
        .0,
        201
    );
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": format!("{REPO}@{OTHER}")}]}}}});
    let answer = cluster
        .post("/apis/apps/v1/namespaces/default/deployments", deployment)
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    let metrics = cluster.server.metrics.render(&cluster.server).await;
    assert!(
        metrics.contains("oxshift_binaryauthorization_decisions_total{decision=\"deny\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("decision=\"break-glass\""), "{metrics}");
}

#[tokio::test]
async fn an_unreadable_key_fails_open_unless_the_rule_fails_closed() {
    let kept = json!({"id": "ec", "keyRef": {"kind": "ConfigMap", "name": "attestor-keys", "key": "ci.pem",
        "signatureAlgorithm": "ECDSA_P256_SHA256"}});
    let open = cluster(
        rule(
            "REQUIRE_ATTESTATION",
            "ENFORCED_BLOCK_AND_AUDIT_LOG",
            "Ignore",
        ),
        kept.clone(),
    )
    .await;
    assert_eq!(
        create(&open, "open", &format!("{REPO}@{DIGEST}"), json!({}))
            .await
            .0,
        201
    );
    let closed = cluster(
        rule(
            "REQUIRE_ATTESTATION",
            "ENFORCED_BLOCK_AND_AUDIT_LOG",
            "Fail",
        ),
        kept,
    )
    .await;
    let (status, message) = create(&closed, "closed", &format!("{REPO}@{DIGEST}"), json!({})).await;
    assert_eq!(status, 403, "{message}");
    assert!(
        message.contains("the attestations of \"built-by-ci\" could not be verified: attestation \"app\": the key \"ec\" cannot be read: ConfigMap openshift-config/attestor-keys not found"),
        "{message}"
    );
    // The key appears: the attestation verifies.
    closed.namespace("openshift-config").await;
    let keys = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "attestor-keys"},
        "data": {"ci.pem": include_str!("../../../../trust/src/attestation/testdata/ec-p256.pub")}});
    closed
        .post("/api/v1/namespaces/openshift-config/configmaps", keys)
        .await
        .created();
    assert_eq!(
        create(&closed, "closed", &format!("{REPO}@{DIGEST}"), json!({}))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn dry_run_rules_admit_what_they_would_refuse() {
    let cluster = cluster(
        rule("REQUIRE_ATTESTATION", "DRYRUN_AUDIT_LOG_ONLY", "Ignore"),
        inline_key(),
    )
    .await;
    assert_eq!(
        create(&cluster, "dry", &format!("{REPO}@{OTHER}"), json!({}))
            .await
            .0,
        201
    );
    let metrics = cluster.server.metrics.render(&cluster.server).await;
    assert!(
        metrics.contains("oxshift_binaryauthorization_decisions_total{decision=\"dry-run-deny\",mode=\"DRYRUN_AUDIT_LOG_ONLY\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn pods_under_always_allow_leave_no_record_unless_they_break_glass() {
    let cluster = cluster(
        rule(
            "REQUIRE_ATTESTATION",
            "ENFORCED_BLOCK_AND_AUDIT_LOG",
            "Ignore",
        ),
        inline_key(),
    )
    .await;
    cluster.namespace("other").await;
    for (name, image) in [
        ("plain", format!("{REPO}:v1")),
        (
            "exempt",
            "registry.example.com:5000/platform/tools/x:1".into(),
        ),
    ] {
        let answer = cluster
            .post(
                "/api/v1/namespaces/other/pods",
                pod(name, &image, json!({})),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let metrics = cluster.server.metrics.render(&cluster.server).await;
    assert!(
        !metrics.contains("oxshift_binaryauthorization_decisions_total{"),
        "{metrics}"
    );
    // Attested and evaluated: counted; break-glass under ALWAYS_ALLOW: counted too.
    assert_eq!(
        create(&cluster, "attested", &format!("{REPO}@{DIGEST}"), json!({}))
            .await
            .0,
        201
    );
    let glass = json!({"alpha.image-policy.k8s.io/break-glass": "true"});
    let answer = cluster
        .post(
            "/api/v1/namespaces/other/pods",
            pod("glass", &format!("{REPO}:v1"), glass),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let metrics = cluster.server.metrics.render(&cluster.server).await;
    for line in [
        "oxshift_binaryauthorization_decisions_total{decision=\"allow\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 1",
        "oxshift_binaryauthorization_decisions_total{decision=\"break-glass\",mode=\"ENFORCED_BLOCK_AND_AUDIT_LOG\"} 1",
    ] {
        assert!(metrics.contains(line), "{metrics}");
    }
}
