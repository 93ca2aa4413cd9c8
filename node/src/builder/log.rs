//! A build step's log, written as the container runtime writes a container's: CRI records
//! (`<time> stdout F <line>`) appended line by line, so `kubectl logs -f` follows the step
//! as it runs and the termination message can be read back from it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

pub struct StepLog {
    file: Mutex<File>,
}

/// One CRI record per line of `text` (a trailing newline ends the last one).
pub fn records(time: jiff::Timestamp, stream: &str, text: &str) -> String {
    let mut out = String::new();
    let text = text.strip_suffix('\n').unwrap_or(text);
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push_str(&format!("{time} {stream} F {line}\n"));
    }
    out
}

impl StepLog {
    pub fn create(path: &Path) -> std::io::Result<StepLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(StepLog {
            file: Mutex::new(file),
        })
    }

    /// Appends `text` (one or more lines) to stdout.
    pub fn line(&self, text: &str) {
        self.write("stdout", text);
    }

    /// Appends `text` to stderr.
    pub fn error(&self, text: &str) {
        self.write("stderr", text);
    }

    fn write(&self, stream: &str, text: &str) {
        let records = records(jiff::Timestamp::now(), stream, text);
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(records.as_bytes()) {
            tracing::warn!(error = %e, "build log not written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::cri_log;

    #[test]
    fn lines_become_records_the_log_reader_parses() {
        let time: jiff::Timestamp = "2026-01-02T03:04:05.5Z".parse().unwrap();
        let text = records(time, "stdout", "Cloning \"x\" ...\n\tCommit:\tabc\r\n");
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let first = cri_log::parse(lines[0]).unwrap();
        assert_eq!(first.text, "Cloning \"x\" ...");
        assert_eq!(first.stream, "stdout");
        assert!(!first.partial);
        assert_eq!(cri_log::parse(lines[1]).unwrap().text, "\tCommit:\tabc");
        // An empty line stays a line.
        assert_eq!(records(time, "stderr", "\n").lines().count(), 1);
    }

    #[test]
    fn a_log_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c/0.log");
        let log = StepLog::create(&path).unwrap();
        log.line("one");
        log.error("two");
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Vec<_> = text.lines().filter_map(cri_log::parse).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].stream, "stderr");
        assert_eq!(parsed[1].text, "two");
    }
}
