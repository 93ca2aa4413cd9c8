//! Byte encoding of the records the embedded backend keeps in its tables and journal:
//! fixed-width little-endian integers and length-prefixed byte strings.

use bytes::Bytes;

use crate::types::{Event, EventKind, KeyValue};

#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) buf: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        // Values are bounded far below 4 GiB by the store's limits.
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v);
        self
    }
}

/// Reads what `Encoder` wrote; every method fails instead of panicking on short input.
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
}

pub(crate) type DecodeResult<T> = Result<T, String>;

impl<'a> Decoder<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(format!(
                "record truncated: needed {n} bytes, {} left",
                self.buf.len()
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub(crate) fn u64(&mut self) -> DecodeResult<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub(crate) fn string(&mut self) -> DecodeResult<String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|e| format!("key is not UTF-8: {e}"))
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The latest-value table's record: revisions, version and value of one live key.
pub(crate) fn encode_kv(kv: &KeyValue) -> Vec<u8> {
    let mut e = Encoder {
        buf: Vec::with_capacity(24 + kv.value.len()),
    };
    e.u64(kv.create_revision)
        .u64(kv.mod_revision)
        .u64(kv.version);
    e.buf.extend_from_slice(&kv.value);
    e.buf
}

pub(crate) fn decode_kv(key: &str, raw: &[u8]) -> DecodeResult<KeyValue> {
    let mut d = Decoder::new(raw);
    let create_revision = d.u64()?;
    let mod_revision = d.u64()?;
    let version = d.u64()?;
    Ok(KeyValue {
        key: key.to_string(),
        value: Bytes::copy_from_slice(d.buf),
        create_revision,
        mod_revision,
        version,
    })
}

const PUT: u8 = 1;
const DELETE: u8 = 2;

fn encode_kv_fields(e: &mut Encoder, kv: &KeyValue) {
    e.u64(kv.create_revision)
        .u64(kv.mod_revision)
        .u64(kv.version)
        .bytes(&kv.value);
}

fn decode_kv_fields(d: &mut Decoder<'_>, key: &str) -> DecodeResult<KeyValue> {
    Ok(KeyValue {
        key: key.to_string(),
        create_revision: d.u64()?,
        mod_revision: d.u64()?,
        version: d.u64()?,
        value: Bytes::copy_from_slice(d.bytes()?),
    })
}

/// The revision log's record: one event with its previous value, so that a watch replays
/// history (and a historical read reconstructs old state) from the log alone.
pub(crate) fn encode_event(ev: &Event) -> Vec<u8> {
    let mut e = Encoder::default();
    e.bytes(ev.kv.key.as_bytes());
    match ev.kind {
        EventKind::Put => {
            e.u8(PUT);
            encode_kv_fields(&mut e, &ev.kv);
        }
        EventKind::Delete => {
            e.u8(DELETE).u64(ev.kv.mod_revision);
        }
    }
    match &ev.prev {
        Some(prev) => {
            e.u8(1);
            encode_kv_fields(&mut e, prev);
        }
        None => {
            e.u8(0);
        }
    }
    e.buf
}

/// The key of a log record, without decoding the rest (for prefix filtering).
pub(crate) fn event_key(raw: &[u8]) -> DecodeResult<&[u8]> {
    Decoder::new(raw).bytes()
}

pub(crate) fn decode_event(raw: &[u8]) -> DecodeResult<Event> {
    let mut d = Decoder::new(raw);
    let key = d.string()?;
    let (kind, kv) = match d.u8()? {
        PUT => (EventKind::Put, decode_kv_fields(&mut d, &key)?),
        DELETE => {
            let mod_revision = d.u64()?;
            let kv = KeyValue {
                key: key.clone(),
                value: Bytes::new(),
                create_revision: 0,
                mod_revision,
                version: 0,
            };
            (EventKind::Delete, kv)
        }
        other => return Err(format!("unknown event kind {other}")),
    };
    let prev = match d.u8()? {
        0 => None,
        _ => Some(decode_kv_fields(&mut d, &key)?),
    };
    Ok(Event { kind, kv, prev })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, rev: u64, value: &'static [u8]) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Bytes::from_static(value),
            create_revision: 2,
            mod_revision: rev,
            version: rev - 1,
        }
    }

    #[test]
    fn events_round_trip() {
        let put = Event {
            kind: EventKind::Put,
            kv: kv("/a", 5, b"new"),
            prev: Some(kv("/a", 4, b"old")),
        };
        assert_eq!(decode_event(&encode_event(&put)), Ok(put.clone()));
        let mut gone = kv("/a", 6, b"");
        gone.create_revision = 0;
        gone.version = 0;
        let del = Event {
            kind: EventKind::Delete,
            kv: gone,
            prev: Some(kv("/a", 5, b"new")),
        };
        assert_eq!(decode_event(&encode_event(&del)), Ok(del.clone()));
        assert_eq!(event_key(&encode_event(&del)), Ok(&b"/a"[..]));
        let stored = kv("/b", 9, b"v");
        assert_eq!(decode_kv("/b", &encode_kv(&stored)), Ok(stored));
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let raw = encode_event(&Event {
            kind: EventKind::Put,
            kv: kv("/a", 5, b"x"),
            prev: None,
        });
        for cut in 0..raw.len() {
            assert!(decode_event(&raw[..cut]).is_err(), "cut at {cut}");
        }
    }
}
