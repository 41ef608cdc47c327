//! Committing a batch: the page model's changes, the index operands of its reads, its event
//! groups with their digests, the file checkpoint, the totals and the chain link, in one
//! RocksDB write.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use pagetrail_core::time::{day_of, month_of_day, month_start_day, DAY_MS};
use pagetrail_core::{is_read, Action};
use pagetrail_index::digest::{DayDigest, DigestEvent};
use pagetrail_index::keys::Grain;
use pagetrail_index::readers::Readers;
use pagetrail_index::Counters;
use pagetrail_store::chain::{self, GroupHasher, Link};
use pagetrail_store::index::{self, Entity};
use pagetrail_store::{digests, events, Batch, EventRow, FileRecord, Group};
use roaring::RoaringBitmap;

use crate::pages::rebuild_dirty;
use crate::writer::{now_ms, Ingester, ReadFact};
use crate::Result;

impl Ingester<'_> {
    /// Resolves pages, indexes the pending reads, and writes everything in one atomic batch.
    pub(crate) fn commit(&mut self, file: Option<&FileRecord>) -> Result<()> {
        let batch_empty = self.batch.is_empty() && self.groups.is_empty() && file.is_none();
        let changes = self.model.resolve();
        if batch_empty && changes.metas.is_empty() {
            return Ok(());
        }
        let store = self.store;
        let mut batch = std::mem::replace(&mut self.batch, store.batch());
        let seq = self.batch_seq + 1;
        for &r in &changes.metas {
            pagetrail_store::pages::put_meta(&mut batch, r, &self.model.metas[r as usize]);
        }
        for &c in &changes.chunks {
            pagetrail_store::pages::put_chunk(&mut batch, c, &self.model.chunk(c));
        }
        let mut dirty = pagetrail_store::meta::dirty_spaces(store)?;
        for &(r, s) in &changes.placed {
            index::add_page_to_space(store, r, s, &mut batch)?;
        }
        for &(r, old, new) in &changes.moved {
            index::add_page_to_space(store, r, new, &mut batch)?;
            if !dirty.contains(&old) {
                dirty.push(old);
            }
        }
        if !changes.moved.is_empty() {
            pagetrail_store::meta::save_dirty_spaces(&mut batch, &dirty);
        }
        self.index_reads(&mut batch);
        let mut buf = Vec::new();
        // The chain hashes the groups in key order, as `verify` meets them in the store: sort
        // them by (user, first event) before encoding, and hash each value as it is written.
        let mut groups: Vec<((u32, i64), Vec<EventRow>)> = self.groups.drain().collect();
        for (_, rows) in &mut groups {
            rows.sort_by_key(|r| (r.ts_ms, r.file, r.line));
        }
        groups.sort_unstable_by_key(|((user, _), rows)| events::key(*user, rows[0].ts_ms, 0));
        let mut hasher = GroupHasher::default();
        for ((user, day), rows) in groups {
            Group::encode(&rows, usize::MAX, &mut buf);
            let key = events::key(user, rows[0].ts_ms, seq);
            events::put(&mut batch, &key, &buf);
            hasher.add(&key, &buf);
            digests::add(&mut batch, user, day as u32, &day_digest(day, &rows), &mut buf);
        }
        let (groups, events_sha) = hasher.finish();
        if let Some(rec) = file {
            pagetrail_store::files::put(&mut batch, rec);
        }
        let link = Link::Batch {
            seq,
            at_ms: now_ms(),
            groups,
            events_sha,
            rejects: self.pending_rejects,
            file: file.map(|r| chain::FileMark {
                name: r.name.clone(),
                offset: r.offset,
                sha256: r.sha256.unwrap_or_default(),
            }),
        };
        self.totals.save(&mut batch);
        self.commit_with_link(batch, &link)?;
        self.pending_lines = 0;
        self.pending_rejects = 0;
        if !changes.moved.is_empty() {
            rebuild_dirty(store, &self.model, dirty)?;
        }
        Ok(())
    }

    fn index_reads(&mut self, batch: &mut Batch<'_>) {
        index_reads(self.reads.drain(..), &self.model.space, &[Grain::Day, Grain::Month], batch);
    }
}

/// Index operands of reads, at the given grains: per user (counters and page sets), per page
/// (daily reader lists) and per space (reader lists and per-user page sets). `space` maps a
/// page reference to its current space (0: none).
pub(crate) fn index_reads(
    reads: impl Iterator<Item = ReadFact>,
    space: &[u32],
    grains: &[Grain],
    batch: &mut Batch<'_>,
) {
    // Keyed (entity, grain, period), and (space, grain, period, user) for the page sets per space.
    type Period = (u32, Grain, u32);
    // foldhash: these maps take several operations a read, and their keys are dictionary ids.
    type Map<K, V> = HashMap<K, V, RandomState>;
    let mut user_days: Map<Period, Counters> = Map::default();
    let mut user_pages: Map<Period, RoaringBitmap> = Map::default();
    let mut page_users: Map<Period, Readers> = Map::default();
    let mut space_users: Map<Period, Readers> = Map::default();
    let mut space_user_pages: Map<(u32, Grain, u32, u32), RoaringBitmap> = Map::default();
    let add = |m: &mut Map<Period, Readers>, k: Period, user: u32, c: Counters| {
        m.entry(k).or_default().entry(user).and_modify(|e| e.add(&c)).or_insert(c);
    };
    for r in reads {
        let day = day_of(r.ts_ms);
        let month = month_of_day(day);
        let space = space.get(r.page as usize).copied().unwrap_or(0);
        for (grain, period, start) in [(Grain::Day, day, day), (Grain::Month, month, month_start_day(month))] {
            if !grains.contains(&grain) {
                continue;
            }
            let c = Counters::one(r.bytes, (r.ts_ms - start * DAY_MS) as u64);
            let period = period as u32;
            user_days.entry((r.user, grain, period)).and_modify(|e| e.add(&c)).or_insert(c);
            user_pages.entry((r.user, grain, period)).or_default().insert(r.page);
            // Pages get daily rows only: a page's readers per day are few, and monthly rows
            // here would be the largest index of all.
            if grain == Grain::Day {
                add(&mut page_users, (r.page, grain, period), r.user, c);
            }
            if space != 0 {
                add(&mut space_users, (space, grain, period), r.user, c);
                space_user_pages.entry((space, grain, period, r.user)).or_default().insert(r.page);
            }
        }
    }
    let mut buf = Vec::new();
    for ((user, grain, period), c) in user_days {
        index::add_user_counters(batch, user, grain, period, &c, &mut buf);
    }
    for ((user, grain, period), set) in user_pages {
        index::add_user_pages(batch, user, grain, period, &set, &mut buf);
    }
    for ((space, grain, period, user), set) in space_user_pages {
        index::add_space_user_pages(batch, space, grain, period, user, &set, &mut buf);
    }
    for ((page, grain, period), list) in page_users {
        index::add_readers(batch, Entity::Page(page), grain, period, &list, &mut buf);
    }
    for ((space, grain, period), list) in space_users {
        index::add_readers(batch, Entity::Space(space), grain, period, &list, &mut buf);
    }
}

/// The detectors' digest of one user's events of one UTC day (see `pagetrail_index::digest`).
/// A read here is the same as for the indexes: a content action on a known page that succeeded.
fn day_digest(day: i64, rows: &[EventRow]) -> DayDigest {
    DayDigest::of_events(
        day,
        rows.iter().map(|r| DigestEvent {
            ts_ms: r.ts_ms,
            read_page: Some(r.page).filter(|&p| p != 0 && is_read(r.action, r.status, true)),
            admin_ok: r.action == Action::Admin && (r.status == 0 || (200..300).contains(&r.status)),
            addr: r.addr,
            agent: r.agent,
        }),
    )
}
