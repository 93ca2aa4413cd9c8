//! Why a step failed: upstream's reason and message for the Build (the builder writes them
//! through the details before it exits non-zero, so the build controller keeps them), and
//! the error printed at the end of the step's log.

/// A step's failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub reason: &'static str,
    pub message: &'static str,
    /// What went wrong, in words (the log's last line).
    pub error: String,
}

impl StepFailure {
    fn new(reason: &'static str, message: &'static str, error: impl Into<String>) -> Self {
        StepFailure {
            reason,
            message,
            error: error.into(),
        }
    }

    pub fn fetch_source(error: impl Into<String>) -> Self {
        Self::new(
            "FetchSourceFailed",
            "Failed to fetch the input source.",
            error,
        )
    }

    pub fn context_dir(dir: &str) -> Self {
        Self::new(
            "InvalidContextDirectory",
            "The supplied context directory does not exist.",
            format!("provided context directory does not exist: {dir}"),
        )
    }

    pub fn manage_dockerfile(error: impl Into<String>) -> Self {
        Self::new(
            "ManageDockerfileFailed",
            "Failed to manage docker file.",
            error,
        )
    }

    pub fn pull_builder_image(error: impl Into<String>) -> Self {
        Self::new(
            "PullBuilderImageFailed",
            "Failed pulling builder image.",
            format!("failed to pull image: {}", error.into()),
        )
    }

    pub fn docker_build(error: impl Into<String>) -> Self {
        Self::new(
            "DockerBuildFailed",
            "Dockerfile build strategy has failed.",
            error,
        )
    }

    pub fn generic(error: impl Into<String>) -> Self {
        Self::new(
            "GenericBuildFailed",
            "Generic Build failure - check logs for details.",
            error,
        )
    }

    pub fn push(error: impl Into<String>) -> Self {
        Self::new(
            "PushImageToRegistryFailed",
            "Failed to push the image to the registry.",
            format!("Failed to push image: {}", error.into()),
        )
    }

    /// s2i's failure to download the strategy's scripts.
    pub fn fetch_scripts(error: impl Into<String>) -> Self {
        Self::new(
            "FetchScriptsFailed",
            "Failed to fetch specified scripts.",
            error,
        )
    }

    pub fn image_content(error: impl Into<String>) -> Self {
        Self::new(
            "FetchImageContentFailed",
            "Failed to extract image content.",
            error,
        )
    }
}
