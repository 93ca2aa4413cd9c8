//! The protobuf wire format, read-only: a stream of `(field number, value)` records.

use super::DecodeError;

/// One record's payload, by wire type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Payload<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the records of one message.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// The next `(field number, payload)`, `None` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, Payload<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| DecodeError::new("invalid field number"))?;
        let payload = match key & 7 {
            0 => Payload::Varint(self.varint()?),
            1 => Payload::Fixed64(self.fixed64()?),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| DecodeError::new("length out of range"))?;
                Payload::Bytes(self.take(len)?)
            }
            5 => Payload::Fixed32(self.fixed32()?),
            other => return Err(DecodeError::new(format!("unsupported wire type {other}"))),
        };
        Ok(Some((number, payload)))
    }

    /// A base-128 varint.
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for (i, byte) in self.buf.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err(DecodeError::new("truncated or overlong varint"))
    }

    pub fn fixed64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take_array()?))
    }

    pub fn fixed32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take_array()?))
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.buf.len() {
            return Err(DecodeError::new("truncated message"));
        }
        let (head, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(head)
    }

    fn take_array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_wire_type() {
        // field 1 varint 150; field 2 bytes "hi"; field 3 fixed32 1; field 4 fixed64 2
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let mut r = Reader::new(&buf);
        assert_eq!(r.next_field().unwrap(), Some((1, Payload::Varint(150))));
        assert_eq!(r.next_field().unwrap(), Some((2, Payload::Bytes(b"hi"))));
        assert_eq!(r.next_field().unwrap(), Some((3, Payload::Fixed32(1))));
        assert_eq!(r.next_field().unwrap(), Some((4, Payload::Fixed64(2))));
        assert_eq!(r.next_field().unwrap(), None);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for buf in [
            &[0x08][..],
            &[0x12, 0x05, b'a'],
            &[0x0b],
            &[0x00, 0x01],
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ] {
            let mut r = Reader::new(buf);
            assert!(r.next_field().is_err(), "{buf:?}");
        }
    }
}
