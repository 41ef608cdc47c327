//! Per-user read counters of one page or space in one period, packed in one value.
//!
//! One RocksDB entry per (entity, period) instead of one per (entity, period, user): a key and
//! its internal overhead cost more than the counters themselves, so packing the readers of a
//! page-day into one list is what keeps these indexes small. Format byte 1, then
//! `n ‖ (user delta, events, bytes, first, last − first) × n`, varints, sorted by user; format 2
//! is the same with the times in seconds, which the encoder picks when all of them are whole
//! seconds (as [`Counters`] does).

use std::collections::BTreeMap;

use pagetrail_core::varint::{put_u64, Reader};

use crate::counters::{time_format, time_scale};
use crate::{Counters, IndexError};

/// Readers of one entity in one period.
pub type Readers = BTreeMap<u32, Counters>;

pub fn encode(readers: &Readers, out: &mut Vec<u8>) {
    out.clear();
    let (fmt, div) = time_format(readers.values().flat_map(|c| [c.first, c.last]));
    out.push(fmt);
    put_u64(out, readers.len() as u64);
    let mut prev = 0u32;
    for (&u, c) in readers {
        put_u64(out, u64::from(u - prev));
        prev = u;
        put_u64(out, c.events);
        put_u64(out, c.bytes);
        put_u64(out, c.first / div);
        put_u64(out, c.last.saturating_sub(c.first) / div);
    }
}

/// Calls `f(user, counters)` for each reader, in user order.
pub fn for_each(bytes: &[u8], mut f: impl FnMut(u32, Counters)) -> Result<(), IndexError> {
    let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
    let scale = time_scale(fmt)?;
    let mut r = Reader::new(body);
    let c = |_| IndexError::Corrupt;
    let n = r.u64().map_err(c)?;
    let mut user = 0u32;
    for _ in 0..n {
        user = user.checked_add(r.u32().map_err(c)?).ok_or(IndexError::Corrupt)?;
        let (events, bytes, first, span) = (
            r.u64().map_err(c)?,
            r.u64().map_err(c)?,
            r.u64().map_err(c)?.saturating_mul(scale),
            r.u64().map_err(c)?.saturating_mul(scale),
        );
        f(user, Counters { events, bytes, first, last: first.saturating_add(span) });
    }
    if r.is_empty() {
        Ok(())
    } else {
        Err(IndexError::Corrupt)
    }
}

pub fn add_into(into: &mut Readers, bytes: &[u8]) -> Result<(), IndexError> {
    for_each(bytes, |u, c| {
        into.entry(u).and_modify(|e| e.add(&c)).or_insert(c);
    })
}

/// The merge operator: per-user sums and min/max over the existing value and every operand.
pub fn merge<'a>(existing: Option<&[u8]>, operands: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, IndexError> {
    let mut all = Readers::new();
    if let Some(e) = existing {
        add_into(&mut all, e)?;
    }
    for op in operands {
        add_into(&mut all, op)?;
    }
    let mut out = Vec::new();
    encode(&all, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb() -> impl Strategy<Value = Readers> {
        // Half the lists have whole seconds only (stored in seconds), half milliseconds.
        let times = prop_oneof![
            (0u64..86_400_000, 0u64..1000),
            (0u64..86_400, 0u64..1000).prop_map(|(f, s)| (f * 1000, s * 1000)),
        ];
        proptest::collection::btree_map(any::<u32>(), (1u64..5, 0u64..1 << 40, times), 0..30)
            .prop_map(|m| m.into_iter().map(|(u, (e, b, (f, s)))| (u, (e, b, f, s))).collect::<Vec<_>>())
            .prop_map(|m| {
                m.into_iter()
                    .map(|(u, (e, b, f, s))| (u, Counters { events: e, bytes: b, first: f, last: f + s }))
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn round_trips_and_merges_per_user(a in arb(), b in arb()) {
            let (mut ea, mut eb) = (Vec::new(), Vec::new());
            encode(&a, &mut ea);
            encode(&b, &mut eb);
            let mut back = Readers::new();
            add_into(&mut back, &ea).unwrap();
            prop_assert_eq!(&back, &a);
            let merged = merge(Some(&ea), [eb.as_slice()]).unwrap();
            let mut got = Readers::new();
            add_into(&mut got, &merged).unwrap();
            let mut want = a.clone();
            for (u, c) in &b {
                want.entry(*u).and_modify(|e| e.add(c)).or_insert(*c);
            }
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn whole_seconds_are_stored_in_seconds_and_format_1_still_decodes() {
        let c = Counters { events: 1, bytes: 5, first: 3_600_000, last: 3_660_000 };
        let mut s = Vec::new();
        encode(&Readers::from([(7, c)]), &mut s);
        // Format 1, as store format 3 wrote it: one reader, user 7, first 3,600,000, span 60,000.
        let v1 = [1u8, 1, 7, 1, 5, 0x80, 0xdd, 0xdb, 0x01, 0xe0, 0xd4, 0x03];
        assert_eq!(s[0], 2);
        assert!(s.len() < v1.len());
        for v in [&s[..], &v1] {
            let mut back = Readers::new();
            add_into(&mut back, v).unwrap();
            assert_eq!(back, Readers::from([(7, c)]));
        }
    }

    #[test]
    fn corrupt_values_are_errors() {
        assert_eq!(merge(None, [&[][..]]), Err(IndexError::Empty));
        assert_eq!(merge(None, [&[9u8][..]]), Err(IndexError::UnknownFormat(9)));
        for fmt in [1u8, 2] {
            assert_eq!(merge(None, [&[fmt, 2, 1, 1][..]]), Err(IndexError::Corrupt));
            assert_eq!(merge(None, [&[fmt, 0, 7][..]]), Err(IndexError::Corrupt));
        }
    }
}
