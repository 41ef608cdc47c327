//! Per-user read counters of one page or space in one period, packed in one value.
//!
//! One RocksDB entry per (entity, period) instead of one per (entity, period, user): a key and
//! its internal overhead cost more than the counters themselves, so packing the readers of a
//! page-day into one list is what keeps these indexes small. Format byte 1, then
//! `n ‖ (user delta, events, bytes, first, last − first) × n`, varints, sorted by user.

use std::collections::BTreeMap;

use pagetrail_core::varint::{put_u64, Reader};

use crate::{Counters, IndexError};

const V1: u8 = 1;

/// Readers of one entity in one period.
pub type Readers = BTreeMap<u32, Counters>;

pub fn encode(readers: &Readers, out: &mut Vec<u8>) {
    out.clear();
    out.push(V1);
    put_u64(out, readers.len() as u64);
    let mut prev = 0u32;
    for (&u, c) in readers {
        put_u64(out, u64::from(u - prev));
        prev = u;
        put_u64(out, c.events);
        put_u64(out, c.bytes);
        put_u64(out, c.first);
        put_u64(out, c.last.saturating_sub(c.first));
    }
}

/// Calls `f(user, counters)` for each reader, in user order.
pub fn for_each(bytes: &[u8], mut f: impl FnMut(u32, Counters)) -> Result<(), IndexError> {
    let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
    if fmt != V1 {
        return Err(IndexError::UnknownFormat(fmt));
    }
    let mut r = Reader::new(body);
    let c = |_| IndexError::Corrupt;
    let n = r.u64().map_err(c)?;
    let mut user = 0u32;
    for _ in 0..n {
        user = user.checked_add(r.u32().map_err(c)?).ok_or(IndexError::Corrupt)?;
        let (events, bytes, first, span) =
            (r.u64().map_err(c)?, r.u64().map_err(c)?, r.u64().map_err(c)?, r.u64().map_err(c)?);
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
        proptest::collection::btree_map(any::<u32>(), (1u64..5, 0u64..1 << 40, 0u64..86_400_000, 0u64..1000), 0..30)
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
    fn corrupt_values_are_errors() {
        assert_eq!(merge(None, [&[][..]]), Err(IndexError::Empty));
        assert_eq!(merge(None, [&[9u8][..]]), Err(IndexError::UnknownFormat(9)));
        assert_eq!(merge(None, [&[V1, 2, 1, 1][..]]), Err(IndexError::Corrupt));
        assert_eq!(merge(None, [&[V1, 0, 7][..]]), Err(IndexError::Corrupt));
    }
}
