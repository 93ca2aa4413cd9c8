//! The registry: what serves each resource and subresource. One table maps
//! `(group, resource, subresource)` to a handler implementing `rest::Rest`, filled in one place
//! (`Registry::new`): every stored kind gets the generic store (`generic`) with its strategy
//! (`strategy`: defaults, validation, reservations), and virtual resources and special
//! subresources get handlers of their own. `dispatch` takes a request to its handler.
//!
//! Where things go: a kind's behaviour in its group's folder (`core/`, `apps/`, `batch/`,
//! `apps_openshift/`...) as a `Strategy`, registered with one `strategy(...)` line below; a
//! subresource or virtual resource as a `Rest` handler in its group's folder, registered with
//! one `handler(...)` line. Shared pieces (answers, selections, query options, objects,
//! decoding, validation rules, tables) live in modules that import none of the handlers.

pub mod admissionregistration;
pub mod apiextensions;
pub mod apiregistration;
pub mod apps;
pub mod apps_openshift;
pub mod authorization;
pub mod autoscaling;
pub mod batch;
pub mod binary_authorization;
pub mod build;
pub mod certificates;
pub mod config_openshift;
pub mod config_oxshift;
pub mod conversion;
pub mod core;
pub mod decode;
pub mod deprecation;
pub mod dispatch;
pub mod flowcontrol;
pub mod generic;
pub mod go_fmt;
pub mod image;
pub mod networking;
pub mod node;
pub mod oauth;
pub mod object;
pub mod policy;
pub mod project;
pub mod pruned_json;
pub mod query;
pub mod quota;
pub mod response;
pub mod rest;
pub mod route;
pub mod scheduling;
pub mod security;
pub mod selection;
pub mod storage;
pub mod strategy;
pub mod table;
pub mod template;
pub mod user;
pub mod validation;

use std::collections::HashMap;
use std::sync::Arc;

use api::Scheme;
use api::scheme::ResourceDef;

use generic::{Generic, Serves};
use rest::Rest;
use strategy::{Plain, Strategy};

type Key = (&'static str, &'static str, &'static str);

pub struct Registry {
    handlers: HashMap<Key, Arc<dyn Rest>>,
    strategies: HashMap<(&'static str, &'static str), &'static dyn Strategy>,
    /// What serves every custom resource (objects, status, scale), by subresource.
    custom: HashMap<&'static str, Arc<dyn Rest>>,
}

impl Registry {
    pub fn new(scheme: &Scheme) -> Registry {
        let mut r = Registry {
            handlers: HashMap::new(),
            strategies: HashMap::new(),
            custom: custom_handlers(),
        };
        // Kinds with behaviour of their own.
        r.strategy("", "namespaces", &core::Namespaces);
        r.strategy(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            &apiextensions::CustomResourceDefinitions,
        );
        r.strategy(
            "apiregistration.k8s.io",
            "apiservices",
            &apiregistration::ApiServices,
        );
        r.strategy("", "secrets", &core::Secrets);
        r.strategy(
            "certificates.k8s.io",
            "certificatesigningrequests",
            &certificates::CertificateSigningRequests,
        );
        r.strategy("", "configmaps", &core::ConfigMaps);
        r.strategy("", "events", &core::events::Events);
        r.strategy("events.k8s.io", "events", &core::events::Events);
        r.strategy(
            "config.openshift.io",
            "images",
            &config_openshift::ImageConfigs,
        );
        r.strategy(
            "config.oxshift.io",
            "imagetrustpolicies",
            &config_oxshift::ImageTrustPolicies,
        );
        for (plural, strategy) in binary_authorization::STRATEGIES {
            r.strategy("binaryauthorization.oxshift.io", plural, *strategy);
        }
        r.strategy("", "resourcequotas", &quota::ResourceQuotas);
        r.strategy(
            "quota.openshift.io",
            "clusterresourcequotas",
            &quota::ClusterResourceQuotas,
        );
        r.strategy("", "services", &core::Services);
        r.strategy("", "pods", &core::Pods);
        r.strategy(
            "",
            "persistentvolumes",
            &core::persistent_volumes::PersistentVolumes,
        );
        r.strategy(
            "",
            "persistentvolumeclaims",
            &core::persistent_volumes::PersistentVolumeClaims,
        );
        r.strategy("", "podtemplates", &core::PodTemplates);
        r.strategy("", "replicationcontrollers", &apps::REPLICATED);
        r.strategy("apps", "deployments", &apps::DEPLOYMENTS);
        r.strategy("apps", "replicasets", &apps::REPLICATED);
        r.strategy("apps", "statefulsets", &apps::StatefulSets);
        r.strategy("apps", "daemonsets", &apps::DaemonSets);
        r.strategy("batch", "jobs", &batch::Jobs);
        r.strategy("batch", "cronjobs", &batch::CronJobs);
        r.strategy(
            "autoscaling",
            "horizontalpodautoscalers",
            &autoscaling::HorizontalPodAutoscalers,
        );
        r.strategy(
            "policy",
            "poddisruptionbudgets",
            &policy::PodDisruptionBudgets,
        );
        r.strategy("apps", "controllerrevisions", &apps::ControllerRevisions);
        r.strategy("networking.k8s.io", "ingresses", &networking::Ingresses);
        r.strategy(
            "networking.k8s.io",
            "ingressclasses",
            &networking::IngressClasses,
        );
        r.strategy("node.k8s.io", "runtimeclasses", &node::RuntimeClasses);
        r.strategy(
            "networking.k8s.io",
            "networkpolicies",
            &networking::NetworkPolicies,
        );
        r.strategy(
            "scheduling.k8s.io",
            "priorityclasses",
            &scheduling::PriorityClasses,
        );
        r.strategy("storage.k8s.io", "storageclasses", &storage::StorageClasses);
        const ADMISSION: &str = "admissionregistration.k8s.io";
        r.strategy(
            ADMISSION,
            "mutatingwebhookconfigurations",
            &admissionregistration::WebhookConfigurations { mutating: true },
        );
        r.strategy(
            ADMISSION,
            "validatingwebhookconfigurations",
            &admissionregistration::WebhookConfigurations { mutating: false },
        );
        r.strategy(
            ADMISSION,
            "validatingadmissionpolicies",
            &admissionregistration::ValidatingPolicies,
        );
        r.strategy(
            ADMISSION,
            "validatingadmissionpolicybindings",
            &admissionregistration::PolicyBindings,
        );
        r.strategy("storage.k8s.io", "csidrivers", &storage::CsiDrivers);
        r.strategy(
            "flowcontrol.apiserver.k8s.io",
            "flowschemas",
            &flowcontrol::FlowSchemas,
        );
        r.strategy(
            "flowcontrol.apiserver.k8s.io",
            "prioritylevelconfigurations",
            &flowcontrol::PriorityLevels,
        );
        r.strategy(
            "apps.openshift.io",
            "deploymentconfigs",
            &apps_openshift::DeploymentConfigs,
        );
        r.strategy("template.openshift.io", "templates", &template::Templates);
        r.strategy(
            "template.openshift.io",
            "templateinstances",
            &template::TemplateInstances,
        );
        r.strategy(
            "template.openshift.io",
            "brokertemplateinstances",
            &template::BrokerTemplateInstances,
        );
        r.strategy("route.openshift.io", "routes", &route::Routes);
        r.strategy("build.openshift.io", "buildconfigs", &build::BuildConfigs);
        r.strategy("build.openshift.io", "builds", &build::Builds);
        r.strategy("image.openshift.io", "imagestreams", &image::ImageStreams);
        r.strategy("image.openshift.io", "images", &image::Images);
        r.strategy(
            "security.openshift.io",
            "securitycontextconstraints",
            &security::SecurityContextConstraints,
        );
        // Subresources and virtual resources with handlers of their own.
        r.handler(
            "",
            "serviceaccounts",
            "token",
            core::token_request::TokenRequests,
        );
        r.handler("", "pods", "binding", core::binding::Bindings);
        r.handler("", "pods", "eviction", core::eviction::Evictions);
        r.handler("", "pods", "log", core::pod_streams::Log);
        r.handler("", "pods", "exec", core::pod_streams::EXEC);
        r.handler("", "pods", "attach", core::pod_streams::ATTACH);
        r.handler("", "pods", "portforward", core::pod_streams::PortForward);
        r.handler(
            "apps.openshift.io",
            "deploymentconfigs",
            "instantiate",
            apps_openshift::instantiate::Instantiate,
        );
        r.handler(
            "apps.openshift.io",
            "deploymentconfigs",
            "rollback",
            apps_openshift::rollback::Rollback,
        );
        r.handler(
            "apps.openshift.io",
            "deploymentconfigs",
            "log",
            apps_openshift::log::Log,
        );
        r.handler(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            "",
            apiextensions::Definitions(Generic::new(
                Serves::Object,
                &apiextensions::CustomResourceDefinitions,
            )),
        );
        for review in security::reviews::RESOURCES {
            r.handler(
                "security.openshift.io",
                review,
                "",
                security::reviews::Reviews,
            );
        }
        r.handler(
            "quota.openshift.io",
            "appliedclusterresourcequotas",
            "",
            quota::AppliedClusterResourceQuotas,
        );
        r.handler("project.openshift.io", "projects", "", project::Projects);
        r.handler(
            "project.openshift.io",
            "projectrequests",
            "",
            project::ProjectRequests,
        );
        r.handler(
            "oauth.openshift.io",
            "useroauthaccesstokens",
            "",
            oauth::UserTokens,
        );
        r.handler(
            "user.openshift.io",
            "useridentitymappings",
            "",
            user::IdentityMappings,
        );
        r.handler(
            "user.openshift.io",
            "users",
            "",
            user::Users(Generic::new(Serves::Object, &Plain)),
        );
        r.handler(
            "template.openshift.io",
            "processedtemplates",
            "",
            template::ProcessedTemplates,
        );
        r.handler(
            "template.openshift.io",
            "templateinstances",
            "",
            template::WithRequester(Generic::new(Serves::Object, &template::TemplateInstances)),
        );
        r.handler(
            "image.openshift.io",
            "imagestreammappings",
            "",
            image::ImageStreamMappings,
        );
        r.handler(
            "image.openshift.io",
            "imagestreamtags",
            "",
            image::stream_tags::ImageStreamTags,
        );
        r.handler(
            "image.openshift.io",
            "imagetags",
            "",
            image::image_tags::ImageTags,
        );
        r.handler(
            "image.openshift.io",
            "imagestreamimages",
            "",
            image::stream_images::ImageStreamImages,
        );
        r.handler(
            "image.openshift.io",
            "imagestreamimports",
            "",
            image::import::ImageStreamImports,
        );
        r.handler(
            "image.openshift.io",
            "imagesignatures",
            "",
            image::signatures::ImageSignatures,
        );
        r.handler(
            "image.openshift.io",
            "imagestreams",
            "layers",
            image::layers::Layers,
        );
        r.handler(
            "image.openshift.io",
            "imagestreams",
            "secrets",
            image::secrets::Secrets,
        );
        r.handler(
            "build.openshift.io",
            "buildconfigs",
            "instantiate",
            build::instantiate::Instantiate,
        );
        r.handler(
            "build.openshift.io",
            "buildconfigs",
            "instantiatebinary",
            build::binary::InstantiateBinary,
        );
        r.handler(
            "build.openshift.io",
            "buildconfigs",
            "webhooks",
            build::webhooks::Webhooks,
        );
        r.handler(
            "build.openshift.io",
            "builds",
            "clone",
            build::instantiate::Clone,
        );
        r.handler(
            "build.openshift.io",
            "builds",
            "details",
            build::details::Details,
        );
        r.handler("build.openshift.io", "builds", "log", build::log::Log);
        // Everything else the scheme serves: reviews, and the generic store for every stored
        // kind (the object, and its status, scale and finalize subresources).
        r.fill_in(scheme);
        r
    }

    fn strategy(&mut self, group: &'static str, plural: &'static str, s: &'static dyn Strategy) {
        self.strategies.insert((group, plural), s);
    }

    fn handler(
        &mut self,
        group: &'static str,
        plural: &'static str,
        subresource: &'static str,
        handler: impl Rest + 'static,
    ) {
        self.handlers
            .insert((group, plural, subresource), Arc::new(handler));
    }

    fn fill_in(&mut self, scheme: &Scheme) {
        for def in scheme.resources() {
            let strategy = self.strategy_of(def);
            let mut add = |sub: &'static str, handler: Arc<dyn Rest>| {
                self.handlers
                    .entry((def.group, def.plural, sub))
                    .or_insert(handler);
            };
            if !def.stored {
                add("", Arc::new(authorization::Reviews));
                continue;
            }
            add("", Arc::new(Generic::new(Serves::Object, strategy)));
            for sub in def.subresources {
                let serves = match sub.name {
                    "status" => Serves::Status,
                    "scale" => Serves::Scale,
                    "finalize" => Serves::Finalize,
                    "approval" => Serves::Approval,
                    _ => continue,
                };
                add(sub.name, Arc::new(Generic::new(serves, strategy)));
            }
        }
    }

    /// The handler of `def`'s `subresource` ("" for the objects themselves).
    pub fn handler_of(&self, def: &ResourceDef, subresource: &str) -> Option<&Arc<dyn Rest>> {
        let subresource = match subresource {
            "" => "",
            name => def.subresources.iter().find(|s| s.name == name)?.name,
        };
        self.handlers.get(&(def.group, def.plural, subresource))
    }

    /// The strategy of `def`'s kind.
    pub fn strategy_of(&self, def: &ResourceDef) -> &'static dyn Strategy {
        self.strategies
            .get(&(def.group, def.plural))
            .copied()
            .unwrap_or(&Plain)
    }

    /// The handler of a custom resource's `subresource` ("" for the objects themselves).
    pub fn custom_handler_of(
        &self,
        def: &ResourceDef,
        subresource: &str,
    ) -> Option<&Arc<dyn Rest>> {
        let subresource = match subresource {
            "" => "",
            name => def.subresources.iter().find(|s| s.name == name)?.name,
        };
        self.custom.get(subresource)
    }
}

/// The generic store with the schema-driven strategy, for every custom resource.
fn custom_handlers() -> HashMap<&'static str, Arc<dyn Rest>> {
    let strategy = &apiextensions::SCHEMA_DRIVEN;
    let mut handlers: HashMap<&'static str, Arc<dyn Rest>> = HashMap::new();
    handlers.insert(
        "",
        Arc::new(apiextensions::CustomObjects(Generic::new(
            Serves::Object,
            strategy,
        ))),
    );
    handlers.insert(
        "status",
        Arc::new(apiextensions::CustomObjects(Generic::new(
            Serves::Status,
            strategy,
        ))),
    );
    handlers.insert(
        "scale",
        Arc::new(apiextensions::CustomObjects(Generic::new(
            Serves::Scale,
            strategy,
        ))),
    );
    handlers
}
