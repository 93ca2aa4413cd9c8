//! The options of `pods/log`, `pods/exec` and `pods/attach` read from the query as upstream's
//! parameter codec reads them, checked as upstream checks them, and rewritten into the query
//! the node's API takes (`streamParams` and the log location of kube-apiserver).

use api::status::StatusCause;

use crate::error::{ApiError, Target};
use crate::registry::query::Pairs;

/// `PodLogOptions`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub container: String,
    pub follow: bool,
    pub previous: bool,
    pub timestamps: bool,
    pub since_seconds: Option<i64>,
    /// RFC 3339, whole seconds (as upstream passes it on).
    pub since_time: Option<String>,
    pub tail_lines: Option<i64>,
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// The options of `query` for pod `name`, checked as `ValidatePodLogOptions` does.
    pub fn parse(query: Option<&str>, name: &str) -> Result<LogOptions, ApiError> {
        let pairs = Pairs::parse(query)?;
        let since_time = match pairs.first("sinceTime") {
            None | Some("") => None,
            Some(v) => {
                let at: jiff::Timestamp = v.parse().map_err(|_| {
                    ApiError::BadRequest(format!(
                        "parsing time {v:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {v:?} as \"2006\""
                    ))
                })?;
                Some(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            }
        };
        let options = LogOptions {
            container: pairs.first("container").unwrap_or_default().to_string(),
            follow: pairs.flag("follow"),
            previous: pairs.flag("previous"),
            timestamps: pairs.flag("timestamps"),
            since_seconds: pairs.integer("sinceSeconds")?,
            since_time,
            tail_lines: pairs.integer("tailLines")?,
            limit_bytes: pairs.integer("limitBytes")?,
        };
        let mut causes = Vec::new();
        let invalid = |field: &str, value: i64, rule: &str| StatusCause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value}: {rule}"),
            field: field.into(),
        };
        if let Some(n) = options.tail_lines.filter(|n| *n < 0) {
            causes.push(invalid(
                "tailLines",
                n,
                "must be greater than or equal to 0",
            ));
        }
        if let Some(n) = options.limit_bytes.filter(|n| *n < 1) {
            causes.push(invalid("limitBytes", n, "must be greater than 0"));
        }
        if options.since_seconds.is_some() && options.since_time.is_some() {
            causes.push(StatusCause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
                    .into(),
                field: String::new(),
            });
        }
        if let Some(n) = options.since_seconds.filter(|n| *n < 1) {
            causes.push(invalid("sinceSeconds", n, "must be greater than 0"));
        }
        if !causes.is_empty() {
            return Err(ApiError::Invalid {
                kind: "PodLogOptions".into(),
                target: Target {
                    group: String::new(),
                    resource: "pods".into(),
                    name: name.to_string(),
                },
                causes,
            });
        }
        Ok(options)
    }

    /// The node's query: only what is set, keys sorted (Go's `url.Values.Encode`).
    pub fn node_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if self.follow {
            pairs.push(("follow", "true".into()));
        }
        if let Some(n) = self.limit_bytes {
            pairs.push(("limitBytes", n.to_string()));
        }
        if self.previous {
            pairs.push(("previous", "true".into()));
        }
        if let Some(n) = self.since_seconds {
            pairs.push(("sinceSeconds", n.to_string()));
        }
        if let Some(t) = &self.since_time {
            pairs.push(("sinceTime", t.clone()));
        }
        if let Some(n) = self.tail_lines {
            pairs.push(("tailLines", n.to_string()));
        }
        if self.timestamps {
            pairs.push(("timestamps", "true".into()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// `PodExecOptions` and `PodAttachOptions` (no command).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    pub container: String,
    pub command: Vec<String>,
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub tty: bool,
}

impl StreamOptions {
    pub fn parse(query: Option<&str>) -> Result<StreamOptions, ApiError> {
        let pairs = Pairs::parse(query)?;
        Ok(StreamOptions {
            container: pairs.first("container").unwrap_or_default().to_string(),
            command: pairs.all("command").map(str::to_string).collect(),
            stdin: pairs.flag("stdin"),
            stdout: pairs.flag("stdout"),
            stderr: pairs.flag("stderr"),
            tty: pairs.flag("tty"),
        })
    }

    /// The node's query, as kube-apiserver's `streamParams` writes it: the streams as `1`
    /// (`input`, `output`, `error`, `tty`), one `command` per argument, keys sorted.
    pub fn node_query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .command
            .iter()
            .map(|c| ("command", c.as_str()))
            .collect();
        for (wanted, key) in [
            (self.stderr, "error"),
            (self.stdin, "input"),
            (self.stdout, "output"),
            (self.tty, "tty"),
        ] {
            if wanted {
                pairs.push((key, "1"));
            }
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_queries_are_rewritten_for_the_node() {
        let options = StreamOptions::parse(Some(
            "command=sh&command=-c&command=echo+a%26b&container=app&stderr=true&stdin=true&stdout=true&tty=true",
        ))
        .unwrap();
        assert_eq!(options.container, "app");
        assert_eq!(options.command, vec!["sh", "-c", "echo a&b"]);
        assert_eq!(
            options.node_query(),
            "command=sh&command=-c&command=echo+a%26b&error=1&input=1&output=1&tty=1"
        );
        let attach = StreamOptions::parse(Some("container=app&stdout=true&stdin=false")).unwrap();
        assert_eq!(attach.node_query(), "output=1");
    }

    #[test]
    fn log_queries_are_rewritten_for_the_node() {
        let options = LogOptions::parse(
            Some("container=app&follow=true&tailLines=10&timestamps=true&sinceTime=2024-11-20T10:15:30.5Z&previous=false"),
            "web",
        )
        .unwrap();
        assert_eq!(options.container, "app");
        assert_eq!(
            options.node_query(),
            "follow=true&sinceTime=2024-11-20T10%3A15%3A30Z&tailLines=10&timestamps=true"
        );
        assert_eq!(LogOptions::parse(None, "web").unwrap().node_query(), "");
    }

    #[test]
    fn log_options_are_validated_as_upstream() {
        let e = LogOptions::parse(Some("tailLines=-1"), "web").unwrap_err();
        assert_eq!(
            e.status().message,
            "PodLogOptions \"web\" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(e.status().code, 422);
        let e = LogOptions::parse(Some("tailLines=x"), "web").unwrap_err();
        assert_eq!(
            e.status().message,
            "strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert!(
            LogOptions::parse(Some("sinceSeconds=1&sinceTime=2024-01-01T00:00:00Z"), "web")
                .is_err()
        );
    }
}
