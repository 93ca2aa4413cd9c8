//! A DeploymentConfig as the controllers read it: typed metadata, the spec and status as
//! JSON (the controllers read a few fields of each and write upstream's shapes back).

use std::borrow::Cow;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DeploymentConfig {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Value,
    #[serde(default)]
    pub status: Value,
}

impl kube::Resource for DeploymentConfig {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "DeploymentConfig".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "apps.openshift.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "deploymentconfigs".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl DeploymentConfig {
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }
    pub fn latest_version(&self) -> i64 {
        self.status["latestVersion"].as_i64().unwrap_or(0)
    }
    pub fn replicas(&self) -> i32 {
        self.spec["replicas"].as_i64().unwrap_or(0) as i32
    }
    pub fn paused(&self) -> bool {
        self.spec["paused"] == true
    }
    /// The config as the API serves it (what a deployment records of it).
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["apiVersion"] = "apps.openshift.io/v1".into();
        value["kind"] = "DeploymentConfig".into();
        value
    }
}

/// An object kind served by the API, read as JSON (image streams, workloads with image
/// triggers).
macro_rules! json_kind {
    ($name:ident, $group:literal, $version:literal, $kind:literal, $plural:literal) => {
        #[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
        pub struct $name {
            pub metadata: ObjectMeta,
            #[serde(flatten)]
            pub rest: serde_json::Map<String, Value>,
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
                $version.into()
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
    };
}

json_kind!(
    ImageStream,
    "image.openshift.io",
    "v1",
    "ImageStream",
    "imagestreams"
);
