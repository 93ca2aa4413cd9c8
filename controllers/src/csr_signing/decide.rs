//! What the signer does with one request, and when the cleaner removes one, as
//! kube-controller-manager 1.32 decides (pure).

use std::time::Duration;

use serde_json::Value;

pub const API_SERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
pub const API_SERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";

/// Upstream's `--cluster-signing-duration` default: a year.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The shortest certificate signed, whatever is asked (twice the backdating).
const MIN_DURATION: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not ours, not approved, failed, or already signed.
    Ignore,
    /// Signed for this long.
    Sign(Duration),
    /// The request does not fit its signer: a `Failed` condition with this message.
    Fail(String),
}

fn has_condition(csr: &Value, kind: &str) -> bool {
    csr["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

fn usages(csr: &Value) -> Vec<&str> {
    csr["spec"]["usages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Upstream's `duration`: the request's, within ten minutes and the signer's maximum.
pub fn duration(csr: &Value, max: Duration) -> Duration {
    match csr["spec"]["expirationSeconds"].as_i64() {
        None => max,
        Some(s) => {
            Duration::from_secs(s.max(0).unsigned_abs()).clamp(MIN_DURATION, max.max(MIN_DURATION))
        }
    }
}

/// Upstream's `validAPIServerClientUsages`.
fn api_server_client_usages(used: &[&str]) -> Result<(), String> {
    for u in used {
        if !matches!(*u, "digital signature" | "key encipherment" | "client auth") {
            return Err(format!("invalid usage for client certificate: {u}"));
        }
    }
    match used.contains(&"client auth") {
        true => Ok(()),
        false => Err("missing required usage for client certificate: client auth".into()),
    }
}

/// The usages as a sorted set, as upstream compares and prints them.
fn usage_set<'a>(used: &[&'a str]) -> Vec<&'a str> {
    let mut set = used.to_vec();
    set.sort_unstable();
    set.dedup();
    set
}

/// Upstream's `ValidateKubeletClientCSR` and `ValidateKubeletServingCSR`.
fn kubelet_request(
    request: &auth::csr::Request,
    used: &[&str],
    serving: bool,
) -> Result<(), String> {
    if request.organizations != ["system:nodes"] {
        return Err("subject organization is not system:nodes".into());
    }
    if !serving && request.dns_names > 0 {
        return Err("DNS subjectAltNames are not allowed".into());
    }
    if request.emails > 0 {
        return Err("Email subjectAltNames are not allowed".into());
    }
    if !serving && request.ips > 0 {
        return Err("IP subjectAltNames are not allowed".into());
    }
    if request.uris > 0 {
        return Err("URI subjectAltNames are not allowed".into());
    }
    if serving && request.dns_names + request.ips == 0 {
        return Err("DNS or IP subjectAltName is required".into());
    }
    if !request.common_name.starts_with("system:node:") {
        return Err("subject common name does not begin with system:node:".into());
    }
    let set = usage_set(used);
    let purpose = if serving {
        "server auth"
    } else {
        "client auth"
    };
    let with_rsa = usage_set(&["digital signature", "key encipherment", purpose]);
    let without = usage_set(&["digital signature", purpose]);
    if set != with_rsa && set != without {
        return Err(format!("usages did not match {:?}", with_rsa));
    }
    Ok(())
}

/// What the signer does with `csr` (its JSON), signing for at most `max`.
pub fn decide(
    csr: &Value,
    request: &Result<auth::csr::Request, String>,
    max: Duration,
) -> Decision {
    let signer = csr["spec"]["signerName"].as_str().unwrap_or_default();
    let ours = [
        API_SERVER_CLIENT,
        API_SERVER_CLIENT_KUBELET,
        KUBELET_SERVING,
    ]
    .contains(&signer);
    let signed = csr["status"]["certificate"]
        .as_str()
        .is_some_and(|c| !c.is_empty());
    if !ours || signed || !has_condition(csr, "Approved") || has_condition(csr, "Failed") {
        return Decision::Ignore;
    }
    // Validation refused unparsable requests; one stored before is left alone, as upstream
    // (which reports an error and retries).
    let Ok(request) = request else {
        return Decision::Ignore;
    };
    let used = usages(csr);
    let fit = match signer {
        API_SERVER_CLIENT => api_server_client_usages(&used),
        API_SERVER_CLIENT_KUBELET => kubelet_request(request, &used, false),
        _ => kubelet_request(request, &used, true),
    };
    match fit {
        Ok(()) => Decision::Sign(duration(csr, max)),
        Err(message) => Decision::Fail(message),
    }
}

/// How long the cleaner keeps requests: an hour once approved and issued, denied or failed;
/// a day while pending.
const DECIDED: i64 = 3600;
const PENDING: i64 = 24 * 3600;

fn seconds(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
}

/// Whether the cleaner removes `csr` at `now` (upstream's criteria; an expired certificate
/// too, when `certificate_end` says so).
pub fn expired(csr: &Value, certificate_end: Option<i64>, now: i64) -> bool {
    let conditions: Vec<&Value> = csr["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let issued = csr["status"]["certificate"]
        .as_str()
        .is_some_and(|c| !c.is_empty());
    let older =
        |c: &Value, limit: i64| seconds(&c["lastUpdateTime"]).is_some_and(|t| now - t > limit);
    if conditions.is_empty() {
        return seconds(&csr["metadata"]["creationTimestamp"]).is_some_and(|t| now - t > PENDING);
    }
    conditions.iter().any(|c| match c["type"].as_str() {
        Some("Approved") => {
            issued && (older(c, DECIDED) || certificate_end.is_some_and(|end| now > end))
        }
        Some("Denied") | Some("Failed") => older(c, DECIDED),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn csr(signer: &str, usages: &[&str], conditions: Value) -> Value {
        json!({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"signerName": signer, "usages": usages},
            "status": {"conditions": conditions}})
    }

    fn request(cn: &str, orgs: &[&str]) -> Result<auth::csr::Request, String> {
        Ok(auth::csr::Request {
            common_name: cn.into(),
            organizations: orgs.iter().map(|o| o.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn approved_requests_of_our_signers_are_signed_or_failed() {
        let approved = json!([{"type": "Approved", "status": "True"}]);
        let bob = request("bob", &["dev"]);
        let c = csr(API_SERVER_CLIENT, &["client auth"], approved.clone());
        assert_eq!(
            decide(&c, &bob, DEFAULT_DURATION),
            Decision::Sign(DEFAULT_DURATION)
        );
        let mut short = c.clone();
        short["spec"]["expirationSeconds"] = json!(3600);
        assert_eq!(
            decide(&short, &bob, DEFAULT_DURATION),
            Decision::Sign(Duration::from_secs(3600))
        );
        assert_eq!(
            decide(&short, &bob, Duration::from_secs(1800)),
            Decision::Sign(Duration::from_secs(1800))
        );
        let pending = csr(API_SERVER_CLIENT, &["client auth"], json!([]));
        assert_eq!(decide(&pending, &bob, DEFAULT_DURATION), Decision::Ignore);
        let other = csr("example.com/mine", &["client auth"], approved.clone());
        assert_eq!(decide(&other, &bob, DEFAULT_DURATION), Decision::Ignore);
        let server = csr(
            API_SERVER_CLIENT,
            &["client auth", "server auth"],
            approved.clone(),
        );
        assert_eq!(
            decide(&server, &bob, DEFAULT_DURATION),
            Decision::Fail("invalid usage for client certificate: server auth".into())
        );
        let kubelet = csr(
            API_SERVER_CLIENT_KUBELET,
            &["client auth", "digital signature"],
            approved,
        );
        assert_eq!(
            decide(&kubelet, &bob, DEFAULT_DURATION),
            Decision::Fail("subject organization is not system:nodes".into())
        );
        let node = request("system:node:n1", &["system:nodes"]);
        assert_eq!(
            decide(&kubelet, &node, DEFAULT_DURATION),
            Decision::Sign(DEFAULT_DURATION)
        );
    }

    #[test]
    fn the_cleaner_keeps_requests_an_hour_once_decided_and_a_day_pending() {
        let start = 1_767_225_600; // 2026-01-01T00:00:00Z
        let pending = csr(API_SERVER_CLIENT, &[], json!([]));
        assert!(!expired(&pending, None, start + 23 * 3600));
        assert!(expired(&pending, None, start + 25 * 3600));
        let denied = csr(
            API_SERVER_CLIENT,
            &[],
            json!([{"type": "Denied", "status": "True", "lastUpdateTime": "2026-01-01T00:00:00Z"}]),
        );
        assert!(!expired(&denied, None, start + 600));
        assert!(expired(&denied, None, start + 3601));
        let mut approved = csr(
            API_SERVER_CLIENT,
            &[],
            json!([{"type": "Approved", "status": "True", "lastUpdateTime": "2026-01-01T00:00:00Z"}]),
        );
        assert!(!expired(&approved, None, start + 7200), "not issued yet");
        approved["status"]["certificate"] = json!("Y2VydA==");
        assert!(expired(&approved, None, start + 3601));
        assert!(expired(&approved, Some(start + 60), start + 120));
    }
}
