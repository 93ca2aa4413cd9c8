//! A command run in a container over the API server's `exec` (or `attach`) WebSocket, as
//! kubectl 1.32 runs it: `v5.channel.k8s.io` (one channel byte, then the payload; stdin's end
//! is the `[255, 0]` close signal), the terminal's size on the resize channel, and the final
//! status on the error channel, whose exit code becomes ours. When the server refuses the
//! WebSocket, the request is made again as kubectl's SPDY fallback makes it (POST), so the
//! error shown is the one kubectl shows.

use futures::{SinkExt, StreamExt};
use http::{Method, Request};
use kube::client::Body;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::Message;

use crate::error::CliError;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
const CLOSE: u8 = 255;

/// What to connect: stdin forwarded, and a terminal (stderr then joins stdout).
pub struct Streams {
    pub stdin: bool,
    pub tty: bool,
}

/// Runs the stream at `path` (a query already holding the options) to its end; `Ok` when the
/// command succeeded, `Exit(code)` when it exited non-zero.
pub async fn run(client: &kube::Client, path: &str, streams: &Streams) -> Result<(), CliError> {
    let request = Request::get(path)
        .body(Vec::new())
        .map_err(|e| CliError::msg(e.to_string()))?;
    let connection = match client.connect(request).await {
        Ok(connection) => connection,
        Err(kube::Error::Api(refused)) => return Err(fallback_error(client, path, refused).await),
        Err(e) => return Err(CliError::msg(e.to_string())),
    };
    let v5 = connection.supports_stream_close();
    let (mut sink, mut source) = connection.into_stream().split();
    let _raw = match streams.tty {
        true => terminal::RawMode::enter(),
        false => None,
    };
    if streams.tty
        && let Some((width, height)) = terminal::size()
    {
        let size = format!("{{\"Width\":{width},\"Height\":{height}}}\n");
        let _ = sink
            .send(Message::binary(frame(RESIZE, size.as_bytes())))
            .await;
    }
    let (to_server, mut outgoing) = tokio::sync::mpsc::channel::<Message>(8);
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    let input = streams.stdin.then(|| {
        let to_server = to_server.clone();
        tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buffer = vec![0u8; 32 * 1024];
            loop {
                match stdin.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to_server
                            .send(Message::binary(frame(STDIN, &buffer[..n])))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
            if v5 {
                let _ = to_server.send(Message::binary(vec![CLOSE, STDIN])).await;
            }
        })
    });
    drop(to_server);
    let mut status = Vec::new();
    {
        use std::io::Write;
        let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
        while let Some(message) = source.next().await {
            let data = match message {
                Ok(Message::Binary(data)) => data,
                Ok(Message::Close(_)) => break,
                Ok(_) => continue,
                Err(e) => {
                    return Err(CliError::msg(format!(
                        "error reading from error stream: next reader: {e}"
                    )));
                }
            };
            let written = match data.first() {
                Some(&STDOUT) => stdout.write_all(&data[1..]).and_then(|()| stdout.flush()),
                Some(&STDERR) => stderr.write_all(&data[1..]).and_then(|()| stderr.flush()),
                Some(&ERROR) => {
                    status.extend_from_slice(&data[1..]);
                    Ok(())
                }
                _ => Ok(()),
            };
            written.map_err(|e| CliError::msg(e.to_string()))?;
        }
    }
    if let Some(input) = input {
        input.abort();
    }
    writer.abort();
    drop(_raw);
    outcome(&status)
}

fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(payload.len() + 1);
    message.push(channel);
    message.extend_from_slice(payload);
    message
}

/// What the status on the error channel means: nothing or `Success` is success; a
/// `NonZeroExitCode` failure is that exit code (after kubectl's line); any other failure is
/// an error with the status's message.
pub fn outcome(status: &[u8]) -> Result<(), CliError> {
    if status.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let status: Value = serde_json::from_slice(status)
        .map_err(|e| CliError::msg(format!("error stream protocol error: {e}")))?;
    if status["status"] == "Success" {
        return Ok(());
    }
    if status["reason"] == "NonZeroExitCode" {
        let code = status["details"]["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["reason"] == "ExitCode")
            .and_then(|c| c["message"].as_str())
            .and_then(|m| m.parse::<u8>().ok());
        if let Some(code) = code {
            eprintln!("command terminated with exit code {code}");
            return Err(CliError::Exit(i32::from(code)));
        }
    }
    // kubectl prints the status's message as its own error.
    Err(CliError::msg(
        status["message"].as_str().unwrap_or_default().to_string(),
    ))
}

/// The error kubectl shows when the WebSocket is refused: that of its SPDY request (a POST),
/// which the server authorizes as `create`.
async fn fallback_error(
    client: &kube::Client,
    path: &str,
    refused: Box<kube::error::Status>,
) -> CliError {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "SPDY/3.1")
        .header("X-Stream-Protocol-Version", "v4.channel.k8s.io")
        .body(Body::empty());
    let answer = match request {
        Ok(request) => client.send(request).await.ok(),
        Err(_) => None,
    };
    if let Some(answer) = answer
        && !answer.status().is_success()
        && answer.status() != http::StatusCode::SWITCHING_PROTOCOLS
    {
        let status = answer.status();
        if let Ok(body) = answer.into_body().collect_bytes().await {
            return CliError::from_response(status, &body);
        }
    }
    CliError::from(kube::Error::Api(refused))
}

/// The local terminal: raw while a remote terminal runs, restored after.
mod terminal {
    use rustix::termios::{OptionalActions, Termios, tcgetattr, tcgetwinsize, tcsetattr};

    pub struct RawMode(Termios);

    impl RawMode {
        /// Raw mode on standard input, if it is a terminal.
        pub fn enter() -> Option<RawMode> {
            let stdin = rustix::stdio::stdin();
            let saved = tcgetattr(stdin).ok()?;
            let mut raw = saved.clone();
            raw.make_raw();
            tcsetattr(stdin, OptionalActions::Now, &raw).ok()?;
            Some(RawMode(saved))
        }
    }

    impl Drop for RawMode {
        fn drop(&mut self) {
            let _ = tcsetattr(rustix::stdio::stdin(), OptionalActions::Now, &self.0);
        }
    }

    /// The terminal's columns and rows.
    pub fn size() -> Option<(u16, u16)> {
        let size = tcgetwinsize(rustix::stdio::stdout()).ok()?;
        Some((size.ws_col, size.ws_row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_exit_codes() {
        assert!(outcome(b"").is_ok());
        assert!(outcome(br#"{"metadata":{},"status":"Success"}"#).is_ok());
        let failed = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#;
        assert!(matches!(outcome(failed), Err(CliError::Exit(3))));
        let internal = br#"{"metadata":{},"status":"Failure","message":"Internal error occurred: boom","reason":"InternalError","code":500}"#;
        assert_eq!(
            outcome(internal).unwrap_err().to_string(),
            "error: Internal error occurred: boom"
        );
    }
}
