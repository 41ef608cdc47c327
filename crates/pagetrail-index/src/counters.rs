//! Read counters for one index key: events, bytes, and the first and last read.
//!
//! `first` and `last` are milliseconds after the start of the key's period, so they stay short;
//! every operand of one key shares that base, so merging is plain min and max.

use pagetrail_core::varint::{put_u64, Reader};

use crate::IndexError;

const V1: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    pub events: u64,
    pub bytes: u64,
    pub first: u64,
    pub last: u64,
}

impl Counters {
    pub fn one(bytes: u64, offset_ms: u64) -> Self {
        Counters { events: 1, bytes, first: offset_ms, last: offset_ms }
    }

    pub fn add(&mut self, o: &Counters) {
        // Saturating: a corrupt operand must not panic (debug) or wrap to a small count (release).
        self.events = self.events.saturating_add(o.events);
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(V1);
        put_u64(out, self.events);
        put_u64(out, self.bytes);
        put_u64(out, self.first);
        put_u64(out, self.last.saturating_sub(self.first));
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        self.encode(&mut v);
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Counters, IndexError> {
        let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
        if fmt != V1 {
            return Err(IndexError::UnknownFormat(fmt));
        }
        let mut r = Reader::new(body);
        let mut next = || r.u64().map_err(|_| IndexError::Corrupt);
        let (events, bytes, first, span) = (next()?, next()?, next()?, next()?);
        Ok(Counters { events, bytes, first, last: first.saturating_add(span) })
    }
}

/// The merge operator: sums and min/max over the existing value and every operand.
pub fn merge<'a>(existing: Option<&[u8]>, operands: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, IndexError> {
    let mut acc: Option<Counters> = existing.map(Counters::decode).transpose()?;
    for op in operands {
        let c = Counters::decode(op)?;
        match &mut acc {
            Some(a) => a.add(&c),
            None => acc = Some(c),
        }
    }
    acc.map(|c| c.to_bytes()).ok_or(IndexError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sums_and_bounds() {
        let a = Counters { events: 2, bytes: 100, first: 50, last: 900 };
        let b = Counters { events: 1, bytes: 7, first: 10, last: 10 };
        let m = merge(Some(&a.to_bytes()), [b.to_bytes().as_slice()]).unwrap();
        assert_eq!(Counters::decode(&m).unwrap(), Counters { events: 3, bytes: 107, first: 10, last: 900 });
        assert_eq!(merge(None, []), Err(IndexError::Empty));
        assert_eq!(Counters::decode(&[V1, 1]), Err(IndexError::Corrupt));
        assert_eq!(Counters::decode(&[7]), Err(IndexError::UnknownFormat(7)));
    }

    #[test]
    fn huge_operands_saturate() {
        // Found by the fuzz targets counters and readers: the sums overflowed.
        let a = Counters { events: u64::MAX, bytes: u64::MAX - 1, first: 0, last: 0 }.to_bytes();
        let m = merge(Some(&a), [Counters::one(5, 1).to_bytes().as_slice()]).unwrap();
        assert_eq!(Counters::decode(&m).unwrap(), Counters { events: u64::MAX, bytes: u64::MAX, first: 0, last: 1 });
    }
}
