//! SPDY/3.1 frames, as much of them as Kubernetes port forwarding uses (kubectl 1.32 speaks
//! SPDY/3.1 to forward ports, tunnelled in a WebSocket): SYN_STREAM and SYN_REPLY with
//! zlib-compressed name/value blocks (one compression context per direction, primed with the
//! protocol's dictionary), DATA with FIN, RST_STREAM, PING, and the frames a session only
//! notes (SETTINGS, WINDOW_UPDATE, GOAWAY, HEADERS).

use std::sync::OnceLock;

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
pub const FLAG_FIN: u8 = 0x01;
/// RST_STREAM status: the stream is refused.
pub const REFUSED_STREAM: u32 = 3;
/// A frame larger than this is a protocol error (SPDY's length field allows 16 MiB).
const MAX_FRAME: usize = 1 << 24;

/// The name/value dictionary of SPDY/3 (section 2.6.10.1 of the draft): header names as
/// length-prefixed words, then common values.
pub fn dictionary() -> &'static [u8] {
    static DICTIONARY: OnceLock<Vec<u8>> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        const WORDS: &[&str] = &[
            "options",
            "head",
            "post",
            "put",
            "delete",
            "trace",
            "accept",
            "accept-charset",
            "accept-encoding",
            "accept-language",
            "accept-ranges",
            "age",
            "allow",
            "authorization",
            "cache-control",
            "connection",
            "content-base",
            "content-encoding",
            "content-language",
            "content-length",
            "content-location",
            "content-md5",
            "content-range",
            "content-type",
            "date",
            "etag",
            "expect",
            "expires",
            "from",
            "host",
            "if-match",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "last-modified",
            "location",
            "max-forwards",
            "pragma",
            "proxy-authenticate",
            "proxy-authorization",
            "range",
            "referer",
            "retry-after",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "user-agent",
            "vary",
            "via",
            "warning",
            "www-authenticate",
            "method",
            "get",
            "status",
            "200 OK",
            "version",
            "HTTP/1.1",
            "url",
            "public",
            "set-cookie",
            "keep-alive",
            "origin",
        ];
        const TAIL: &str = concat!(
            "100101201202205206300302303304305306307402405406407408409410411412413414415416417",
            "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently",
            "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error",
            "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct ",
            "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,",
            "image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,",
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=",
            "iso-8859-1,utf-,*,enq=0.",
        );
        let mut out = Vec::with_capacity(1423);
        for word in WORDS {
            out.extend_from_slice(&(word.len() as u32).to_be_bytes());
            out.extend_from_slice(word.as_bytes());
        }
        out.extend_from_slice(TAIL.as_bytes());
        out
    })
}

/// A frame read from the peer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    SynStream {
        id: u32,
        fin: bool,
        headers: Vec<(String, String)>,
    },
    SynReply {
        id: u32,
    },
    Data {
        id: u32,
        fin: bool,
        data: Bytes,
    },
    RstStream {
        id: u32,
    },
    Ping {
        id: u32,
    },
    GoAway,
    /// SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY, NOOP...: nothing port forwarding needs.
    Other,
}

/// Frames read from a byte stream that arrives in pieces.
pub struct Reader {
    buffer: BytesMut,
    inflate: Decompress,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            buffer: BytesMut::new(),
            inflate: Decompress::new(true),
        }
    }
}

impl Reader {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        if self.buffer.len() < 8 {
            return Ok(None);
        }
        let length =
            u32::from_be_bytes([0, self.buffer[5], self.buffer[6], self.buffer[7]]) as usize;
        if length > MAX_FRAME {
            return Err("frame too large".into());
        }
        if self.buffer.len() < 8 + length {
            return Ok(None);
        }
        let head = self.buffer.split_to(8);
        let body = self.buffer.split_to(length).freeze();
        let flags = head[4];
        let fin = flags & FLAG_FIN != 0;
        if head[0] & 0x80 == 0 {
            let id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) & 0x7fff_ffff;
            return Ok(Some(Frame::Data {
                id,
                fin,
                data: body,
            }));
        }
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        if version != VERSION {
            return Err(format!("unsupported SPDY version {version}"));
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        let word = |b: &Bytes, at: usize| -> Result<u32, String> {
            b.get(at..at + 4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                .ok_or_else(|| "short frame".to_string())
        };
        Ok(Some(match kind {
            SYN_STREAM => {
                let id = word(&body, 0)? & 0x7fff_ffff;
                let block = body.get(10..).ok_or("short frame")?;
                let headers = self.headers(block)?;
                Frame::SynStream { id, fin, headers }
            }
            SYN_REPLY => {
                let id = word(&body, 0)? & 0x7fff_ffff;
                // Read even though unused: the block is part of the one compression context.
                self.headers(body.get(4..).ok_or("short frame")?)?;
                Frame::SynReply { id }
            }
            RST_STREAM => Frame::RstStream {
                id: word(&body, 0)? & 0x7fff_ffff,
            },
            PING => Frame::Ping {
                id: word(&body, 0)?,
            },
            GOAWAY => Frame::GoAway,
            _ => Frame::Other,
        }))
    }

    /// A compressed name/value block: a count, then length-prefixed names and values.
    fn headers(&mut self, block: &[u8]) -> Result<Vec<(String, String)>, String> {
        let mut plain = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            let before = self.inflate.total_in();
            if plain.capacity() - plain.len() < 256 {
                plain.reserve(4096);
            }
            let result = self
                .inflate
                .decompress_vec(input, &mut plain, FlushDecompress::Sync);
            let used = (self.inflate.total_in() - before) as usize;
            input = &input[used..];
            match result {
                // Done once the input is used up and the output did not fill its room.
                Ok(_) if input.is_empty() && plain.len() < plain.capacity() => break,
                Ok(_) => continue,
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(dictionary())
                        .map_err(|e| e.to_string())?;
                }
                Err(e) => return Err(format!("header block: {e}")),
            }
        }
        let mut plain = Bytes::from(plain);
        let take = |plain: &mut Bytes| -> Result<Bytes, String> {
            if plain.len() < 4 {
                return Err("short header block".into());
            }
            let n = plain.get_u32() as usize;
            if plain.len() < n {
                return Err("short header block".into());
            }
            Ok(plain.split_to(n))
        };
        if plain.len() < 4 {
            return Err("short header block".into());
        }
        let count = plain.get_u32();
        let mut headers = Vec::new();
        for _ in 0..count {
            let name = take(&mut plain)?;
            let value = take(&mut plain)?;
            headers.push((
                String::from_utf8_lossy(&name).to_ascii_lowercase(),
                String::from_utf8_lossy(&value).into_owned(),
            ));
        }
        Ok(headers)
    }
}

/// Frames written by the server.
pub struct Writer {
    deflate: Compress,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            deflate: Compress::new(Compression::default(), true),
        }
    }
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + body.len());
    frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(body);
    frame
}

impl Writer {
    /// A client's writer: its header blocks are compressed with the dictionary.
    pub fn client() -> Writer {
        let mut deflate = Compress::new(Compression::default(), true);
        // Only fails once compression has begun.
        let _ = deflate.set_dictionary(dictionary());
        Writer { deflate }
    }

    /// A name/value block, compressed in this writer's context.
    fn block(&mut self, headers: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut plain = (headers.len() as u32).to_be_bytes().to_vec();
        for (name, value) in headers {
            plain.extend_from_slice(&(name.len() as u32).to_be_bytes());
            plain.extend_from_slice(name.as_bytes());
            plain.extend_from_slice(&(value.len() as u32).to_be_bytes());
            plain.extend_from_slice(value.as_bytes());
        }
        let mut compressed = Vec::with_capacity(plain.len() + 64);
        let mut input: &[u8] = &plain;
        loop {
            let before = self.deflate.total_in();
            compressed.reserve(64);
            self.deflate
                .compress_vec(input, &mut compressed, FlushCompress::Sync)
                .map_err(|e| e.to_string())?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            // A sync flush is complete once there is room left over.
            if input.is_empty() && compressed.len() < compressed.capacity() {
                return Ok(compressed);
            }
        }
    }

    /// The reply accepting stream `id` (no headers).
    pub fn syn_reply(&mut self, id: u32) -> Result<Vec<u8>, String> {
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&self.block(&[])?);
        Ok(control(SYN_REPLY, 0, &body))
    }

    /// A client's new stream `id` with `headers`.
    pub fn syn_stream(&mut self, id: u32, headers: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let mut body = id.to_be_bytes().to_vec();
        // No associated stream, priority 0, slot 0.
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&self.block(headers)?);
        Ok(control(SYN_STREAM, 0, &body))
    }

    pub fn data(id: u32, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut frame = Vec::with_capacity(8 + payload.len());
        frame.extend_from_slice(&(id & 0x7fff_ffff).to_be_bytes());
        frame.push(if fin { FLAG_FIN } else { 0 });
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
        frame.extend_from_slice(payload);
        frame
    }

    pub fn ping(id: u32) -> Vec<u8> {
        control(PING, 0, &id.to_be_bytes())
    }

    pub fn rst_stream(id: u32, status: u32) -> Vec<u8> {
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&status.to_be_bytes());
        control(RST_STREAM, 0, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_spdy3s() {
        assert_eq!(dictionary().len(), 1423);
        assert!(dictionary().ends_with(b",enq=0."));
    }

    #[test]
    fn streams_headers_and_data_are_read_across_pieces() {
        let mut client = Writer::client();
        let mut bytes = client
            .syn_stream(
                1,
                &[("streamtype", "error"), ("port", "80"), ("requestid", "0")],
            )
            .unwrap();
        bytes.extend(
            client
                .syn_stream(
                    3,
                    &[("streamType", "data"), ("port", "80"), ("requestID", "0")],
                )
                .unwrap(),
        );
        bytes.extend(Writer::data(3, true, b"hello"));
        bytes.extend(Writer::ping(7));
        let mut reader = Reader::default();
        let mut frames = Vec::new();
        for piece in bytes.chunks(5) {
            reader.push(piece);
            while let Some(frame) = reader.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        let owned = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            frames,
            vec![
                Frame::SynStream {
                    id: 1,
                    fin: false,
                    headers: owned(&[("streamtype", "error"), ("port", "80"), ("requestid", "0")])
                },
                Frame::SynStream {
                    id: 3,
                    fin: false,
                    headers: owned(&[("streamtype", "data"), ("port", "80"), ("requestid", "0")])
                },
                Frame::Data {
                    id: 3,
                    fin: true,
                    data: Bytes::from("hello")
                },
                Frame::Ping { id: 7 },
            ]
        );
    }

    #[test]
    fn replies_decompress_in_one_context() {
        let mut writer = Writer::default();
        let mut inflate = Decompress::new(true);
        for id in [1u32, 3] {
            let reply = writer.syn_reply(id).unwrap();
            assert_eq!(&reply[..4], &[0x80, 3, 0, 2]);
            assert_eq!(&reply[8..12], &id.to_be_bytes());
            let mut plain = Vec::with_capacity(64);
            inflate
                .decompress_vec(&reply[12..], &mut plain, FlushDecompress::Sync)
                .unwrap();
            assert_eq!(plain, vec![0, 0, 0, 0]);
        }
    }

    #[test]
    fn replies_are_read_in_one_context() {
        let mut writer = Writer::default();
        let mut reader = Reader::default();
        for id in [1u32, 3] {
            reader.push(&writer.syn_reply(id).unwrap());
            assert_eq!(reader.next_frame().unwrap(), Some(Frame::SynReply { id }));
        }
    }
}
