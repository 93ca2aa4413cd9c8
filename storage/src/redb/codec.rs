//! Byte encoding of the records the embedded backend keeps in its tables and journal:
//! fixed-width little-endian integers and length-prefixed byte strings.
//!
//! Values in the tables are lz4-compressed when that saves space (a flag in the record's
//! create revision says so: revisions stay far below 2^63), so records of the first format,
//! never compressed, read as they are. The journal keeps values as they are.

use std::collections::HashMap;

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

/// Set in a stored create revision when the value after it is compressed.
const COMPRESSED: u64 = 1 << 63;
/// Values shorter than this are stored as they are: too small to gain.
const COMPRESS_FROM: usize = 128;
/// A compressed value claiming more than this is damaged (the store accepts far less).
const LARGEST_VALUE: usize = 64 << 20;

/// Whether values are compressed; the first format never did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Packing {
    Compress,
    #[cfg(test)]
    AsIs,
}

/// `value` as stored: its length and its lz4 block, when that saves an eighth of it or more.
fn compressed(value: &[u8], packing: Packing) -> Option<Vec<u8>> {
    if packing != Packing::Compress || value.len() < COMPRESS_FROM {
        return None;
    }
    let mut e = Encoder {
        buf: Vec::with_capacity(4 + value.len() / 2),
    };
    e.u32(value.len() as u32);
    e.buf.extend_from_slice(&lz4_flex::block::compress(value));
    (e.buf.len() <= value.len() - value.len() / 8).then_some(e.buf)
}

/// Values as stored, each buffer compressed once per batch of records: a write's
/// latest-value record and its log event hold the same buffer, and an update's previous
/// value is often the batch's own earlier write. Buffers are told apart by address and
/// length, so the values must outlive the packer (the batch holds them while it is written).
pub(crate) struct Packer {
    packing: Packing,
    done: HashMap<(usize, usize), Option<Vec<u8>>>,
}

impl Packer {
    pub(crate) fn new(packing: Packing) -> Packer {
        Packer {
            packing,
            done: HashMap::new(),
        }
    }

    /// `value` as stored (compressed, or as it is) and whether it is compressed.
    fn pack<'a>(&'a mut self, value: &'a Bytes) -> (&'a [u8], bool) {
        if self.packing != Packing::Compress || value.len() < COMPRESS_FROM {
            return (value, false);
        }
        let packing = self.packing;
        let packed = self
            .done
            .entry((value.as_ptr() as usize, value.len()))
            .or_insert_with(|| compressed(value, packing));
        match packed {
            Some(p) => (p, true),
            None => (value, false),
        }
    }
}

fn decompressed(raw: &[u8]) -> DecodeResult<Bytes> {
    let mut d = Decoder::new(raw);
    let len = d.u32()? as usize;
    if len > LARGEST_VALUE {
        return Err(format!("compressed value claims {len} bytes"));
    }
    let mut out = vec![0; len];
    let written = lz4_flex::block::decompress_into(d.buf, &mut out)
        .map_err(|e| format!("compressed value: {e}"))?;
    if written != len {
        return Err(format!("compressed value: {written} bytes of {len}"));
    }
    Ok(Bytes::from(out))
}

/// A stored create revision and value, decoded.
fn unpack(create_revision: u64, value: &[u8]) -> DecodeResult<(u64, Bytes)> {
    match create_revision & COMPRESSED {
        0 => Ok((create_revision, Bytes::copy_from_slice(value))),
        _ => Ok((create_revision & !COMPRESSED, decompressed(value)?)),
    }
}

#[cfg(test)]
pub(crate) fn encode_kv_as(kv: &KeyValue, packing: Packing) -> Vec<u8> {
    encode_kv(kv, &mut Packer::new(packing))
}

/// The latest-value table's record: revisions, version and value of one live key.
pub(crate) fn encode_kv(kv: &KeyValue, packer: &mut Packer) -> Vec<u8> {
    let (value, packed) = packer.pack(&kv.value);
    let flag = if packed { COMPRESSED } else { 0 };
    let mut e = Encoder {
        buf: Vec::with_capacity(24 + value.len()),
    };
    e.u64(kv.create_revision | flag)
        .u64(kv.mod_revision)
        .u64(kv.version);
    e.buf.extend_from_slice(value);
    e.buf
}

pub(crate) fn decode_kv(key: &str, raw: &[u8]) -> DecodeResult<KeyValue> {
    let mut d = Decoder::new(raw);
    let create_revision = d.u64()?;
    let mod_revision = d.u64()?;
    let version = d.u64()?;
    let (create_revision, value) = unpack(create_revision, d.buf)?;
    Ok(KeyValue {
        key: key.to_string(),
        value,
        create_revision,
        mod_revision,
        version,
    })
}

const PUT: u8 = 1;
const DELETE: u8 = 2;

fn encode_kv_fields(e: &mut Encoder, kv: &KeyValue, packer: &mut Packer) {
    let (value, packed) = packer.pack(&kv.value);
    let flag = if packed { COMPRESSED } else { 0 };
    e.u64(kv.create_revision | flag)
        .u64(kv.mod_revision)
        .u64(kv.version)
        .bytes(value);
}

fn decode_kv_fields(d: &mut Decoder<'_>, key: &str) -> DecodeResult<KeyValue> {
    let create_revision = d.u64()?;
    let mod_revision = d.u64()?;
    let version = d.u64()?;
    let (create_revision, value) = unpack(create_revision, d.bytes()?)?;
    Ok(KeyValue {
        key: key.to_string(),
        create_revision,
        mod_revision,
        version,
        value,
    })
}

#[cfg(test)]
pub(crate) fn encode_event_as(ev: &Event, packing: Packing) -> Vec<u8> {
    encode_event(ev, &mut Packer::new(packing))
}

/// The revision log's record: one event with its previous value, so that a watch replays
/// history (and a historical read reconstructs old state) from the log alone.
pub(crate) fn encode_event(ev: &Event, packer: &mut Packer) -> Vec<u8> {
    let mut e = Encoder::default();
    e.bytes(ev.kv.key.as_bytes());
    match ev.kind {
        EventKind::Put => {
            e.u8(PUT);
            encode_kv_fields(&mut e, &ev.kv, packer);
        }
        EventKind::Delete => {
            e.u8(DELETE).u64(ev.kv.mod_revision);
        }
    }
    match &ev.prev {
        Some(prev) => {
            e.u8(1);
            encode_kv_fields(&mut e, prev, packer);
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
        assert_eq!(
            decode_event(&encode_event_as(&put, Packing::Compress)),
            Ok(put.clone())
        );
        let mut gone = kv("/a", 6, b"");
        gone.create_revision = 0;
        gone.version = 0;
        let del = Event {
            kind: EventKind::Delete,
            kv: gone,
            prev: Some(kv("/a", 5, b"new")),
        };
        assert_eq!(
            decode_event(&encode_event_as(&del, Packing::Compress)),
            Ok(del.clone())
        );
        assert_eq!(
            event_key(&encode_event_as(&del, Packing::Compress)),
            Ok(&b"/a"[..])
        );
        let stored = kv("/b", 9, b"v");
        assert_eq!(
            decode_kv("/b", &encode_kv_as(&stored, Packing::Compress)),
            Ok(stored)
        );
    }

    /// Values worth it are compressed in both tables; records of the first format (never
    /// compressed) and small or incompressible values read as they are.
    #[test]
    fn values_are_compressed_when_it_pays_and_uncompressed_records_still_read() {
        let big = KeyValue {
            value: Bytes::from(format!("{{\"data\":\"{}\"}}", "x".repeat(1024))),
            ..kv("/big", 7, b"")
        };
        let packed = encode_kv_as(&big, Packing::Compress);
        assert!(packed.len() < 200, "{} bytes", packed.len());
        assert_eq!(decode_kv("/big", &packed), Ok(big.clone()));
        let plain = encode_kv_as(&big, Packing::AsIs);
        assert_eq!(plain.len(), 24 + big.value.len());
        assert_eq!(decode_kv("/big", &plain), Ok(big.clone()));
        let small = kv("/s", 3, b"short");
        assert_eq!(
            encode_kv_as(&small, Packing::Compress),
            encode_kv_as(&small, Packing::AsIs)
        );
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..512)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let noisy = KeyValue {
            value: Bytes::from(noise),
            ..kv("/n", 4, b"")
        };
        assert_eq!(
            encode_kv_as(&noisy, Packing::Compress),
            encode_kv_as(&noisy, Packing::AsIs)
        );
        let update = Event {
            kind: EventKind::Put,
            kv: big.clone(),
            prev: Some(big.clone()),
        };
        let packed = encode_event_as(&update, Packing::Compress);
        let plain = encode_event_as(&update, Packing::AsIs);
        assert!(packed.len() * 4 < plain.len());
        assert_eq!(decode_event(&packed), Ok(update.clone()));
        assert_eq!(decode_event(&plain), Ok(update));
    }

    #[test]
    fn damaged_compressed_values_are_errors_not_panics() {
        let big = KeyValue {
            value: Bytes::from("x".repeat(4096)),
            ..kv("/big", 7, b"")
        };
        let packed = encode_kv_as(&big, Packing::Compress);
        for cut in 24..packed.len() {
            assert!(decode_kv("/big", &packed[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = packed.clone();
        huge[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_kv("/big", &huge).is_err());
        let mut garbled = packed;
        for byte in &mut garbled[28..] {
            *byte ^= 0x5a;
        }
        assert!(decode_kv("/big", &garbled).is_err());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let raw = encode_event_as(
            &Event {
                kind: EventKind::Put,
                kv: kv("/a", 5, b"x"),
                prev: None,
            },
            Packing::Compress,
        );
        for cut in 0..raw.len() {
            assert!(decode_event(&raw[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_value_shared_by_records_of_one_batch_is_compressed_once() {
        let value = Bytes::from("{\"kind\":\"Pod\"}".repeat(40));
        let written = KeyValue {
            key: "/a".into(),
            value: value.clone(),
            create_revision: 4,
            mod_revision: 5,
            version: 2,
        };
        let before = KeyValue {
            value: Bytes::from("{\"kind\":\"Pod\",\"v\":1}".repeat(40)),
            mod_revision: 4,
            version: 1,
            ..written.clone()
        };
        let update = Event {
            kind: EventKind::Put,
            kv: written.clone(),
            prev: Some(before.clone()),
        };
        let mut packer = Packer::new(Packing::Compress);
        let latest = encode_kv(&written, &mut packer);
        let logged = encode_event(&update, &mut packer);
        // One compression for the new value (shared), one for the previous one.
        assert_eq!(packer.done.len(), 2);
        assert_eq!(latest, encode_kv_as(&written, Packing::Compress));
        assert_eq!(logged, encode_event_as(&update, Packing::Compress));
        assert_eq!(decode_event(&logged), Ok(update));
    }
}
