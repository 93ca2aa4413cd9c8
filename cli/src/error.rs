//! Errors as `oc` prints them: `error: <message>` for the command's own failures and
//! `Error from server (<Reason>): <message>` for Status answers, on stderr, exit code 1.

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A failure of the command itself.
    #[error("error: {0}")]
    Message(String),
    /// A Status from the server.
    #[error("Error from server ({reason}): {message}")]
    Server { reason: String, message: String },
    /// A message printed as it is (kubectl's wording of invalid objects).
    #[error("{0}")]
    Plain(String),
    /// Failures already printed (one per object); only the exit code is left to give.
    #[error("")]
    Silent,
    /// An answer given through the exit code only (`oc auth can-i`'s "no" is 1).
    #[error("")]
    Exit(i32),
}

impl CliError {
    pub fn msg(message: impl Into<String>) -> CliError {
        CliError::Message(message.into())
    }

    /// The error a non-2xx answer stands for (a Status body, or the bare HTTP status).
    pub fn from_response(status: http::StatusCode, body: &[u8]) -> CliError {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(s) if s["kind"] == "Status" && s["reason"] == "Invalid" => invalid(&s),
            Ok(s) if s["kind"] == "Status" => CliError::Server {
                reason: s["reason"].as_str().unwrap_or("Unknown").to_string(),
                message: s["message"].as_str().unwrap_or_default().to_string(),
            },
            _ => CliError::Server {
                reason: status
                    .canonical_reason()
                    .unwrap_or("Unknown")
                    .replace(' ', ""),
                message: String::from_utf8_lossy(body).trim().to_string(),
            },
        }
    }
}

/// An Invalid Status as kubectl words it: `The ConfigMap "a" is invalid: <field>: <message>`,
/// one cause per line (`* ...`) when there are several (the same cause once); without a kind,
/// a name or causes, the server's message follows `The request is invalid`.
fn invalid(status: &serde_json::Value) -> CliError {
    let details = &status["details"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let (kind, name) = (text(&details["kind"]), text(&details["name"]));
    let mut causes: Vec<String> = Vec::new();
    for cause in details["causes"].as_array().into_iter().flatten() {
        let line = format!("{}: {}", text(&cause["field"]), text(&cause["message"]));
        if !causes.contains(&line) {
            causes.push(line);
        }
    }
    let message = text(&status["message"]);
    let prefix = if !kind.is_empty() || !name.is_empty() {
        format!("The {kind} {name:?} is invalid")
    } else if (!details.is_object() || causes.is_empty()) && !message.is_empty() {
        format!("The request is invalid: {message}")
    } else {
        "The request is invalid".to_string()
    };
    CliError::Plain(match causes.as_slice() {
        [] => prefix,
        [one] => format!("{prefix}: {one}"),
        many => format!("{prefix}: \n* {}", many.join("\n* ")),
    })
}

impl From<kube::Error> for CliError {
    fn from(e: kube::Error) -> CliError {
        match e {
            kube::Error::Api(s) => CliError::Server {
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            other => CliError::msg(other.to_string()),
        }
    }
}
