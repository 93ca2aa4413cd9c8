//! Running one tool of a step (git, buildah) with its output written to the step's log as
//! it comes, and its last line kept for the step's error (the log has the rest).

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use super::log::StepLog;

/// How many of the last lines of output an error carries.
const KEPT_LINES: usize = 1;

/// What a tool printed (stdout) when it ran to success.
#[derive(Debug, Default)]
pub struct Ran {
    pub stdout: String,
}

/// A tool that could not start or exited non-zero: its last line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

async fn pump<R: AsyncRead + Unpin>(
    reader: R,
    log: Option<Arc<StepLog>>,
    stderr: bool,
    kept: Arc<Mutex<VecDeque<String>>>,
) -> String {
    let mut lines = BufReader::new(reader).lines();
    let mut all = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(log) = &log {
            if stderr {
                log.error(&line);
            } else {
                log.line(&line);
            }
        }
        if !stderr {
            all.push_str(&line);
            all.push('\n');
        }
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() == KEPT_LINES {
            kept.pop_front();
        }
        kept.push_back(line);
    }
    all
}

/// Runs `command` to its end; its output goes to `log` when given (else it is only kept).
/// The process is killed if the future is dropped (the step was stopped).
pub async fn run(mut command: Command, log: Option<&Arc<StepLog>>) -> Result<Ran, Failed> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|e| Failed(format!("{program}: {e}")))?;
    let kept = Arc::new(Mutex::new(VecDeque::new()));
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(Failed(format!("{program}: no output pipes")));
    };
    let (stdout, _) = tokio::join!(
        pump(out, log.cloned(), false, kept.clone()),
        pump(err, log.cloned(), true, kept.clone())
    );
    let status = child
        .wait()
        .await
        .map_err(|e| Failed(format!("{program}: {e}")))?;
    if status.success() {
        return Ok(Ran { stdout });
    }
    let kept = kept.lock().unwrap_or_else(|e| e.into_inner());
    let tail: Vec<&str> = kept.iter().map(String::as_str).collect();
    let code = status
        .code()
        .map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}"));
    if tail.is_empty() {
        Err(Failed(format!("{program}: {code}")))
    } else {
        Err(Failed(format!("{}: {code}", tail.join("\n"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_goes_to_the_log_and_failures_carry_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(StepLog::create(&dir.path().join("0.log")).unwrap());
        let mut ok = Command::new("sh");
        ok.args(["-c", "echo out; echo err >&2"]);
        let ran = run(ok, Some(&log)).await.unwrap();
        assert_eq!(ran.stdout, "out\n");
        let mut bad = Command::new("sh");
        bad.args(["-c", "echo first >&2; echo why >&2; exit 3"]);
        let failed = run(bad, Some(&log)).await.unwrap_err();
        assert_eq!(failed.0, "why: exit status 3");
        let text = std::fs::read_to_string(dir.path().join("0.log")).unwrap();
        assert_eq!(text.lines().count(), 4);
        let missing = run(Command::new("/nonexistent/tool"), None).await;
        assert!(missing.unwrap_err().0.starts_with("/nonexistent/tool: "));
    }
}
