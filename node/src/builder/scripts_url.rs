//! The Source strategy's `scripts` URL, as s2i's script installer takes it: `image://<dir>`
//! names the builder image's own scripts (nothing is fetched, and the sources' `.s2i/bin`
//! no longer overrides them); an `http(s)://` URL (on this machine only) is where `assemble`,
//! `run`, `save-artifacts` and `usage` are downloaded from, each one found overriding the
//! image's; a URL none of them could be fetched from fails the build.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

use super::command;
use super::failure::StepFailure;
use super::loopback::http_url_allowed;

/// s2i's required then optional scripts, in its order.
pub const SCRIPTS: [&str; 4] = ["assemble", "run", "save-artifacts", "usage"];

/// How long one script's download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptsUrl {
    /// The scripts are in the builder image, in this directory.
    Image(String),
    /// The scripts are downloaded from under this URL.
    Download(String),
}

pub fn parse(url: &str) -> ScriptsUrl {
    match super::s2i::scripts_dir(url) {
        Some(dir) => ScriptsUrl::Image(dir),
        None => ScriptsUrl::Download(url.trim_end_matches('/').to_string()),
    }
}

fn not_downloaded(url: &str) -> StepFailure {
    StepFailure::fetch_scripts(format!("could not download any scripts from URL {url}"))
}

/// Downloads the scripts under `url` into `dir` (made), executable; the names fetched.
pub async fn download(url: &str, dir: &Path) -> Result<Vec<String>, StepFailure> {
    if !http_url_allowed(url) {
        return Err(not_downloaded(url));
    }
    std::fs::create_dir_all(dir).map_err(|e| StepFailure::generic(e.to_string()))?;
    let mut fetched = Vec::new();
    for name in SCRIPTS {
        let to = dir.join(name);
        let mut curl = Command::new("curl");
        curl.args(["-fsS", "--proto", "=http,https", "--max-redirs", "0"])
            .arg("--max-time")
            .arg(DOWNLOAD_TIMEOUT.as_secs().to_string())
            .arg("-o")
            .arg(&to)
            .arg(format!("{url}/{name}"));
        match command::run(curl, None).await {
            Ok(_) => {
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| StepFailure::generic(e.to_string()))?;
                fetched.push(name.to_string());
            }
            Err(e) => {
                let _ = std::fs::remove_file(&to);
                tracing::debug!(script = name, error = %e, "script not downloaded");
            }
        }
    }
    if fetched.is_empty() {
        return Err(not_downloaded(url));
    }
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_urls_name_a_directory_of_the_image() {
        assert_eq!(
            parse("image:///opt/s2i/"),
            ScriptsUrl::Image("/opt/s2i".into())
        );
        assert_eq!(
            parse("http://127.0.0.1:8080/s2i/"),
            ScriptsUrl::Download("http://127.0.0.1:8080/s2i".into())
        );
    }

    #[tokio::test]
    async fn urls_off_this_machine_fetch_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for url in ["https://example.com/s2i", "file:///usr/libexec/s2i"] {
            let failed = download(url, dir.path()).await.unwrap_err();
            assert_eq!(failed.reason, "FetchScriptsFailed");
            assert_eq!(failed.message, "Failed to fetch specified scripts.");
            assert_eq!(
                failed.error,
                format!("could not download any scripts from URL {url}")
            );
        }
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
