//! The `user_digest` family: one daily digest (`pagetrail-index::digest`) per user and UTC day,
//! keyed `user:u32 ‖ day:u32`, so one user's history is one range; its merge folds a day
//! written in several batches.

use std::collections::BTreeSet;

use pagetrail_index::digest::{self, DayDigest};

use rocksdb::MergeOperands;

use crate::options::Merge;
use crate::{prefix_end, Batch, Cf, Cursor, Result, Store};

/// The merge operator: folds a day written in several batches (a corrupt operand fails the
/// merge, which RocksDB reports as corruption on the read that needed it).
pub(crate) const MERGE: Merge = ("pagetrail.digest.v1", merge);

fn merge(_: &[u8], existing: Option<&[u8]>, ops: &MergeOperands) -> Option<Vec<u8>> {
    digest::merge(existing, ops.iter()).ok()
}

/// Adds one operand of a user's day.
pub fn add(batch: &mut Batch<'_>, user: u32, day: u32, d: &DayDigest, buf: &mut Vec<u8>) {
    d.encode(buf);
    batch.merge(Cf::UserDigest, &digest::key(user, day), buf);
}

/// A cursor over the digests, reused for every user of a scan.
pub struct DigestCursor<'s>(Cursor<'s>);

impl<'s> DigestCursor<'s> {
    pub fn new(store: &'s Store) -> Self {
        DigestCursor(store.cursor(Cf::UserDigest))
    }

    /// Calls `f(day, digest)` for each of `user`'s days in `[from_day, to_day)`.
    pub fn days(
        &mut self,
        store: &Store,
        user: u32,
        from_day: u32,
        to_day: u32,
        mut f: impl FnMut(u32, DayDigest),
    ) -> Result<()> {
        let mut bad = false;
        self.0.visit(&digest::key(user, from_day), &digest::key(user, to_day), |k, v| {
            match (digest::parse_key(k), DayDigest::decode(v)) {
                (Some((_, day)), Ok(d)) => {
                    f(day, d);
                    true
                }
                _ => {
                    bad = true;
                    false
                }
            }
        })?;
        if bad {
            return Err(store.corrupt("user_digest row"));
        }
        Ok(())
    }

    /// Whether `user` has a digest of any day: every stored event has one.
    pub fn any(&mut self, user: u32) -> Result<bool> {
        let mut any = false;
        self.0.visit(&user.to_be_bytes(), &prefix_end(&user.to_be_bytes()), |_, _| {
            any = true;
            false
        })?;
        Ok(any)
    }
}

/// Removes the digests of days before `day` (and any key that does not parse); returns how many.
pub fn remove_before(store: &Store, batch: &mut Batch<'_>, day: i64) -> Result<u64> {
    let mut n = 0;
    store.prefix(Cf::UserDigest, &[]).visit(|k, _| {
        if digest::parse_key(k).is_none_or(|(_, d)| i64::from(d) < day) {
            batch.delete(Cf::UserDigest, k);
            n += 1;
        }
        true
    })?;
    Ok(n)
}

/// Removes every digest of the users `ids`; returns how many.
pub fn remove_users(store: &Store, batch: &mut Batch<'_>, ids: &BTreeSet<u32>) -> Result<u64> {
    let mut n = 0;
    for &u in ids {
        for kv in store.prefix(Cf::UserDigest, &u.to_be_bytes()) {
            batch.delete(Cf::UserDigest, &kv?.0);
            n += 1;
        }
    }
    Ok(n)
}
