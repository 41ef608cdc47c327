//! Read counters for one index key: events, bytes, and the first and last read.
//!
//! `first` and `last` are milliseconds after the start of the key's period, so they stay short;
//! every operand of one key shares that base, so merging is plain min and max. Format 2 stores
//! them in seconds, which an encoder picks when both are whole seconds (every access log's `%t`
//! is): a day's offset is then three bytes instead of four. Format 1 (milliseconds) still decodes.

use pagetrail_core::varint::{put_u64, Reader};

use crate::IndexError;

const V1: u8 = 1;
const V2_SECONDS: u8 = 2;

/// The format byte and divisor for times `ts` (milliseconds): seconds when all are whole.
pub(crate) fn time_format(ts: impl IntoIterator<Item = u64>) -> (u8, u64) {
    if ts.into_iter().all(|t| t % 1000 == 0) {
        (V2_SECONDS, 1000)
    } else {
        (V1, 1)
    }
}

/// The multiplier that turns a stored time of format `fmt` back into milliseconds.
pub(crate) fn time_scale(fmt: u8) -> Result<u64, IndexError> {
    match fmt {
        V1 => Ok(1),
        V2_SECONDS => Ok(1000),
        f => Err(IndexError::UnknownFormat(f)),
    }
}

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
        let (fmt, div) = time_format([self.first, self.last]);
        out.push(fmt);
        put_u64(out, self.events);
        put_u64(out, self.bytes);
        put_u64(out, self.first / div);
        put_u64(out, self.last.saturating_sub(self.first) / div);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(16);
        self.encode(&mut v);
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<Counters, IndexError> {
        let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
        let scale = time_scale(fmt)?;
        let mut r = Reader::new(body);
        let mut next = || r.u64().map_err(|_| IndexError::Corrupt);
        let (events, bytes, first, span) =
            (next()?, next()?, next()?.saturating_mul(scale), next()?.saturating_mul(scale));
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
    fn whole_seconds_are_stored_in_seconds_and_format_1_still_decodes() {
        let s = Counters { events: 2, bytes: 9, first: 3_600_000, last: 7_200_000 };
        let ms = Counters { last: 7_200_001, ..s };
        assert_eq!(s.to_bytes()[0], V2_SECONDS);
        assert_eq!(ms.to_bytes()[0], V1);
        assert!(s.to_bytes().len() < ms.to_bytes().len());
        for c in [s, ms] {
            assert_eq!(Counters::decode(&c.to_bytes()).unwrap(), c);
        }
        // Format 1, as store format 3 wrote it: events 2, bytes 9, first 3,600,000, span 1.
        assert_eq!(
            Counters::decode(&[V1, 2, 9, 0x80, 0xdd, 0xdb, 0x01, 1]).unwrap(),
            Counters { last: 3_600_001, ..s }
        );
        // A merge of a seconds operand and a milliseconds one is exact, in milliseconds.
        let m = merge(Some(&s.to_bytes()), [ms.to_bytes().as_slice()]).unwrap();
        assert_eq!((m[0], Counters::decode(&m).unwrap()), (V1, Counters { events: 4, bytes: 18, ..ms }));
    }

    #[test]
    fn huge_operands_saturate() {
        // Found by the fuzz targets counters and readers: the sums overflowed.
        let a = Counters { events: u64::MAX, bytes: u64::MAX - 1, first: 0, last: 0 }.to_bytes();
        let m = merge(Some(&a), [Counters::one(5, 1).to_bytes().as_slice()]).unwrap();
        assert_eq!(Counters::decode(&m).unwrap(), Counters { events: u64::MAX, bytes: u64::MAX, first: 0, last: 1 });
    }
}
