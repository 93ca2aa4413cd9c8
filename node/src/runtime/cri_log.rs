//! Container logs in the CRI format (`<RFC 3339 time> stdout|stderr F|P <text>`, one record a
//! line; `P` marks a partial line continued by the next record), served as the kubelet serves
//! them: the text only, optionally each line prefixed by its time, filtered by time, tailed,
//! limited in bytes, and followed while the container runs.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::container_io::LogOptions;

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub time: jiff::Timestamp,
    pub stream: &'a str,
    /// The line goes on in the next record.
    pub partial: bool,
    pub text: &'a str,
}

/// A record, or `None` for a line that is not one (skipped, as the kubelet skips them).
pub fn parse(line: &str) -> Option<Record<'_>> {
    let mut parts = line.splitn(4, ' ');
    let time = parts.next()?.parse().ok()?;
    let stream = parts.next()?;
    if stream != "stdout" && stream != "stderr" {
        return None;
    }
    let tag = parts.next()?;
    let text = parts.next().unwrap_or("");
    Some(Record {
        time,
        stream,
        partial: tag.split(':').any(|t| t == "P"),
        text,
    })
}

/// What the client gets for one record.
fn render(record: &Record<'_>, timestamps: bool, out: &mut Vec<u8>) {
    if timestamps {
        // jiff prints fractional seconds without trailing zeros, as Go's RFC3339Nano.
        out.extend_from_slice(record.time.to_string().as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(record.text.as_bytes());
    if !record.partial {
        out.push(b'\n');
    }
}

fn wanted(record: &Record<'_>, options: &LogOptions) -> bool {
    match options.since {
        Some(since) => jiff::Timestamp::try_from(since).is_ok_and(|s| record.time >= s),
        None => true,
    }
}

/// The records of `text` (whole lines only) the options select, rendered; `tailLines`
/// counts whole lines, as the kubelet does.
pub fn select(text: &str, options: &LogOptions) -> Vec<u8> {
    let records: Vec<Record<'_>> = text
        .lines()
        .filter_map(parse)
        .filter(|r| wanted(r, options))
        .collect();
    let start = match options.tail_lines {
        Some(n) => {
            let n = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
            // The index of the first record of the n-th full line from the end.
            let mut full = 0usize;
            let mut start = records.len();
            for (i, r) in records.iter().enumerate().rev() {
                if !r.partial {
                    if full == n {
                        break;
                    }
                    full += 1;
                }
                start = i;
            }
            if n == 0 { records.len() } else { start }
        }
        None => 0,
    };
    let mut out = Vec::new();
    for r in &records[start..] {
        render(r, options.timestamps, &mut out);
    }
    out
}

/// Whether the container still writes to the log (following ends once it does not).
pub type StillRunning = Box<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

const FOLLOW_POLL: Duration = Duration::from_millis(200);

struct Follow {
    path: PathBuf,
    offset: u64,
    /// An incomplete last line, kept until its newline arrives.
    pending: String,
    options: LogOptions,
    remaining: Option<u64>,
    running: StillRunning,
    done: bool,
}

/// The log at `path` as a stream: what is there now, then (when following) what is
/// appended until the container ends. `limitBytes` cuts the stream.
pub async fn stream(
    path: PathBuf,
    options: LogOptions,
    running: StillRunning,
) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
    let mut file = tokio::fs::File::open(&path).await?;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    // Only whole lines now; a line still being written is read when it ends.
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    let mut first = select(&text[..complete], &options);
    let mut remaining = options.limit_bytes.map(|n| n.max(0) as u64);
    cut(&mut first, &mut remaining);
    let initial = futures::stream::iter([Ok(Bytes::from(first))]);
    if !options.follow || remaining == Some(0) {
        return Ok(initial.boxed());
    }
    let follow = Follow {
        path,
        offset: complete as u64,
        pending: String::new(),
        options: LogOptions {
            tail_lines: None,
            ..options
        },
        remaining,
        running,
        done: false,
    };
    let rest = futures::stream::unfold(follow, |mut f| async move {
        if f.done {
            return None;
        }
        loop {
            let alive = (f.running)().await;
            match read_more(&mut f).await {
                Err(e) => {
                    f.done = true;
                    return Some((Err(e), f));
                }
                Ok(chunk) if !chunk.is_empty() => {
                    if f.remaining == Some(0) {
                        f.done = true;
                    }
                    return Some((Ok(Bytes::from(chunk)), f));
                }
                Ok(_) if !alive => return None,
                Ok(_) => tokio::time::sleep(FOLLOW_POLL).await,
            }
        }
    });
    Ok(initial.chain(rest).boxed())
}

/// The whole lines appended since the last read, rendered.
async fn read_more(f: &mut Follow) -> std::io::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(&f.path).await?;
    file.seek(std::io::SeekFrom::Start(f.offset)).await?;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).await?;
    f.offset += raw.len() as u64;
    f.pending.push_str(&String::from_utf8_lossy(&raw));
    let Some(end) = f.pending.rfind('\n') else {
        return Ok(Vec::new());
    };
    let lines: String = f.pending.drain(..=end).collect();
    let mut out = select(&lines, &f.options);
    cut(&mut out, &mut f.remaining);
    Ok(out)
}

fn cut(out: &mut Vec<u8>, remaining: &mut Option<u64>) {
    if let Some(left) = remaining {
        let keep = (*left).min(out.len() as u64);
        out.truncate(keep as usize);
        *left -= keep;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LOG: &str = "2026-01-02T03:04:05.100000000+00:00 stdout F one\n\
                       2026-01-02T03:04:06.000000000+00:00 stderr F two\n\
                       2026-01-02T03:04:07.5Z stdout P thr\n\
                       2026-01-02T03:04:07.6Z stdout F ee\n\
                       not a record\n\
                       2026-01-02T03:04:08Z stdout F four\n";

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn records_parse_with_podman_offsets_and_utc() {
        let r = parse("2026-01-02T03:04:05.100000000+00:00 stdout F hello world").unwrap();
        assert_eq!(r.stream, "stdout");
        assert!(!r.partial);
        assert_eq!(r.text, "hello world");
        assert_eq!(r.time.to_string(), "2026-01-02T03:04:05.1Z");
        assert!(parse("2026-01-02T03:04:05Z stdin F x").is_none());
        assert_eq!(parse("2026-01-02T03:04:05Z stdout F").unwrap().text, "");
    }

    #[test]
    fn the_text_joins_partial_records_and_skips_garbage() {
        let all = select(LOG, &LogOptions::default());
        assert_eq!(text(all), "one\ntwo\nthree\nfour\n");
    }

    #[test]
    fn timestamps_are_rfc3339_nano_without_trailing_zeros() {
        let options = LogOptions {
            timestamps: true,
            tail_lines: Some(1),
            ..Default::default()
        };
        assert_eq!(text(select(LOG, &options)), "2026-01-02T03:04:08Z four\n");
        let first = LogOptions {
            timestamps: true,
            ..Default::default()
        };
        assert!(text(select(LOG, &first)).starts_with("2026-01-02T03:04:05.1Z one\n"));
    }

    #[test]
    fn tail_counts_whole_lines() {
        let tail = |n| {
            text(select(
                LOG,
                &LogOptions {
                    tail_lines: Some(n),
                    ..Default::default()
                },
            ))
        };
        assert_eq!(tail(0), "");
        assert_eq!(tail(2), "three\nfour\n");
        assert_eq!(tail(100), "one\ntwo\nthree\nfour\n");
    }

    #[test]
    fn since_drops_older_records() {
        let since: jiff::Timestamp = "2026-01-02T03:04:06Z".parse().unwrap();
        let options = LogOptions {
            since: Some(since.into()),
            ..Default::default()
        };
        assert_eq!(text(select(LOG, &options)), "two\nthree\nfour\n");
    }

    #[tokio::test]
    async fn a_followed_log_yields_appended_lines_and_ends_with_the_container() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(
            &path,
            "2026-01-02T03:04:05Z stdout F one\n2026-01-02T03:04:06Z stdout F tw",
        )
        .unwrap();
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        let running: StillRunning = Box::new(move || {
            let flag = flag.clone();
            Box::pin(async move { flag.load(Ordering::SeqCst) })
        });
        let options = LogOptions {
            follow: true,
            limit_bytes: Some(100),
            ..Default::default()
        };
        let mut s = stream(path.clone(), options, running).await.unwrap();
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from("one\n"));
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(b"o\n2026-01-02T03:04:07Z stdout F three\n")
                .unwrap();
        }
        // The line still being written at first is read once it ends.
        let next = s.next().await.unwrap().unwrap();
        assert_eq!(next, Bytes::from("two\nthree\n"));
        alive.store(false, Ordering::SeqCst);
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn limit_bytes_cuts_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, LOG).unwrap();
        let options = LogOptions {
            follow: true,
            limit_bytes: Some(6),
            ..Default::default()
        };
        let running: StillRunning = Box::new(|| Box::pin(async { true }));
        let chunks: Vec<_> = stream(path, options, running)
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].as_ref().unwrap(), &Bytes::from("one\ntw"));
    }
}
