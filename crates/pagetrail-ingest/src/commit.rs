//! Committing a batch: the page model's changes, the index operands of its reads, its event
//! groups with their digests, the file checkpoint, the totals and the chain link, in one
//! RocksDB write. The reading thread gathers a batch ([`Pending`]); [`write`] builds and writes
//! it, on that thread or, inside [`Ingester::pipelined`], on a second one while the next batch
//! is read.

use std::collections::HashMap;
use std::sync::mpsc;

use foldhash::fast::RandomState;

use pagetrail_core::time::{day_of, month_of_day, month_start_day, DAY_MS};
use pagetrail_core::{is_read, Action};
use pagetrail_index::digest::{DayDigest, DigestEvent};
use pagetrail_index::keys::Grain;
use pagetrail_index::readers::Readers;
use pagetrail_index::Counters;
use pagetrail_store::chain::{self, GroupHasher, Link};
use pagetrail_store::index::{self, Entity};
use pagetrail_store::meta::save_batch_seq;
use pagetrail_store::{digests, events, Batch, EventRow, FileRecord, Group, Store};
use roaring::RoaringBitmap;

use crate::pages::rebuild_dirty;
use crate::writer::{now_ms, Committed, Ingester, ReadFact};
use crate::{IngestError, Result};

/// A batch as the reading thread leaves it: what [`write`] turns into one RocksDB write.
pub(crate) struct Pending<'s> {
    /// Dictionary, page-model, reject and totals writes, already in place.
    batch: Batch<'s>,
    /// Event groups in key order, each sorted by time, file and line.
    groups: Vec<((u32, i64), Vec<EventRow>)>,
    reads: Vec<ReadFact>,
    /// Each page reference's space at this commit (0: none).
    space: Vec<u32>,
    file: Option<FileRecord>,
    rejects: u32,
}

/// The thread that writes batches one behind the reading (see [`Ingester::pipelined`]).
pub(crate) struct Pipe<'s> {
    jobs: mpsc::Sender<(Pending<'s>, u32, chain::Hash)>,
    done: mpsc::Receiver<Result<Committed>>,
    /// A batch was handed over and its outcome not yet taken.
    in_flight: bool,
}

impl<'s> Ingester<'s> {
    /// Runs `f` with every commit written on a second thread, one batch behind the reading:
    /// the reading of batch n + 1 overlaps the writing of batch n. Batches still land one at a
    /// time and in order, each atomic with its checkpoint; anything that reads the store first
    /// waits for the batch in flight. When `f` returns, its last commit has landed (or its
    /// error is returned).
    pub fn pipelined<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        let store = self.store;
        std::thread::scope(|s| {
            let (jobs, rx) = mpsc::channel::<(Pending<'s>, u32, chain::Hash)>();
            let (tx, done) = mpsc::channel();
            s.spawn(move || {
                for (p, seq, head) in rx {
                    // The reading thread stops handing over batches after a failure.
                    if tx.send(write(store, p, seq, &head)).is_err() {
                        break;
                    }
                }
            });
            self.pipe = Some(Pipe { jobs, done, in_flight: false });
            let out = f(self);
            let landed = self.settle();
            // Dropping the sender ends the thread; the scope joins it.
            self.pipe = None;
            let out = out?;
            landed.map(|()| out)
        })
    }

    /// Waits for the batch in flight, if any, and takes its outcome.
    pub(crate) fn settle(&mut self) -> Result<()> {
        let Some(pipe) = self.pipe.as_mut().filter(|p| p.in_flight) else { return Ok(()) };
        pipe.in_flight = false;
        let c = pipe.done.recv().map_err(|_| IngestError::CommitThread)??;
        self.landed(c);
        Ok(())
    }

    /// Commits what is pending and waits until it has landed.
    pub(crate) fn commit_and_settle(&mut self) -> Result<()> {
        self.commit(None)?;
        self.settle()
    }

    /// Resolves pages, indexes the pending reads, and writes everything in one atomic batch
    /// (inside [`Ingester::pipelined`], the write may still be in flight on return).
    pub(crate) fn commit(&mut self, file: Option<&FileRecord>) -> Result<()> {
        let batch_empty = self.batch.is_empty() && self.groups.is_empty() && file.is_none();
        let changes = self.model.resolve();
        if batch_empty && changes.metas.is_empty() {
            return Ok(());
        }
        let store = self.store;
        let groups = self.groups_in_order();
        let mut batch = std::mem::replace(&mut self.batch, store.batch());
        for &r in &changes.metas {
            pagetrail_store::pages::put_meta(&mut batch, r, &self.model.metas[r as usize]);
        }
        for &c in &changes.chunks {
            pagetrail_store::pages::put_chunk(&mut batch, c, &self.model.chunk(c));
        }
        // A page placed in a space or moved brings its committed rows along, which must have
        // landed first. A reference first met in this batch has none.
        let committed = std::mem::replace(&mut self.pages_committed, self.dicts.pages.len() as u32);
        let placed: Vec<(u32, u32)> = changes.placed.iter().copied().filter(|&(r, _)| r <= committed).collect();
        let rehome = !placed.is_empty() || !changes.moved.is_empty();
        let mut dirty = Vec::new();
        if rehome {
            self.settle()?;
            dirty = pagetrail_store::meta::dirty_spaces(store)?;
        }
        for &(r, s) in &placed {
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
        self.totals.save(&mut batch);
        let pending = Pending {
            batch,
            groups,
            reads: std::mem::take(&mut self.reads),
            space: self.model.space.clone(),
            file: file.cloned(),
            rejects: self.pending_rejects,
        };
        self.pending_lines = 0;
        self.pending_rejects = 0;
        self.settle()?;
        let (seq, head) = (self.batch_seq + 1, self.chain_head);
        match self.pipe.as_mut().filter(|_| !rehome) {
            Some(pipe) => {
                pipe.jobs.send((pending, seq, head)).map_err(|_| IngestError::CommitThread)?;
                pipe.in_flight = true;
            }
            None => {
                let c = write(store, pending, seq, &head)?;
                self.landed(c);
                if !changes.moved.is_empty() {
                    rebuild_dirty(store, &self.model, dirty)?;
                }
            }
        }
        Ok(())
    }

    /// Takes the pending groups in key order, each sorted, and writes the names they were
    /// first to use (requests, referers, extras), numbered in that order. One person's
    /// lookback then names a few runs of neighbouring ids, which share dictionary blocks,
    /// instead of one id (and one block to decompress) per event.
    fn groups_in_order(&mut self) -> Vec<((u32, i64), Vec<EventRow>)> {
        let mut groups: Vec<_> = self.groups.drain().collect();
        // The chain hashes the groups in key order, as `verify` meets them in the store.
        for (_, rows) in &mut groups {
            rows.sort_by_key(|r| (r.ts_ms, r.file, r.line));
        }
        groups.sort_unstable_by_key(|((user, _), rows)| events::key(*user, rows[0].ts_ms, 0));
        let (d, b) = (&mut self.dicts, &mut self.batch);
        let rows = || groups.iter().flat_map(|(_, rows)| rows.iter());
        let request = d.requests.write_deferred(rows().map(|r| r.request), b);
        let referer = d.referers.write_deferred(rows().map(|r| r.referer), b);
        let extra = d.extras.write_deferred(rows().map(|r| r.extra), b);
        if ![&request, &referer, &extra].iter().all(|n| n.is_identity()) {
            for r in groups.iter_mut().flat_map(|(_, rows)| rows.iter_mut()) {
                r.request = request.id(r.request);
                r.referer = referer.id(r.referer);
                r.extra = extra.id(r.extra);
            }
        }
        groups
    }
}

/// Builds and writes a pending batch as batch `seq`, chained after `head`: index operands of
/// its reads, its event groups with their digests, the file checkpoint and the link.
fn write(store: &Store, p: Pending<'_>, seq: u32, head: &chain::Hash) -> Result<Committed> {
    let Pending { mut batch, groups, reads, space, file, rejects } = p;
    index_reads(reads.into_iter(), &space, &[Grain::Day, Grain::Month], &mut batch);
    let mut buf = Vec::new();
    // The groups come in key order (`groups_in_order`): each value is hashed as it is written.
    let mut hasher = GroupHasher::default();
    for ((user, day), rows) in groups {
        Group::encode(&rows, usize::MAX, &mut buf);
        let key = events::key(user, rows[0].ts_ms, seq);
        events::put(&mut batch, &key, &buf);
        hasher.add(&key, &buf);
        digests::add(&mut batch, user, day as u32, &day_digest(day, &rows), &mut buf);
    }
    let (groups, events_sha) = hasher.finish();
    if let Some(rec) = &file {
        pagetrail_store::files::put(&mut batch, rec);
    }
    let link = Link::Batch {
        seq,
        at_ms: now_ms(),
        groups,
        events_sha,
        rejects,
        file: file.map(|r| chain::FileMark { name: r.name, offset: r.offset, sha256: r.sha256.unwrap_or_default() }),
    };
    commit_linked(store, batch, head, &link)
}

/// Commits `batch` with `link` chained after `head`: every write of events goes through here.
pub(crate) fn commit_linked(store: &Store, mut batch: Batch<'_>, head: &chain::Hash, link: &Link) -> Result<Committed> {
    let head = chain::append(&mut batch, head, link);
    save_batch_seq(&mut batch, link.seq());
    store.commit(batch)?;
    Ok(Committed { seq: link.seq(), head })
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
    let mut ops = index::Operands::default();
    for ((user, grain, period), c) in user_days {
        ops.user_counters(user, grain, period, &c);
    }
    for ((user, grain, period), set) in user_pages {
        ops.user_pages(user, grain, period, &set);
    }
    for ((space, grain, period, user), set) in space_user_pages {
        ops.space_user_pages(space, grain, period, user, &set);
    }
    for ((page, grain, period), list) in page_users {
        ops.readers(Entity::Page(page), grain, period, &list);
    }
    for ((space, grain, period), list) in space_users {
        ops.readers(Entity::Space(space), grain, period, &list);
    }
    ops.write(batch);
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
