//! The five read-index families (`user_days`, `user_pages`, `page_users`, `space_users`,
//! `space_user_pages`): their keys, what each value holds, and every write, scan and removal.
//!
//! Keys are `grain ‖ entity ‖ period` (`pagetrail-index::keys`), `‖ user` for
//! `space_user_pages`, and `grain + 2 ‖ period ‖ user` for `user_days` and `user_pages` from
//! format 5 (their rows of formats 3 and 4, user first, still read; a writer moves them).
//! Values are counters, page-reference sets and reader lists (`pagetrail-index`), folded by
//! the merge operators defined here (`merge_operator`), which `options` registers for each
//! family.
//! Only this module spells those keys: callers speak of users, pages, spaces and periods.

use std::collections::{BTreeSet, HashMap};

use pagetrail_core::time::{month_of_day, month_start_day, DAY_MS};
use pagetrail_index::keys::{
    entity_key, entity_prefix, entity_user_key, key_user, parse, period_key, period_prefix, Grain, Span,
};
use pagetrail_index::readers::{self, Readers};
use pagetrail_index::{bitmap, Counters};
use roaring::RoaringBitmap;

use rocksdb::MergeOperands;

use crate::options::Merge;
use crate::{prefix_end, Batch, Cf, Cursor, Result, Store};

/// The merge operator of an index family: page sets unite, counters and reader lists add. A
/// merge that fails (a corrupt operand) returns `None`, which RocksDB reports as corruption on
/// the read that needed it, instead of a wrong answer.
pub(crate) fn merge_operator(cf: Cf) -> Option<Merge> {
    fn sets(_: &[u8], existing: Option<&[u8]>, ops: &MergeOperands) -> Option<Vec<u8>> {
        bitmap::merge(existing, ops.iter()).ok()
    }
    fn counters(_: &[u8], existing: Option<&[u8]>, ops: &MergeOperands) -> Option<Vec<u8>> {
        pagetrail_index::counters::merge(existing, ops.iter()).ok()
    }
    fn lists(_: &[u8], existing: Option<&[u8]>, ops: &MergeOperands) -> Option<Vec<u8>> {
        readers::merge(existing, ops.iter()).ok()
    }
    match cf {
        Cf::UserPages | Cf::SpaceUserPages => Some(("pagetrail.bitmap.v1", sets)),
        Cf::UserDays => Some(("pagetrail.counters.v1", counters)),
        Cf::PageUsers | Cf::SpaceUsers => Some(("pagetrail.readers.v1", lists)),
        _ => None,
    }
}

/// Whose readers a reader list holds: one page reference's (`page_users`, daily rows only) or
/// one space's (`space_users`, daily and monthly rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Page(u32),
    Space(u32),
}

impl Entity {
    fn cf(self) -> Cf {
        match self {
            Entity::Page(_) => Cf::PageUsers,
            Entity::Space(_) => Cf::SpaceUsers,
        }
    }

    fn id(self) -> u32 {
        match self {
            Entity::Page(id) | Entity::Space(id) => id,
        }
    }
}

/// The index operands of one batch, merged into it family by family in key order: RocksDB's
/// memtable inserts a run of ascending keys from where the previous insert ended, where keys
/// in hash order each searched the skip list from the top.
#[derive(Default)]
pub struct Operands {
    /// Per family (`OPERAND_CFS`): key (zero-padded; one length per family) and value range.
    rows: [Vec<([u8; 13], std::ops::Range<usize>)>; 5],
    vals: Vec<u8>,
    buf: Vec<u8>,
}

/// The families of [`Operands`], with the length of their keys.
const OPERAND_CFS: [(Cf, usize); 5] =
    [(Cf::UserDays, 9), (Cf::UserPages, 9), (Cf::PageUsers, 9), (Cf::SpaceUsers, 9), (Cf::SpaceUserPages, 13)];

impl Operands {
    fn push(&mut self, cf: Cf, key: &[u8]) {
        let slot = OPERAND_CFS.iter().position(|&(c, _)| c == cf).expect("an index family");
        debug_assert_eq!(key.len(), OPERAND_CFS[slot].1);
        let mut k = [0u8; 13];
        k[..key.len()].copy_from_slice(key);
        let start = self.vals.len();
        self.vals.extend_from_slice(&self.buf);
        self.rows[slot].push((k, start..self.vals.len()));
    }

    /// Adds one operand of a user's counters in a period (`user_days`).
    pub fn user_counters(&mut self, user: u32, grain: Grain, period: u32, c: &Counters) {
        c.encode(&mut self.buf);
        self.push(Cf::UserDays, &period_key(grain, period, user));
    }

    /// Adds page references to a user's set of a period (`user_pages`).
    pub fn user_pages(&mut self, user: u32, grain: Grain, period: u32, set: &RoaringBitmap) {
        bitmap::encode(set, &mut self.buf);
        self.push(Cf::UserPages, &period_key(grain, period, user));
    }

    /// Adds a reader list to an entity's period (`page_users` or `space_users`).
    pub fn readers(&mut self, e: Entity, grain: Grain, period: u32, list: &Readers) {
        readers::encode(list, &mut self.buf);
        self.push(e.cf(), &entity_key(e.id(), grain, period));
    }

    /// Adds page references to what `user` read in `space` in a period (`space_user_pages`).
    pub fn space_user_pages(&mut self, space: u32, grain: Grain, period: u32, user: u32, set: &RoaringBitmap) {
        bitmap::encode(set, &mut self.buf);
        self.push(Cf::SpaceUserPages, &entity_user_key(space, grain, period, user));
    }

    /// Merges every operand into `batch`, each family in key order.
    pub fn write(mut self, batch: &mut Batch<'_>) {
        for (rows, &(cf, len)) in self.rows.iter_mut().zip(&OPERAND_CFS) {
            rows.sort_unstable_by_key(|r| r.0);
            for (k, v) in rows.iter() {
                batch.merge(cf, &k[..len], &self.vals[v.clone()]);
            }
        }
    }
}

/// Cursors over the user-major rows of the two per-user families (formats 3 and 4, until a
/// writer moves them), reused for every user of a query: a scan of thousands of users seeks two
/// iterators instead of building two per user.
pub struct UserCursors<'s> {
    days: Cursor<'s>,
    pages: Cursor<'s>,
}

impl<'s> UserCursors<'s> {
    pub fn new(store: &'s Store) -> Self {
        UserCursors { days: store.cursor(Cf::UserDays), pages: store.cursor(Cf::UserPages) }
    }

    /// Calls `f(grain, period, counters)` for each of `user`'s `user_days` rows in `span`.
    pub fn counters(
        &mut self,
        store: &Store,
        user: u32,
        span: &Span,
        mut f: impl FnMut(Grain, u32, Counters),
    ) -> Result<()> {
        let mut bad = false;
        let (lo, hi) = (entity_key(user, span.grain, span.start), entity_key(user, span.grain, span.end));
        self.days.visit(&lo, &hi, counter_rows(&mut bad, |_, g, p, c| f(g, p, c)))?;
        if bad {
            return Err(store.corrupt("user_days row"));
        }
        Ok(())
    }

    /// Unions `user`'s `user_pages` sets in `span` into `into`.
    pub fn pages(&mut self, store: &Store, user: u32, span: &Span, into: &mut RoaringBitmap) -> Result<()> {
        let mut bad = false;
        self.pages.visit(
            &entity_key(user, span.grain, span.start),
            &entity_key(user, span.grain, span.end),
            |_, v| {
                bad |= bitmap::union_into(into, v).is_err();
                !bad
            },
        )?;
        if bad {
            return Err(store.corrupt("user_pages row"));
        }
        Ok(())
    }
}

/// Whether `user_days` or `user_pages` still hold user-major rows (a store of format 3 or 4
/// that no writer has opened since): readers then read those too, user by user.
pub fn has_user_major_rows(store: &Store) -> Result<bool> {
    let mut found = false;
    for cf in [Cf::UserDays, Cf::UserPages] {
        store.range(cf, &[], &period_prefix(Grain::Day)).visit(|_, _| {
            found = true;
            false
        })?;
    }
    Ok(found)
}

/// Calls `f(user, grain, period, counters)` for every period-major `user_days` row in `span`:
/// one contiguous scan per span, every user of a period together.
pub fn counters_in(store: &Store, span: &Span, f: impl FnMut(u32, Grain, u32, Counters)) -> Result<()> {
    let (lo, hi) = (period_key(span.grain, span.start, 0), period_key(span.grain, span.end, 0));
    let mut bad = false;
    store.range(Cf::UserDays, &lo, &hi).visit(counter_rows(&mut bad, f))?;
    if bad {
        return Err(store.corrupt("user_days row"));
    }
    Ok(())
}

/// A visitor of `user_days` rows (either layout) that hands each to `f(user, grain, period,
/// counters)` and stops at a corrupt one, setting `bad`.
fn counter_rows<'a>(
    bad: &'a mut bool,
    mut f: impl FnMut(u32, Grain, u32, Counters) + 'a,
) -> impl FnMut(&[u8], &[u8]) -> bool + 'a {
    move |k, v| match (parse(k), Counters::decode(v)) {
        (Some((u, g, p)), Ok(c)) => {
            f(u, g, p, c);
            true
        }
        _ => {
            *bad = true;
            false
        }
    }
}

/// Unions each period-major `user_pages` row in `span` of a user that `want` accepts into
/// `pages(accs[user])`; other users' rows are not decoded.
pub fn pages_in<T: Default>(
    store: &Store,
    span: &Span,
    accs: &mut HashMap<u32, T>,
    want: impl Fn(u32) -> bool,
    pages: impl Fn(&mut T) -> &mut RoaringBitmap,
) -> Result<()> {
    let (lo, hi) = (period_key(span.grain, span.start, 0), period_key(span.grain, span.end, 0));
    let user = |k: &[u8]| parse(k).map(|(u, _, _)| u);
    union_by_user(store, Cf::UserPages, (&lo, &hi), user, accs, want, pages)
}

/// Calls `f(user, grain, period, counters)` for the period-major `user_days` rows of `users`
/// (ascending) in `span`, one seek per user and period: for a few users among thousands,
/// where [`counters_in`] would read every user's rows.
pub fn counters_of(store: &Store, span: &Span, users: &[u32], f: impl FnMut(u32, Grain, u32, Counters)) -> Result<()> {
    let mut bad = false;
    rows_of(store, Cf::UserDays, span, users, counter_rows(&mut bad, f))?;
    if bad {
        return Err(store.corrupt("user_days row"));
    }
    Ok(())
}

/// Unions the period-major `user_pages` rows of `users` (ascending) in `span` into
/// `pages(accs[user])`, one seek per user and period (as [`counters_of`]).
pub fn pages_of<T: Default>(
    store: &Store,
    span: &Span,
    users: &[u32],
    accs: &mut HashMap<u32, T>,
    pages: impl Fn(&mut T) -> &mut RoaringBitmap,
) -> Result<()> {
    let mut bad = false;
    rows_of(store, Cf::UserPages, span, users, |k, v| {
        match parse(k) {
            Some((u, _, _)) => bad |= bitmap::union_into(pages(accs.entry(u).or_default()), v).is_err(),
            None => bad = true,
        }
        !bad
    })?;
    if bad {
        return Err(store.corrupt("user_pages row"));
    }
    Ok(())
}

/// Visits the period-major row of each of `users` (ascending) in each period of `span`, if
/// it has one, seeking one cursor forward; `f` returns `false` to stop.
fn rows_of(store: &Store, cf: Cf, span: &Span, users: &[u32], mut f: impl FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
    let mut cur = store.cursor(cf);
    for p in span.start..span.end {
        for &u in users {
            let key = period_key(span.grain, p, u);
            // The only key in `key..key ‖ 0` is `key` itself.
            let mut end = [0u8; 10];
            end[..9].copy_from_slice(&key);
            let mut go = true;
            cur.visit(&key, &end, |k, v| {
                go = f(k, v);
                go
            })?;
            if !go {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Unions the page sets of `cf` with keys in `lo..hi` into `pages(accs[user])`, for each user
/// (`user_of` the key) that `want` accepts.
fn union_by_user<T: Default>(
    store: &Store,
    cf: Cf,
    (lo, hi): (&[u8], &[u8]),
    user_of: impl Fn(&[u8]) -> Option<u32>,
    accs: &mut HashMap<u32, T>,
    want: impl Fn(u32) -> bool,
    pages: impl Fn(&mut T) -> &mut RoaringBitmap,
) -> Result<()> {
    let mut bad = false;
    store.range(cf, lo, hi).visit(|k, v| {
        let Some(u) = user_of(k) else {
            bad = true;
            return false;
        };
        if want(u) {
            bad |= bitmap::union_into(pages(accs.entry(u).or_default()), v).is_err();
        }
        !bad
    })?;
    if bad {
        return Err(store.corrupt(format!("{} row", cf.name())));
    }
    Ok(())
}

/// Rows a migration batch moves at most (a year of 5,000 users is 3.7 million).
const MIGRATE_BATCH: usize = 100_000;

/// Moves every user-major row of `user_days` and `user_pages` to its period-major key, in
/// batches that each move rows atomically (value and all), so a crash leaves every row under
/// one key or the other, and readers count each once either way. Returns how many moved.
pub(crate) fn migrate_user_rows(store: &Store) -> Result<u64> {
    let mut moved = 0u64;
    for cf in [Cf::UserDays, Cf::UserPages] {
        // Each batch starts after the last key the one before moved: from the start, its
        // iterator would step over every tombstone already written.
        let mut from = Vec::new();
        loop {
            let mut batch = store.batch();
            let (mut n, mut bad) = (0usize, false);
            store.range(cf, &from, &period_prefix(Grain::Day)).visit(|k, v| {
                let Some((u, g, p)) = parse(k) else {
                    bad = true;
                    return false;
                };
                batch.put(cf, &period_key(g, p, u), v);
                batch.delete(cf, k);
                n += 1;
                from.clear();
                from.extend_from_slice(k);
                from.push(0);
                n < MIGRATE_BATCH
            })?;
            if bad {
                return Err(store.corrupt(format!("{} key", cf.name())));
            }
            if n == 0 {
                break;
            }
            store.commit(batch)?;
            moved += n as u64;
        }
    }
    Ok(moved)
}

/// Calls `f(grain, period, user, counters)` for each reader of `e` in each period of `span`.
pub fn readers_in(store: &Store, e: Entity, span: &Span, mut f: impl FnMut(Grain, u32, u32, Counters)) -> Result<()> {
    let (lo, hi) = (entity_key(e.id(), span.grain, span.start), entity_key(e.id(), span.grain, span.end));
    let mut bad = false;
    store.range(e.cf(), &lo, &hi).visit(|k, v| match parse(k) {
        Some((_, g, p)) => {
            bad |= readers::for_each(v, |u, c| f(g, p, u, c)).is_err();
            !bad
        }
        None => {
            bad = true;
            false
        }
    })?;
    if bad {
        return Err(store.corrupt(format!("{} row", e.cf().name())));
    }
    Ok(())
}

/// Unions, per reader, the pages each read in `space` in `span` (`space_user_pages`, one
/// contiguous scan) into `pages(accs[user])`.
pub fn space_pages_by_user<T: Default>(
    store: &Store,
    space: u32,
    span: &Span,
    accs: &mut HashMap<u32, T>,
    want: impl Fn(u32) -> bool,
    pages: impl Fn(&mut T) -> &mut RoaringBitmap,
) -> Result<()> {
    let (lo, hi) = (entity_key(space, span.grain, span.start), entity_key(space, span.grain, span.end));
    union_by_user(store, Cf::SpaceUserPages, (&lo, &hi), key_user, accs, want, pages)
}

/// Every user with a monthly `user_pages` row (whoever read anything), and the union of all
/// their pages.
pub fn readers_and_pages(store: &Store) -> Result<(RoaringBitmap, RoaringBitmap)> {
    let (mut users, mut pages) = (RoaringBitmap::new(), RoaringBitmap::new());
    let mut bad = false;
    for prefix in [[Grain::Month as u8], period_prefix(Grain::Month)] {
        store.prefix(Cf::UserPages, &prefix).visit(|k, v| {
            match parse(k) {
                Some((user, _, _)) => {
                    users.insert(user);
                }
                None => bad = true,
            }
            bad |= bitmap::union_into(&mut pages, v).is_err();
            !bad
        })?;
    }
    if bad {
        return Err(store.corrupt("user_pages row"));
    }
    Ok((users, pages))
}

/// Adds every committed `page_users` row of page reference `r` to space `space`: each daily row
/// as a daily and a monthly space row (page rows are daily only).
pub fn add_page_to_space(store: &Store, r: u32, space: u32, batch: &mut Batch<'_>) -> Result<()> {
    let mut bad = false;
    let mut buf = Vec::new();
    let one = bitmap::to_bytes(&std::iter::once(r).collect());
    store.prefix(Cf::PageUsers, &entity_prefix(Grain::Day, r)).visit(|k, v| {
        let Some((_, Grain::Day, day)) = parse(k) else {
            bad = true;
            return false;
        };
        batch.merge(Cf::SpaceUsers, &entity_key(space, Grain::Day, day), v);
        let month = month_of_day(i64::from(day));
        let shift = ((i64::from(day) - month_start_day(month)) * DAY_MS) as u64;
        let mut shifted = Readers::new();
        bad |= readers::for_each(v, |u, c| {
            // Saturating: a corrupt value must not wrap (the merge operator rejects it later).
            shifted
                .insert(u, Counters { first: c.first.saturating_add(shift), last: c.last.saturating_add(shift), ..c });
            batch.merge(Cf::SpaceUserPages, &entity_user_key(space, Grain::Day, day, u), &one);
            batch.merge(Cf::SpaceUserPages, &entity_user_key(space, Grain::Month, month as u32, u), &one);
        })
        .is_err();
        readers::encode(&shifted, &mut buf);
        batch.merge(Cf::SpaceUsers, &entity_key(space, Grain::Month, month as u32), &buf);
        !bad
    })?;
    if bad {
        return Err(store.corrupt("page_users row"));
    }
    Ok(())
}

/// Removes every `space_users` and `space_user_pages` row of a space (before it is rebuilt).
pub fn clear_space(batch: &mut Batch<'_>, space: u32) {
    for grain in [Grain::Day, Grain::Month] {
        let lo = entity_prefix(grain, space);
        batch.delete_range(Cf::SpaceUsers, &lo, &prefix_end(&lo));
        batch.delete_range(Cf::SpaceUserPages, &lo, &prefix_end(&lo));
    }
}

/// The families with `grain ‖ entity ‖ period` keys.
const FAMILIES: [Cf; 5] = [Cf::UserDays, Cf::UserPages, Cf::PageUsers, Cf::SpaceUsers, Cf::SpaceUserPages];

/// Removes the rows of days before `day` and of months before `month` (and of `month` itself
/// when `with_month`, to be counted again); returns how many.
pub fn remove_before(store: &Store, batch: &mut Batch<'_>, day: i64, month: i64, with_month: bool) -> Result<u64> {
    let mut n = 0;
    for cf in FAMILIES {
        let mut bad = false;
        store.prefix(cf, &[]).visit(|k, _| {
            let Some((_, grain, period)) = k.get(..9).and_then(parse) else {
                bad = true;
                return false;
            };
            let period = i64::from(period);
            let gone = match grain {
                Grain::Day => period < day,
                Grain::Month => period < month || (with_month && period == month),
            };
            if gone {
                batch.delete(cf, k);
                n += 1;
            }
            true
        })?;
        if bad {
            return Err(store.corrupt(format!("{} key", cf.name())));
        }
    }
    Ok(n)
}

/// Removes the users `ids` from every family: their own rows, their entries in reader lists,
/// their pages per space. Returns how many rows were removed or rewritten.
pub fn remove_users(store: &Store, batch: &mut Batch<'_>, ids: &BTreeSet<u32>) -> Result<u64> {
    let mut n = 0;
    for &u in ids {
        for cf in [Cf::UserDays, Cf::UserPages] {
            for grain in [Grain::Day, Grain::Month] {
                for kv in store.prefix(cf, &entity_prefix(grain, u)) {
                    batch.delete(cf, &kv?.0);
                    n += 1;
                }
            }
        }
    }
    // Period-major rows: a user's lie one per period, across the whole family.
    for cf in [Cf::UserDays, Cf::UserPages] {
        store.range(cf, &period_prefix(Grain::Day), &[u8::MAX]).visit(|k, _| {
            if parse(k).is_some_and(|(u, _, _)| ids.contains(&u)) {
                batch.delete(cf, k);
                n += 1;
            }
            true
        })?;
    }
    let mut buf = Vec::new();
    for cf in [Cf::PageUsers, Cf::SpaceUsers] {
        let mut bad = false;
        store.prefix(cf, &[]).visit(|k, v| {
            let mut list = Readers::new();
            bad |= readers::for_each(v, |u, c| {
                list.insert(u, c);
            })
            .is_err();
            let before = list.len();
            list.retain(|u, _| !ids.contains(u));
            if list.len() != before {
                n += 1;
                if list.is_empty() {
                    batch.delete(cf, k);
                } else {
                    readers::encode(&list, &mut buf);
                    batch.put(cf, k, &buf);
                }
            }
            !bad
        })?;
        if bad {
            return Err(store.corrupt(format!("{} row", cf.name())));
        }
    }
    store.prefix(Cf::SpaceUserPages, &[]).visit(|k, _| {
        if key_user(k).is_some_and(|u| ids.contains(&u)) {
            batch.delete(Cf::SpaceUserPages, k);
            n += 1;
        }
        true
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeks of `counters_of` and `pages_of` find exactly the rows the scans give the
    /// same users, with users and periods that have no row among them.
    #[test]
    fn a_few_users_read_by_seeks_equal_the_scans() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open_writer(&d.path().join("s")).unwrap();
        let mut ops = Operands::default();
        for user in [1u32, 2, 5, 9, 300, u32::MAX] {
            for day in 100..110u32 {
                if (u64::from(user) + u64::from(day)).is_multiple_of(3) {
                    continue; // no row that day
                }
                let c = Counters::one(u64::from(user % 7 + day), u64::from(day) * 1000);
                ops.user_counters(user, Grain::Day, day, &c);
                let set: RoaringBitmap = (0..(user % 40 + day % 5)).map(|i| i * 3 + day).collect();
                ops.user_pages(user, Grain::Day, day, &set);
            }
        }
        let mut batch = store.batch();
        ops.write(&mut batch);
        store.commit(batch).unwrap();
        let span = Span { grain: Grain::Day, start: 99, end: 108 };
        for few in [vec![], vec![2u32], vec![1, 3, 9, u32::MAX], vec![1, 2, 5, 9, 300, u32::MAX]] {
            let (mut seek, mut scan) = (Vec::new(), Vec::new());
            counters_of(&store, &span, &few, |u, g, p, c| seek.push((u, g, p, c))).unwrap();
            counters_in(&store, &span, |u, g, p, c| {
                if few.contains(&u) {
                    scan.push((u, g, p, c));
                }
            })
            .unwrap();
            seek.sort_by_key(|r| (r.0, r.2));
            scan.sort_by_key(|r| (r.0, r.2));
            assert_eq!(seek, scan, "{few:?}");
            assert_eq!(seek.is_empty(), few.iter().all(|u| *u == 3) || few.is_empty());
            let (mut a, mut b): (HashMap<u32, RoaringBitmap>, HashMap<u32, RoaringBitmap>) = Default::default();
            pages_of(&store, &span, &few, &mut a, |s| s).unwrap();
            pages_in(&store, &span, &mut b, |u| few.contains(&u), |s| s).unwrap();
            assert_eq!(a, b, "{few:?}");
        }
    }
}
