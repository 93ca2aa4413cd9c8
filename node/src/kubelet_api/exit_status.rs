//! The `metav1.Status` written on the error channel when a stream ends, byte for byte as the
//! kubelet's `json.Marshal` writes it (no kind, `metadata` always present): kubectl reads an
//! exit code from `NonZeroExitCode` and any other failure's message.

use serde_json::json;

use crate::container_io::ProcessExit;

/// The status of an exec of `command` (empty for attach) that ended with `exit`.
pub fn status(command: &[String], exit: &ProcessExit) -> String {
    match exit {
        ProcessExit::Code(0) => success(),
        // Attach reports how the stream ended, not the process: the container's exit code
        // is in the pod's status.
        ProcessExit::Code(_) if command.is_empty() => success(),
        ProcessExit::Code(code) => json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                command.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
        .to_string(),
        ProcessExit::Failed(why) => internal_error(why),
    }
}

pub fn success() -> String {
    json!({"metadata": {}, "status": "Success"}).to_string()
}

/// Upstream's `NewInternalError` for a stream that could not run.
pub fn internal_error(why: &str) -> String {
    let cause = format!("error executing command in container: {why}");
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: {cause}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn success_is_the_bare_status() {
        assert_eq!(
            status(&argv(&["true"]), &ProcessExit::Code(0)),
            r#"{"metadata":{},"status":"Success"}"#
        );
    }

    #[test]
    fn non_zero_exits_carry_the_code_as_a_cause() {
        assert_eq!(
            status(&argv(&["sh", "-c", "exit 3"]), &ProcessExit::Code(3)),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
    }

    #[test]
    fn attach_ends_in_success_whatever_the_code() {
        assert_eq!(status(&[], &ProcessExit::Code(1)), success());
    }

    #[test]
    fn runtime_failures_are_internal_errors() {
        assert_eq!(
            status(
                &argv(&["nope"]),
                &ProcessExit::Failed("no such file".into())
            ),
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: error executing command in container: no such file","reason":"InternalError","details":{"causes":[{"message":"error executing command in container: no such file"}]},"code":500}"#
        );
    }
}
