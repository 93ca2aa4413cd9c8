//! A binary build's input (`oc start-build --from-dir|--from-file|--from-archive`): the API
//! keeps the upload in the build's ConfigMap `<build>-binary`, which the build pod mounts for
//! the clone step (file `source`), instead of streaming it to the step's stdin. It lands in
//! the sources as a file (`asFile`) or extracted (zip, tar, gzipped tar), with upstream's
//! lines and messages.

use std::path::Path;

use tokio::process::Command;

use super::command;
use super::context::StepContext;
use super::failure::StepFailure;

/// Where the build pod mounts the upload.
pub const MOUNT: &str = "/var/run/openshift.io/binary";

fn extract_error(e: impl std::fmt::Display) -> StepFailure {
    StepFailure::fetch_source(format!(
        "unable to extract binary build input, must be a zip, tar, or gzipped tar, or specified as a file: {e}"
    ))
}

/// Whether `name` is a plain file name (upstream's rule for `asFile`).
pub fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// The command that extracts `archive` into `into`: unzip for zip files, else tar (which
/// reads plain and gzipped archives alike); owners and times are not kept.
pub fn extraction(archive: &Path, head: &[u8], into: &Path) -> Command {
    if head.starts_with(b"PK\x03\x04") {
        let mut c = Command::new("unzip");
        c.args(["-q", "-o"]).arg(archive).arg("-d").arg(into);
        c
    } else {
        let mut c = Command::new("tar");
        c.args(["-x", "--no-same-owner", "--no-same-permissions", "-m", "-f"])
            .arg(archive)
            .arg("-C")
            .arg(into);
        c
    }
}

pub async fn run(ctx: &StepContext, binary: &serde_json::Value) -> Result<(), StepFailure> {
    let upload = ctx
        .host_path(MOUNT)
        .map(|dir| dir.join("source"))
        .filter(|f| f.is_file())
        .ok_or_else(|| StepFailure::fetch_source("no binary input was uploaded for the build"))?;
    let inputs = ctx.inputs()?;
    std::fs::create_dir_all(&inputs).map_err(|e| StepFailure::fetch_source(e.to_string()))?;
    if let Some(name) = binary["asFile"].as_str().filter(|n| !n.is_empty()) {
        if !plain_file_name(name) {
            return Err(StepFailure::fetch_source(format!(
                "invalid file name {name:?}"
            )));
        }
        ctx.log
            .line(&format!("Receiving source from STDIN as file {name}"));
        let target = inputs.join(name);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| StepFailure::fetch_source(e.to_string()))?;
        let mut input =
            std::fs::File::open(&upload).map_err(|e| StepFailure::fetch_source(e.to_string()))?;
        std::io::copy(&mut input, &mut out)
            .map_err(|e| StepFailure::fetch_source(e.to_string()))?;
        return Ok(());
    }
    ctx.log.line("Receiving source from STDIN as archive ...");
    let mut head = [0u8; 4];
    let read = {
        use std::io::Read;
        std::fs::File::open(&upload).and_then(|mut f| f.read(&mut head))
    };
    let read = read.map_err(extract_error)?;
    command::run(extraction(&upload, &head[..read], &inputs), Some(&ctx.log))
        .await
        .map(|_| ())
        .map_err(|e| extract_error(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert!(plain_file_name("app.jar"));
        assert!(!plain_file_name("../x"));
        assert!(!plain_file_name("a/b"));
        assert!(!plain_file_name(".."));
        assert!(!plain_file_name(""));
    }

    #[tokio::test]
    async fn archives_of_either_kind_are_extracted() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("app")).unwrap();
        std::fs::write(src.join("app/Dockerfile"), "FROM scratch\n").unwrap();
        let tgz = dir.path().join("a.tgz");
        let made = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tgz)
            .arg("-C")
            .arg(&src)
            .arg("app")
            .status()
            .unwrap();
        assert!(made.success());
        let into = dir.path().join("out");
        std::fs::create_dir_all(&into).unwrap();
        let head = std::fs::read(&tgz).unwrap();
        command::run(extraction(&tgz, &head[..4], &into), None)
            .await
            .unwrap();
        assert!(into.join("app/Dockerfile").is_file());
        let zip = extraction(Path::new("z"), b"PK\x03\x04", &into);
        assert_eq!(zip.as_std().get_program(), "unzip");
    }
}
