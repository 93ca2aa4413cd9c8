use base64::Engine;
use serde_json::{Value, json};

use super::validation::{Write, validate};
use super::*;
use crate::registry::validation::messages;

fn def() -> ResourceDef {
    *api::Scheme::builtin()
        .lookup("certificates.k8s.io", "v1", "certificatesigningrequests")
        .expect("served")
}

fn request_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bob");
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn csr(request: &[u8]) -> Value {
    json!({
        "metadata": {"name": "bob"},
        "spec": {
            "request": b64(request),
            "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["client auth"],
        },
    })
}

fn check(obj: &Value, old: Option<&Value>, write: Write) -> String {
    let mut errors = FieldErrors::default();
    validate(obj, old, write, &mut errors);
    messages(errors.into_result(&def(), obj))
}

#[test]
fn new_requests_are_judged_as_upstream() {
    let good = csr(request_pem().as_bytes());
    assert_eq!(check(&good, None, Write::Object), "");
    assert_eq!(
        check(&csr(b"ga"), None, Write::Object),
        "spec.request: Invalid value: []byte{0x67, 0x61}: PEM block type must be CERTIFICATE REQUEST\n"
    );
    let mut short = good.clone();
    short["spec"]["expirationSeconds"] = json!(100);
    assert_eq!(
        check(&short, None, Write::Object),
        "spec.expirationSeconds: Invalid value: 100: may not specify a duration less than 600 seconds (10 minutes)\n"
    );
    let mut legacy = good.clone();
    legacy["spec"]["signerName"] = json!("kubernetes.io/legacy-unknown");
    assert_eq!(
        check(&legacy, None, Write::Object),
        "spec.signerName: Invalid value: \"kubernetes.io/legacy-unknown\": the legacy signerName is not allowed via this API version\n"
    );
    let mut bare = good.clone();
    bare["spec"]["signerName"] = json!("mysigner");
    assert_eq!(
        check(&bare, None, Write::Object),
        "spec.signerName: Invalid value: \"mysigner\": must be a fully qualified domain and path of the form 'example.com/signer-name'\n"
    );
    let mut usages = good.clone();
    usages["spec"]["usages"] = json!(["client auth", "client auth", "flying"]);
    let text = check(&usages, None, Write::Object);
    assert!(
        text.contains("spec.usages[1]: Duplicate value: \"client auth\""),
        "{text}"
    );
    assert!(
        text.contains("spec.usages[2]: Unsupported value: \"flying\": supported values: \"any\""),
        "{text}"
    );
    usages["spec"]["usages"] = json!([]);
    assert_eq!(
        check(&usages, None, Write::Object),
        "spec.usages: Required value\n"
    );
}

#[test]
fn approval_only_through_its_subresource() {
    let old = csr(request_pem().as_bytes());
    let mut approved = old.clone();
    approved["status"] = json!({"conditions": [{"type": "Approved", "status": "True"}]});
    assert_eq!(
        check(&approved, Some(&old), Write::Status),
        "status.conditions: Forbidden: updates may not add a condition of type \"Approved\"\n"
    );
    assert_eq!(check(&approved, Some(&old), Write::Approval), "");
    let mut both = approved.clone();
    both["status"]["conditions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "Denied", "status": "True"}));
    assert_eq!(
        check(&both, Some(&approved), Write::Approval),
        "status.conditions[1].type: Invalid value: \"Denied\": Approved and Denied conditions are mutually exclusive\n"
    );
    assert_eq!(
        check(&old, Some(&approved), Write::Approval),
        "status.conditions: Forbidden: updates may not remove a condition of type \"Approved\"\n"
    );
    let mut signed = approved.clone();
    signed["status"]["certificate"] = json!(b64(b"nonsense"));
    assert!(
        check(&signed, Some(&approved), Write::Approval)
            .contains("status.certificate: Forbidden: updates may not set certificate content")
    );
    assert_eq!(
        check(&signed, Some(&approved), Write::Status),
        "status.certificate: Invalid value: \"<certificate data>\": must contain at least one CERTIFICATE PEM block\n"
    );
}

#[test]
fn status_writes_keep_the_approval_and_stamp_conditions() {
    let mut old = csr(request_pem().as_bytes());
    old["status"] = json!({"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove",
        "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]});
    let mut next = old.clone();
    next["spec"]["signerName"] = json!("example.com/other");
    next["status"]["conditions"] = json!([
        {"type": "Approved", "status": "True", "reason": "Changed"},
        {"type": "Failed", "status": "True", "reason": "SignerValidationFailure"},
    ]);
    CertificateSigningRequests.prepare_status(&mut next, &old);
    assert_eq!(next["spec"], old["spec"]);
    assert_eq!(
        next["status"]["conditions"][0],
        old["status"]["conditions"][0]
    );
    assert!(next["status"]["conditions"][1]["lastUpdateTime"].is_string());
    assert!(next["status"]["conditions"][1]["lastTransitionTime"].is_string());
}
