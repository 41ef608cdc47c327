//! Sets of dense u32 ids (pages of a user, readers of a page): roaring, or a varint list when tiny.
//!
//! Format byte 1: delta-varint sorted list (most per-day sets hold a handful of ids, where
//! roaring's header alone is 18 bytes). Format byte 2: roaring portable serialization.

use pagetrail_core::varint::{put_u64, Reader};
use roaring::RoaringBitmap;

use crate::IndexError;

const SMALL: u8 = 1;
const ROARING: u8 = 2;
/// Up to this many ids the varint list is smaller than roaring.
const SMALL_MAX: u64 = 16;

/// Encodes a set, choosing the smaller format.
pub fn encode(set: &RoaringBitmap, out: &mut Vec<u8>) {
    out.clear();
    if set.len() <= SMALL_MAX {
        out.push(SMALL);
        let mut prev = 0u32;
        for v in set {
            put_u64(out, u64::from(v - prev));
            prev = v;
        }
    } else {
        out.push(ROARING);
        // Writing into a Vec cannot fail.
        let _ = set.serialize_into(&mut *out);
    }
}

pub fn to_bytes(set: &RoaringBitmap) -> Vec<u8> {
    let mut v = Vec::new();
    encode(set, &mut v);
    v
}

/// Adds the ids of an encoded set into `into`.
pub fn union_into(into: &mut RoaringBitmap, bytes: &[u8]) -> Result<(), IndexError> {
    let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
    match fmt {
        SMALL => {
            let mut r = Reader::new(body);
            let mut prev = 0u32;
            while !r.is_empty() {
                prev = prev.checked_add(r.u32().map_err(|_| IndexError::Corrupt)?).ok_or(IndexError::Corrupt)?;
                into.insert(prev);
            }
            Ok(())
        }
        ROARING => {
            let set = RoaringBitmap::deserialize_from(body).map_err(|_| IndexError::Corrupt)?;
            *into |= set;
            Ok(())
        }
        other => Err(IndexError::UnknownFormat(other)),
    }
}

pub fn decode(bytes: &[u8]) -> Result<RoaringBitmap, IndexError> {
    let mut set = RoaringBitmap::new();
    union_into(&mut set, bytes)?;
    Ok(set)
}

/// The merge operator: the union of the existing value and every operand.
pub fn merge<'a>(existing: Option<&[u8]>, operands: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, IndexError> {
    let mut set = RoaringBitmap::new();
    if let Some(e) = existing {
        union_into(&mut set, e)?;
    }
    for op in operands {
        union_into(&mut set, op)?;
    }
    Ok(to_bytes(&set))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips_and_merges_as_union(a in proptest::collection::vec(any::<u32>(), 0..200),
                                           b in proptest::collection::vec(0u32..1000, 0..40)) {
            let sa: RoaringBitmap = a.iter().copied().collect();
            let sb: RoaringBitmap = b.iter().copied().collect();
            prop_assert_eq!(decode(&to_bytes(&sa)).unwrap(), sa.clone());
            let merged = merge(Some(&to_bytes(&sa)), [to_bytes(&sb).as_slice()]).unwrap();
            prop_assert_eq!(decode(&merged).unwrap(), &sa | &sb);
        }
    }

    #[test]
    fn tiny_sets_are_small_and_bad_bytes_error() {
        let s: RoaringBitmap = [5u32, 9, 1_000_000].into_iter().collect();
        let b = to_bytes(&s);
        assert_eq!(b[0], SMALL);
        assert!(b.len() <= 7, "{} bytes", b.len());
        assert_eq!(decode(&[]), Err(IndexError::Empty));
        assert_eq!(decode(&[9, 1]), Err(IndexError::UnknownFormat(9)));
        assert_eq!(decode(&[SMALL, 0x80]), Err(IndexError::Corrupt));
        assert_eq!(decode(&[ROARING, 1, 2]), Err(IndexError::Corrupt));
    }
}
