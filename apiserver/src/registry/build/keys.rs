//! The labels and annotations of builds and their configs (upstream's build/v1 constants).

pub const BUILD_CONFIG_NAME: &str = "openshift.io/build-config.name";
pub const BUILD_NUMBER: &str = "openshift.io/build.number";
pub const POD_NAME: &str = "openshift.io/build.pod-name";
pub const CLONE_OF: &str = "openshift.io/build.clone-of";
pub const PAUSED: &str = "openshift.io/build-config.paused";
pub const START_POLICY: &str = "openshift.io/build.start-policy";
/// The deprecated label naming a build's config.
pub const LEGACY_CONFIG: &str = "buildconfig";
/// The key of a webhook secret's value.
pub const WEBHOOK_SECRET_KEY: &str = "WebHookSecretKey";

/// The phases after which a build never changes again.
pub fn is_terminal(phase: &str) -> bool {
    matches!(phase, "Complete" | "Failed" | "Error" | "Cancelled")
}
