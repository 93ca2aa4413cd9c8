//! One exec or attach session over a WebSocket: stdin and resize from the client, stdout and
//! stderr to it, and, when the process has ended and its output is sent, the final status on
//! the error channel and a normal close (1000), which kubectl takes as the end of the stream.

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::channels::{self, Inbound};
use super::exit_status;
use super::websocket::Socket;
use crate::container_io::StreamSession;

/// What a session sends at most at once (kubectl's own buffer size).
const CHUNK: usize = 32 * 1024;

/// Serves `session` on `socket` until the process ends or the client goes.
pub async fn serve(socket: Socket, v5: bool, session: StreamSession, command: Vec<String>) {
    let (mut sink, mut source) = socket.split();
    let (out, mut outgoing) = mpsc::channel::<Message>(16);
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let close = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let StreamSession {
        stdin,
        stdout,
        stderr,
        resize,
        exit,
    } = session;
    // The first message, empty, on the lowest channel the client reads, as upstream sends it.
    let first = match (&stdout, &stderr) {
        (Some(_), _) => channels::STDOUT,
        (None, Some(_)) => channels::STDERR,
        (None, None) => channels::ERROR,
    };
    let _ = out.send(Message::binary(vec![first])).await;
    let input = async move {
        let mut stdin = stdin;
        while let Some(Ok(message)) = source.next().await {
            let data = match message {
                Message::Binary(data) => data,
                Message::Close(_) => break,
                _ => continue,
            };
            match channels::inbound(&data, v5) {
                Inbound::Stdin(bytes) => {
                    if let Some(writer) = stdin.as_mut()
                        && writer
                            .write_all(bytes)
                            .await
                            .and(writer.flush().await)
                            .is_err()
                    {
                        stdin = None;
                    }
                }
                Inbound::Resize(payload) => {
                    if let Some(resize) = &resize {
                        for size in channels::terminal_sizes(payload) {
                            let _ = resize.send(size).await;
                        }
                    }
                }
                Inbound::Close(channels::STDIN) => {
                    if let Some(mut writer) = stdin.take() {
                        let _ = writer.shutdown().await;
                    }
                }
                Inbound::Close(_) | Inbound::Ignored => {}
            }
        }
    };
    let exit = {
        let output = async {
            let (_, _, exit) = tokio::join!(
                pump(stdout, channels::STDOUT, &out),
                pump(stderr, channels::STDERR, &out),
                exit
            );
            exit
        };
        tokio::select! {
            exit = output => Some(exit),
            // The client went before the process ended: the session (and the process with
            // it, as the runtime ends what it is dropped with) goes too.
            () = input => None,
        }
    };
    if let Some(exit) = exit {
        let status = exit_status::status(&command, &exit);
        let _ = out
            .send(Message::binary(channels::frame(
                channels::ERROR,
                status.as_bytes(),
            )))
            .await;
        let _ = out
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })))
            .await;
    }
    drop(out);
    let _ = writer.await;
}

/// Ends a stream that could not start: the internal error on the error channel, then a
/// normal close.
pub async fn refuse(mut socket: Socket, why: &str) {
    let status = exit_status::internal_error(why);
    let _ = socket
        .send(Message::binary(channels::frame(
            channels::ERROR,
            status.as_bytes(),
        )))
        .await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
    let _ = socket.close(None).await;
}

/// Copies `stream` to the client on `channel` until it ends.
async fn pump(
    stream: Option<std::pin::Pin<Box<dyn AsyncRead + Send>>>,
    channel: u8,
    out: &mpsc::Sender<Message>,
) {
    let Some(mut stream) = stream else { return };
    let mut buffer = vec![0u8; CHUNK];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if out
                    .send(Message::binary(channels::frame(channel, &buffer[..n])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}
