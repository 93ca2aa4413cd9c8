//! Beyond upstream: a refusal ends with the grant that would admit the pod, when an SCC its
//! service account may not use would admit it.

/// The hint naming `scc` and the command that lets the pod's service account use it.
pub fn grant(scc: &str, service_account: &str, namespace: &str) -> String {
    format!(
        "; the pod would be admitted under SCC {scc:?} if its service account could use it: \
         oc adm policy add-scc-to-user {scc} -z {service_account} -n {namespace}"
    )
}
