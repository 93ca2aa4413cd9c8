//! An allocation bitmap over the values `0..size` of a range, as upstream's RangeAllocation
//! keeps it. A free value is picked at random from the upper part of the range first, so
//! that the lower `offset` values stay free for users who choose their own.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Bitmap {
    /// Bit `i % 8` of byte `i / 8` is value `i`.
    bits: Vec<u8>,
    size: usize,
    offset: usize,
}

impl Bitmap {
    pub(super) fn new(size: usize, offset: usize) -> Bitmap {
        Bitmap {
            bits: vec![0; size.div_ceil(8)],
            size,
            offset: offset.min(size),
        }
    }

    pub(super) fn has(&self, i: usize) -> bool {
        i < self.size && self.bits[i / 8] & (1 << (i % 8)) != 0
    }

    /// Takes `i`; false if it was taken already (or lies outside the range).
    pub(super) fn allocate(&mut self, i: usize) -> bool {
        if i >= self.size || self.has(i) {
            return false;
        }
        self.bits[i / 8] |= 1 << (i % 8);
        true
    }

    /// Frees `i`; false if it was free.
    pub(super) fn release(&mut self, i: usize) -> bool {
        if !self.has(i) {
            return false;
        }
        self.bits[i / 8] &= !(1 << (i % 8));
        true
    }

    /// Takes a free value: from a random start in the upper part, scanning up and wrapping
    /// within it, then likewise in the lower part; `None` when the range is full.
    pub(super) fn allocate_next(&mut self) -> Option<usize> {
        let upper = self.size - self.offset;
        let upper_start = (upper > 0).then(|| rand::random_range(0..upper));
        let lower_start = (self.offset > 0).then(|| rand::random_range(0..self.offset));
        self.allocate_from(upper_start.unwrap_or(0), lower_start.unwrap_or(0))
    }

    /// `allocate_next` with the starts given, relative to each part.
    pub(super) fn allocate_from(
        &mut self,
        upper_start: usize,
        lower_start: usize,
    ) -> Option<usize> {
        let upper = self.size - self.offset;
        let found = (0..upper)
            .map(|i| self.offset + (upper_start + i) % upper)
            .chain((0..self.offset).map(|i| (lower_start + i) % self.offset))
            .find(|&i| !self.has(i))?;
        self.allocate(found);
        Some(found)
    }

    /// The values taken, in order.
    pub(super) fn taken(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.size).filter(|&i| self.has(i))
    }

    /// Upstream's encoding: the big-endian bytes, without leading zeros, of the number whose
    /// bit `i` is value `i`.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let used = self.bits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        self.bits[..used].iter().rev().copied().collect()
    }

    /// Reads `to_bytes`'s encoding; refuses values beyond the range.
    pub(super) fn from_bytes(size: usize, offset: usize, bytes: &[u8]) -> Result<Bitmap, String> {
        let mut bitmap = Bitmap::new(size, offset);
        for (i, &byte) in bytes.iter().rev().enumerate() {
            if byte == 0 {
                continue;
            }
            let Some(slot) = bitmap.bits.get_mut(i) else {
                return Err(format!("allocations beyond the range's {size} values"));
            };
            *slot = byte;
        }
        if bitmap
            .bits
            .last()
            .is_some_and(|&b| !size.is_multiple_of(8) && b >> (size % 8) != 0)
        {
            return Err(format!("allocations beyond the range's {size} values"));
        }
        Ok(bitmap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_upper_part_first_then_the_lower() {
        let mut bitmap = Bitmap::new(10, 4);
        // From upper start 3: 7, 8, 9, then wrapping to 4, 5, 6.
        let picks: Vec<usize> = (0..6)
            .map(|_| bitmap.allocate_from(3, 2).unwrap())
            .collect();
        assert_eq!(picks, [7, 8, 9, 4, 5, 6]);
        // The upper part is full: the lower part, from its start 2.
        assert_eq!(bitmap.allocate_from(0, 2), Some(2));
        assert_eq!(bitmap.allocate_from(0, 2), Some(3));
        assert_eq!(bitmap.allocate_from(0, 2), Some(0));
        assert_eq!(bitmap.allocate_from(0, 2), Some(1));
        assert_eq!(bitmap.allocate_next(), None);
        assert_eq!(bitmap.taken().count(), 10);
        assert!(bitmap.release(5));
        assert!(!bitmap.release(5));
        assert_eq!(bitmap.allocate_next(), Some(5));
    }

    #[test]
    fn random_picks_stay_in_the_upper_part_while_it_has_room() {
        let mut bitmap = Bitmap::new(65534, 256);
        for _ in 0..1000 {
            assert!(bitmap.allocate_next().unwrap() >= 256);
        }
        assert!(bitmap.taken().all(|i| i >= 256));
    }

    #[test]
    fn a_value_is_taken_once() {
        let mut bitmap = Bitmap::new(16, 0);
        assert!(bitmap.allocate(3));
        assert!(!bitmap.allocate(3));
        assert!(!bitmap.allocate(16));
        assert_eq!(bitmap.taken().collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn encodes_as_upstream_big_endian_bytes() {
        let mut bitmap = Bitmap::new(2768, 86);
        assert_eq!(bitmap.to_bytes(), Vec::<u8>::new());
        bitmap.allocate(0);
        bitmap.allocate(9);
        // 2^9 + 2^0 = 0x0201.
        assert_eq!(bitmap.to_bytes(), [0x02, 0x01]);
        let read = Bitmap::from_bytes(2768, 86, &bitmap.to_bytes()).unwrap();
        assert_eq!(read, bitmap);
        assert!(Bitmap::from_bytes(12, 0, &[0x10, 0x00]).is_err());
        assert!(Bitmap::from_bytes(12, 0, &[0x01, 0x00, 0x00]).is_err());
        assert!(Bitmap::from_bytes(12, 0, &[0x08, 0x00]).is_ok());
    }
}
