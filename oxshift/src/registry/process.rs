//! Runs docker-registry and starts it again when it exits (with a growing pause), until the
//! server stops it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;

const FIRST_PAUSE: Duration = Duration::from_millis(500);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// A run this long resets the pause.
const STABLE_RUN: Duration = Duration::from_secs(60);

pub struct Supervisor {
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    pub(super) fn start(
        program: &str,
        config: &Path,
        log: &Path,
        ca: &Path,
    ) -> std::io::Result<Supervisor> {
        let (stop, mut stopped) = watch::channel(false);
        let (program, config, log, ca) = (
            program.to_string(),
            config.to_path_buf(),
            log.to_path_buf(),
            ca.to_path_buf(),
        );
        // The first start's failure (not installed) is the caller's to report.
        let mut child = spawn(&program, &config, &log, &ca)?;
        let done = tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            loop {
                let started = std::time::Instant::now();
                tokio::select! {
                    status = child.wait() => {
                        tracing::warn!(?status, "the integrated registry exited; starting it again");
                    }
                    _ = stopped.changed() => {
                        let _ = child.kill().await;
                        return;
                    }
                }
                if started.elapsed() > STABLE_RUN {
                    pause = FIRST_PAUSE;
                }
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopped.changed() => return,
                }
                pause = (pause * 2).min(LONGEST_PAUSE);
                child = match spawn(&program, &config, &log, &ca) {
                    Ok(child) => child,
                    Err(e) => {
                        tracing::error!(error = %e, "the integrated registry could not be started");
                        return;
                    }
                };
            }
        });
        Ok(Supervisor { stop, done })
    }

    /// Stops the registry and waits until it is gone.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }
}

fn spawn(
    program: &str,
    config: &PathBuf,
    log: &PathBuf,
    ca: &PathBuf,
) -> std::io::Result<tokio::process::Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    Command::new(program)
        .arg("serve")
        .arg(config)
        // Its `REGISTRY_*` variables would override the configuration written for it.
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // Go's TLS trusts this file's certificates: the notifications go to the API server.
        .env("SSL_CERT_FILE", ca)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
}
