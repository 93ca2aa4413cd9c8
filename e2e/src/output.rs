//! What a command printed, and the test's assertion on how it ended.

use std::process::Output;

/// Its stdout then its stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Its trimmed stdout; the test fails (with everything printed) when the command did.
pub fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Everything it printed; the test fails when the command succeeded.
pub fn failed(out: Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have failed: {}",
        text(&out)
    );
    text(&out)
}
