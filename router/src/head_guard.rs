//! The guard on an HTTP/1 client connection's request heads, between the socket and hyper. It
//! answers hostile heads as OpenShift's HAProxy does, where hyper would answer otherwise: a
//! head longer than the buffer allows gets 400 (hyper: 431), a head not complete within the
//! request timeout gets 408 (hyper: closed without a word), and an idle kept-alive connection
//! is closed silently after the client timeout.
//!
//! The guard counts only the bytes of a head: it finds a head's end itself (the empty line),
//! passes everything after it to hyper untouched, and starts on the next head once the
//! service says the exchange is over (a request taken, its response's body dropped by hyper).
//! An upgraded connection is passed through for good.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::{Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The most a request's head may take: OpenShift's HAProxy `tune.bufsize` (32 KiB) less the
/// `tune.maxrewrite` it keeps for rewriting headers.
pub const MAX_HEAD: usize = 32 * 1024 - 8 * 1024;
/// The most header fields a head may have (HAProxy's `tune.http.maxhdr`); hyper's parser is
/// given room for as many, so that the guard's 400 is the answer to more, not hyper's 431.
pub const MAX_HEADERS: usize = 101;

/// How long heads may take.
#[derive(Clone, Copy)]
pub struct Timeouts {
    /// For a whole head (`timeout http-request`): from the accept for the first request, from
    /// its first byte for the later ones of a kept-alive connection.
    pub request: Duration,
    /// For a kept-alive connection's next request to begin (`timeout client`, which ends the
    /// wait before the router's longer `timeout http-keep-alive` would).
    pub idle: Duration,
}

/// OpenShift's router's: `ROUTER_SLOWLORIS_TIMEOUT` and `ROUTER_DEFAULT_CLIENT_TIMEOUT`.
pub const ROUTER_TIMEOUTS: Timeouts = Timeouts {
    request: Duration::from_secs(10),
    idle: Duration::from_secs(30),
};
/// How long a refused client is given to take its answer and close.
const LINGER: Duration = Duration::from_secs(1);

const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 90\r\ncache-control: no-cache\r\nconnection: close\r\ncontent-type: text/html\r\n\r\n<html><body><h1>400 Bad Request</h1>\nThe request could not be understood.\n</body></html>\n";
const REQUEST_TIMED_OUT: &[u8] = b"HTTP/1.1 408 Request Time-out\r\ncontent-length: 98\r\ncache-control: no-cache\r\nconnection: close\r\ncontent-type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nThe request was not received in time.\n</body></html>\n";

/// What the service tells the guard of a connection's exchanges.
#[derive(Default)]
pub struct Exchanges {
    /// Requests handed to the service.
    started: AtomicU64,
    /// Responses whose body hyper is done with.
    finished: AtomicU64,
    upgraded: AtomicBool,
}

impl Exchanges {
    /// One exchange: `served`, the service's answer to a request whose head hyper just
    /// parsed. The guard hears that it started, whether it upgraded the connection, and (from
    /// the response's body) when it is over.
    pub fn exchange<B, E, F>(
        self: &Arc<Self>,
        served: F,
    ) -> impl Future<Output = Result<Response<Finishing<B>>, E>> + use<B, E, F>
    where
        F: Future<Output = Result<Response<B>, E>>,
    {
        self.started.fetch_add(1, Ordering::Relaxed);
        let exchanges = self.clone();
        async move {
            let response = served.await?;
            if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                exchanges.upgraded.store(true, Ordering::Relaxed);
            }
            Ok(response.map(|body| Finishing { body, exchanges }))
        }
    }
}

/// A response body; when dropped (sent, or abandoned), its exchange is over.
pub struct Finishing<B> {
    body: B,
    exchanges: Arc<Exchanges>,
}

impl<B> Drop for Finishing<B> {
    fn drop(&mut self) {
        self.exchanges.finished.fetch_add(1, Ordering::Relaxed);
    }
}

impl<B: http_body::Body<Data = Bytes> + Unpin> http_body::Body for Finishing<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

enum Phase {
    /// Reading a head.
    Head(Head),
    /// The head is complete: the bytes are hyper's until the exchange is over.
    Passing,
    /// Refusing the head: `answer[written..]` still to send, then the close.
    Refusing {
        answer: &'static [u8],
        written: usize,
        closing: bool,
    },
    Closed,
}

struct Head {
    /// Its bytes so far.
    received: usize,
    scan: EndScan,
    /// Whether a timeout is answered (408): once the client has started a head, or on a new
    /// connection; an idle kept-alive connection is closed without a word.
    answer: bool,
    /// When its timeout started (for an idle connection, found when first needed: a client
    /// that sends its next request at once costs no clock reading).
    since: Option<Instant>,
}

impl Head {
    fn due(&mut self, timeouts: &Timeouts, now: Instant) -> Instant {
        let since = *self.since.get_or_insert(now);
        since
            + match self.answer {
                true => timeouts.request,
                false => timeouts.idle,
            }
    }
}

pub struct HeadGuard<S> {
    io: S,
    exchanges: Arc<Exchanges>,
    /// The `finished` count the current phase started from.
    seen: u64,
    phase: Phase,
    /// Armed for the current head's timeout or earlier: it is moved only when it must fire
    /// sooner, and an early firing is re-armed, so an exchange of a busy kept-alive connection
    /// does not touch the timer.
    timer: Pin<Box<Sleep>>,
    timeouts: Timeouts,
}

impl<S> HeadGuard<S> {
    /// A guard on a connection just accepted (or past its TLS handshake): the first head is
    /// due within the request timeout.
    pub fn new(io: S, exchanges: Arc<Exchanges>, timeouts: Timeouts) -> HeadGuard<S> {
        let now = Instant::now();
        HeadGuard {
            io,
            exchanges,
            seen: 0,
            phase: Phase::Head(Head {
                received: 0,
                scan: EndScan::default(),
                answer: true,
                since: Some(now),
            }),
            timer: Box::pin(tokio::time::sleep_until(now + timeouts.request)),
            timeouts,
        }
    }

    fn refuse(&mut self, answer: &'static [u8]) {
        self.phase = Phase::Refusing {
            answer,
            written: 0,
            closing: false,
        };
        self.timer.as_mut().reset(Instant::now() + LINGER);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> HeadGuard<S> {
    /// Sends the refusal, closes the sending side, and takes what the client still sends
    /// until it closes too (or the linger ends): closing with unread bytes would reset the
    /// connection and could cost the client the answer. Ready when the connection is done.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.timer.as_mut().poll(cx).is_ready() {
            self.phase = Phase::Closed;
            return Poll::Ready(());
        }
        let Phase::Refusing {
            answer,
            written,
            closing,
        } = &mut self.phase
        else {
            return Poll::Ready(());
        };
        while *written < answer.len() {
            match ready!(Pin::new(&mut self.io).poll_write(cx, &answer[*written..])) {
                Ok(n) if n > 0 => *written += n,
                _ => {
                    self.phase = Phase::Closed;
                    return Poll::Ready(());
                }
            }
        }
        if !*closing {
            if ready!(Pin::new(&mut self.io).poll_shutdown(cx)).is_err() {
                self.phase = Phase::Closed;
                return Poll::Ready(());
            }
            *closing = true;
        }
        let mut sink = [0_u8; 4096];
        loop {
            let mut buf = ReadBuf::new(&mut sink);
            match ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {}
                _ => {
                    self.phase = Phase::Closed;
                    return Poll::Ready(());
                }
            }
        }
    }

    /// The head's time is up: a 408, or the silent close of an idle connection. Ready (the
    /// end of the input, for hyper) once the connection is done.
    fn poll_expire(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &self.phase {
            Phase::Head(head) if head.answer => self.refuse(REQUEST_TIMED_OUT),
            _ => self.phase = Phase::Closed,
        }
        ready!(self.poll_refuse(cx));
        Poll::Ready(Ok(()))
    }

    /// Whether an exchange is in flight, and whether the last one just ended: then the
    /// connection waits for its next head.
    fn follow_exchanges(&mut self) -> (bool, bool) {
        let finished = self.exchanges.finished.load(Ordering::Relaxed);
        let in_flight = self.exchanges.started.load(Ordering::Relaxed) > finished;
        if finished == self.seen || in_flight {
            return (in_flight, false);
        }
        self.seen = finished;
        self.phase = Phase::Head(Head {
            received: 0,
            scan: EndScan::default(),
            answer: false,
            since: None,
        });
        (false, true)
    }

    /// Arms the timer for the head being waited for (without acting on it: a timer already
    /// due wakes the connection, whose next read does).
    fn arm(&mut self, cx: &mut Context<'_>) {
        let Phase::Head(head) = &mut self.phase else {
            return;
        };
        let now = Instant::now();
        let due = head.due(&self.timeouts, now);
        if self.timer.deadline() > due {
            self.timer.as_mut().reset(due);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.timer.as_mut().reset(due);
            if self.timer.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
    }

    /// No input now: arms the timer for the head's timeout, or acts on it.
    fn poll_waiting(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Phase::Head(head) = &mut self.phase else {
            return Poll::Pending;
        };
        let now = Instant::now();
        let due = head.due(&self.timeouts, now);
        loop {
            if Instant::now() >= due {
                return self.poll_expire(cx);
            }
            if self.timer.deadline() > due {
                self.timer.as_mut().reset(due);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Armed for an earlier head's timeout: for this one's now.
            self.timer.as_mut().reset(due);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for HeadGuard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.exchanges.upgraded.load(Ordering::Relaxed) {
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        let (in_flight, _) = this.follow_exchanges();
        match &this.phase {
            Phase::Passing => return Pin::new(&mut this.io).poll_read(cx, buf),
            // A pipelined head hyper parsed from what it had read: not the guard's to time.
            Phase::Head(_) if in_flight => return Pin::new(&mut this.io).poll_read(cx, buf),
            Phase::Head(_) => {}
            Phase::Refusing { .. } => {
                ready!(this.poll_refuse(cx));
                return Poll::Ready(Ok(()));
            }
            Phase::Closed => return Poll::Ready(Ok(())),
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => return this.poll_waiting(cx),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        let Phase::Head(head) = &mut this.phase else {
            return Poll::Ready(Ok(()));
        };
        let new = &buf.filled()[before..];
        if new.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let (head_bytes, ended) = match head.scan.feed(new) {
            Some(end) => (end, true),
            None => (new.len(), false),
        };
        head.received += head_bytes;
        if head.received > MAX_HEAD || head.scan.fields > MAX_HEADERS {
            // None of it reaches hyper: the answer is the guard's.
            buf.set_filled(before);
            this.refuse(BAD_REQUEST);
            ready!(this.poll_refuse(cx));
            return Poll::Ready(Ok(()));
        }
        if ended {
            this.phase = Phase::Passing;
            return Poll::Ready(Ok(()));
        }
        // Part of a head: the request timeout runs from its first byte, and a client that
        // trickles bytes is held to it too.
        let now = Instant::now();
        if !head.answer {
            head.answer = true;
            head.since = Some(now);
        }
        if now >= head.due(&this.timeouts, now) {
            buf.set_filled(before);
            return this.poll_expire(cx);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for HeadGuard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.phase {
            Phase::Refusing { .. } | Phase::Closed => {
                Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()))
            }
            _ => Pin::new(&mut this.io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.phase {
            Phase::Refusing { .. } | Phase::Closed => {
                Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()))
            }
            _ => Pin::new(&mut this.io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper flushes after it drops a response's body, and may not read again until the
        // client sends: the next head's timer starts here.
        if !this.exchanges.upgraded.load(Ordering::Relaxed) && this.follow_exchanges().1 {
            this.arm(cx);
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.phase {
            Phase::Refusing { .. } | Phase::Closed => Poll::Ready(Ok(())),
            _ => Pin::new(&mut this.io).poll_shutdown(cx),
        }
    }
}

/// Finds the empty line that ends a head (CRLF CRLF, or bare LFs as hyper's parser accepts),
/// across reads, and counts the header fields before it. Empty lines before the request line
/// are not an end, as the parser skips them.
#[derive(Default)]
struct EndScan {
    /// Something other than line ends was seen: the request line has begun.
    started: bool,
    /// The last byte that was not CR was LF.
    after_lf: bool,
    /// Lines ended after the request line's: header fields.
    fields: usize,
    request_line_ended: bool,
}

impl EndScan {
    /// The length of `bytes` up to and including the head's end, if it is among them.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\r' => {}
                b'\n' if self.after_lf && self.started => return Some(i + 1),
                b'\n' => {
                    if self.started {
                        match self.request_line_ended {
                            true => self.fields += 1,
                            false => self.request_line_ended = true,
                        }
                    }
                    self.after_lf = true;
                }
                _ => {
                    self.started = true;
                    self.after_lf = false;
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    const QUICK: Timeouts = Timeouts {
        request: Duration::from_millis(300),
        idle: Duration::from_millis(600),
    };

    /// A client's end of a guarded connection to a server that answers with the length of
    /// the request's body.
    fn connect(timeouts: Timeouts) -> DuplexStream {
        let (client, server) = tokio::io::duplex(1 << 20);
        let exchanges = Arc::new(Exchanges::default());
        let io = TokioIo::new(HeadGuard::new(server, exchanges.clone(), timeouts));
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            exchanges.exchange(async move {
                let body = req.into_body().collect().await?.to_bytes();
                Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(
                    body.len().to_string(),
                ))))
            })
        });
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(None)
                .max_headers(MAX_HEADERS)
                .serve_connection(io, service)
                .await;
        });
        client
    }

    /// One response of a kept-alive connection: its status line and body.
    async fn response(client: &mut DuplexStream) -> (String, String) {
        let mut text = Vec::new();
        let mut byte = [0_u8; 1];
        while !text.ends_with(b"\r\n\r\n") {
            assert_eq!(client.read(&mut byte).await.unwrap(), 1, "{text:?}");
            text.push(byte[0]);
        }
        let head = String::from_utf8(text).unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        client.read_exact(&mut body).await.unwrap();
        let status = head.lines().next().unwrap_or_default().to_string();
        (status, String::from_utf8(body).unwrap())
    }

    /// All the connection still sends, to its end.
    async fn rest(client: &mut DuplexStream) -> String {
        let mut text = Vec::new();
        client.read_to_end(&mut text).await.unwrap();
        String::from_utf8_lossy(&text).into_owned()
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    #[tokio::test]
    async fn heads_over_the_limits_get_400_and_reach_no_one() {
        let mut long = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEAD));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        (0..=MAX_HEADERS).for_each(|i| many.extend(format!("X-{i}: v\r\n").as_bytes()));
        many.extend(b"\r\n");
        for head in [long, many] {
            let mut client = connect(ROUTER_TIMEOUTS);
            client.write_all(&head).await.unwrap();
            let answer = rest(&mut client).await;
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{answer}"
            );
            assert!(answer.ends_with("</html>\n"), "one answer only: {answer}");
        }
    }

    #[tokio::test]
    async fn as_many_fields_as_allowed_and_a_long_body_pass() {
        let mut head = b"POST / HTTP/1.1\r\nContent-Length: 100000\r\n".to_vec();
        (1..MAX_HEADERS).for_each(|i| head.extend(format!("X-{i}: v\r\n").as_bytes()));
        head.extend(b"\r\n");
        head.extend(std::iter::repeat_n(b'\n', 100_000));
        let mut client = connect(ROUTER_TIMEOUTS);
        client.write_all(&head).await.unwrap();
        assert_eq!(
            response(&mut client).await,
            ("HTTP/1.1 200 OK".into(), "100000".into())
        );
        // Pipelined heads, in one write.
        client.write_all(&[GET, GET].concat()).await.unwrap();
        for _ in 0..2 {
            assert_eq!(response(&mut client).await.1, "0");
        }
    }

    #[tokio::test]
    async fn a_head_not_complete_in_time_gets_408() {
        for sent in [&b""[..], b"GET / HTTP/1.1\r\nHo"] {
            let started = Instant::now();
            let mut client = connect(QUICK);
            client.write_all(sent).await.unwrap();
            let answer = rest(&mut client).await;
            assert!(
                answer.starts_with("HTTP/1.1 408 Request Time-out\r\n"),
                "{answer}"
            );
            assert!(started.elapsed() >= QUICK.request);
        }
    }

    #[tokio::test]
    async fn a_kept_alive_connection_is_closed_idle_and_timed_from_its_next_heads_first_byte() {
        let mut idle = connect(QUICK);
        idle.write_all(GET).await.unwrap();
        assert_eq!(response(&mut idle).await.0, "HTTP/1.1 200 OK");
        let waited = Instant::now();
        assert_eq!(rest(&mut idle).await, "");
        assert!(waited.elapsed() >= QUICK.idle);

        let mut slow = connect(QUICK);
        slow.write_all(GET).await.unwrap();
        assert_eq!(response(&mut slow).await.0, "HTTP/1.1 200 OK");
        // Past the first request's timeout, within the idle one: the next head starts now.
        tokio::time::sleep(QUICK.request + Duration::from_millis(100)).await;
        slow.write_all(b"GET / HT").await.unwrap();
        let started = Instant::now();
        assert!(rest(&mut slow).await.starts_with("HTTP/1.1 408 "));
        assert!(started.elapsed() >= QUICK.request);
    }
}
