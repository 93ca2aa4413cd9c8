//! What audit keeps of a body as it passes: its chunks, by reference, up to a bound.

use bytes::{Bytes, BytesMut};

/// Chunks seen so far, up to `limit` bytes; past it nothing is kept.
#[derive(Default)]
pub(super) struct Captured {
    chunks: Vec<Bytes>,
    len: usize,
    limit: usize,
    over: bool,
}

impl Captured {
    pub fn new(limit: usize) -> Self {
        Captured {
            limit,
            ..Default::default()
        }
    }

    pub fn keep(&mut self, data: &Bytes) {
        if self.over || data.is_empty() {
            return;
        }
        if self.len + data.len() > self.limit {
            self.over = true;
            self.chunks.clear();
            return;
        }
        self.len += data.len();
        self.chunks.push(data.clone());
    }

    /// Whether the body went past the bound (and so was not kept).
    pub fn over(&self) -> bool {
        self.over
    }

    /// The whole body, if it was kept.
    pub fn bytes(mut self) -> Option<Bytes> {
        match self.chunks.len() {
            _ if self.over || self.limit == 0 => None,
            0 => Some(Bytes::new()),
            1 => self.chunks.pop(),
            _ => {
                let mut all = BytesMut::with_capacity(self.len);
                self.chunks.iter().for_each(|c| all.extend_from_slice(c));
                Some(all.freeze())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_are_bounded() {
        let mut c = Captured::new(8);
        c.keep(&Bytes::from_static(b"abcd"));
        c.keep(&Bytes::from_static(b"efgh"));
        assert_eq!(c.bytes().unwrap(), "abcdefgh");
        let mut c = Captured::new(8);
        c.keep(&Bytes::from_static(b"abcd"));
        c.keep(&Bytes::from_static(b"efghi"));
        c.keep(&Bytes::from_static(b"j"));
        assert!(c.over());
        assert_eq!(c.bytes(), None);
        assert_eq!(
            Captured::new(0).bytes(),
            None,
            "nothing asked, nothing kept"
        );
        assert_eq!(Captured::new(8).bytes().unwrap(), "");
    }
}
