//! LEB128 varints and zigzag, the building blocks of every stored value.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a signed value, zigzag-encoded so small magnitudes stay short.
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// A cursor over encoded bytes; every read reports truncation instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// The bytes ended or a varint ran past 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated;

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    #[inline]
    pub fn u64(&mut self) -> Result<u64, Truncated> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos).ok_or(Truncated)?;
            self.pos += 1;
            if shift >= 64 {
                return Err(Truncated);
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        u32::try_from(self.u64()?).map_err(|_| Truncated)
    }

    #[inline]
    pub fn i64(&mut self) -> Result<i64, Truncated> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        let b = *self.buf.get(self.pos).ok_or(Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Truncated)?;
        self.pos = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_edges() {
        let vals = [0u64, 1, 127, 128, 16383, 16384, u32::MAX as u64, u64::MAX];
        let ints = [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX];
        let mut buf = Vec::new();
        for v in vals {
            put_u64(&mut buf, v);
        }
        for v in ints {
            put_i64(&mut buf, v);
        }
        let mut r = Reader::new(&buf);
        for v in vals {
            assert_eq!(r.u64().unwrap(), v);
        }
        for v in ints {
            assert_eq!(r.i64().unwrap(), v);
        }
        assert!(r.is_empty());
        assert_eq!(r.u64(), Err(Truncated));
    }

    #[test]
    fn truncated_and_overlong_inputs_error() {
        assert_eq!(Reader::new(&[0x80]).u64(), Err(Truncated));
        assert_eq!(Reader::new(&[0xff; 11]).u64(), Err(Truncated));
        let mut buf = Vec::new();
        put_u64(&mut buf, u64::from(u32::MAX) + 1);
        assert_eq!(Reader::new(&buf).u32(), Err(Truncated));
    }
}
