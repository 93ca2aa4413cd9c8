//! Deprecated kinds: every request to one gets upstream's warning, as the API servers add it
//! to requests of kinds marked deprecated (`Warning: 299 - "..."`, which kubectl and `oc`
//! print).

use crate::http::request_info::RequestInfo;

/// (group, version, resource, warning).
const DEPRECATED: &[(&str, &str, &str, &str)] = &[(
    "apps.openshift.io",
    "v1",
    "deploymentconfigs",
    "apps.openshift.io/v1 DeploymentConfig is deprecated in v4.14+, unavailable in v4.10000+",
)];

/// The warning a request of a deprecated kind gets, if it is one.
pub fn warning(info: &RequestInfo) -> Option<&'static str> {
    if !info.is_resource || info.subresource.is_some() {
        return None;
    }
    DEPRECATED
        .iter()
        .find(|(group, version, resource, _)| {
            info.group == *group && info.version == *version && info.resource == *resource
        })
        .map(|(.., warning)| *warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(resource: &str, subresource: Option<&str>) -> RequestInfo {
        RequestInfo {
            is_resource: true,
            verb: "list".into(),
            group: "apps.openshift.io".into(),
            version: "v1".into(),
            namespace: Some("p".into()),
            resource: resource.into(),
            subresource: subresource.map(Into::into),
            name: None,
            ..Default::default()
        }
    }

    #[test]
    fn deployment_configs_are_deprecated_as_in_openshift_4_14() {
        assert_eq!(
            warning(&info("deploymentconfigs", None)),
            Some(
                "apps.openshift.io/v1 DeploymentConfig is deprecated in v4.14+, unavailable in v4.10000+"
            )
        );
        assert_eq!(
            warning(&info("deploymentconfigs", Some("instantiate"))),
            None
        );
        assert_eq!(warning(&info("deployments", None)), None);
    }
}
