//! Builds, build configs and image streams as the build controllers read them: typed
//! metadata, the spec and status as JSON (a few fields of each are read, upstream's shapes
//! written back).

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! kind {
    ($name:ident, $group:literal, $kind:literal, $plural:literal) => {
        #[derive(Clone, Debug, Default, Deserialize, Serialize)]
        pub struct $name {
            #[serde(default)]
            pub metadata: ObjectMeta,
            #[serde(default)]
            pub spec: Value,
            #[serde(default)]
            pub status: Value,
        }

        impl kube::Resource for $name {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                "v1".into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl $name {
            pub fn name(&self) -> &str {
                self.metadata.name.as_deref().unwrap_or_default()
            }
            pub fn namespace(&self) -> &str {
                self.metadata.namespace.as_deref().unwrap_or_default()
            }
            pub fn annotation(&self, key: &str) -> &str {
                self.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(key))
                    .map(String::as_str)
                    .unwrap_or_default()
            }
        }
    };
}

kind!(Build, "build.openshift.io", "Build", "builds");
kind!(
    BuildConfig,
    "build.openshift.io",
    "BuildConfig",
    "buildconfigs"
);
kind!(
    ImageStream,
    "image.openshift.io",
    "ImageStream",
    "imagestreams"
);

pub const CONFIG_NAME: &str = "openshift.io/build-config.name";
pub const BUILD_NUMBER: &str = "openshift.io/build.number";
pub const POD_NAME: &str = "openshift.io/build.pod-name";
pub const BUILD_NAME: &str = "openshift.io/build.name";
pub const START_POLICY: &str = "openshift.io/build.start-policy";

impl Build {
    pub fn phase(&self) -> &str {
        self.status["phase"].as_str().unwrap_or("New")
    }
    pub fn number(&self) -> i64 {
        self.annotation(BUILD_NUMBER).parse().unwrap_or(0)
    }
    pub fn config(&self) -> &str {
        self.annotation(CONFIG_NAME)
    }
    pub fn policy(&self) -> &str {
        self.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(START_POLICY))
            .map(String::as_str)
            .unwrap_or("Serial")
    }
    pub fn pod_name(&self) -> String {
        match self.annotation(POD_NAME) {
            "" => format!("{}-build", self.name()),
            name => name.to_string(),
        }
    }
}

/// The phases after which a build never changes again.
pub fn is_terminal(phase: &str) -> bool {
    matches!(phase, "Complete" | "Failed" | "Error" | "Cancelled")
}

/// The builds of config `config` in `namespace` as the watch cache holds them: the builds'
/// own watch, read in memory rather than listed from the API on every reconcile (a config with
/// many builds made each list cost the server a scan of them all), and shared, not copied.
pub fn of_config(
    store: &kube::runtime::reflector::Store<crate::lenient::Object<Build>>,
    namespace: &str,
    config: &str,
) -> Vec<std::sync::Arc<crate::lenient::Object<Build>>> {
    store
        .state()
        .into_iter()
        .filter(|o| {
            o.object
                .as_ref()
                .is_some_and(|b| b.namespace() == namespace && b.config() == config)
        })
        .collect()
}
