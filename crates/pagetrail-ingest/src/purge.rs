//! Retention and erasure: removing events and everything derived from them in one atomic batch that is a link of the chain.
//!
//! `Before(day)` removes every event of an earlier UTC day, with its digest, its audit-download
//! record, the index rows of earlier days and months, and the rejects of the lines before the
//! first event kept of each file; the month the cut falls in is counted again from the events
//! kept. `User` removes one person (every id the user directory maps to them): events, digests,
//! index rows and reader entries, audit downloads, rejects that name them, what `watch` emitted
//! about them, their aliases, and their name in the dictionary (the id stays, as a placeholder).
//! The chain records what was removed, when and why, and the new hash of every batch that lost
//! groups; a purge refuses to run on a store whose chain no longer matches, so it cannot bless
//! a tampered batch. Afterwards the store is compacted, so removed bytes leave the disk.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use pagetrail_core::event::fold_user;
use pagetrail_core::is_read;
use pagetrail_core::time::{month_of_day, month_start_day, DAY_MS};
use pagetrail_index::keys::Grain;
use pagetrail_store::chain::{self, GroupHasher, Link, Rehash};
use pagetrail_store::events::{self, parse_key, Group};
use pagetrail_store::users::UserMap;
use pagetrail_store::{audit, digests, emitted, index, rejects, Batch};

use crate::commit::index_reads;
use crate::writer::{Committed, Ingester, ReadFact};
use crate::{IngestError, Result};

/// What to remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purge {
    /// Everything before the start of this UTC day (days since 1970-01-01).
    Before(i64),
    /// One person, by any name they were logged under.
    User(String),
}

/// What a purge removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub reads: u64,
    pub groups: u64,
    pub rejects: u64,
    /// Index, digest and audit rows removed or rewritten.
    pub index_rows: u64,
    /// Batches whose hash the chain now records anew.
    pub batches: u32,
    /// The purge's own link.
    pub link: Option<Committed>,
}

/// Which rows of the store a purge takes, as it scans the events.
struct Scan {
    hashers: BTreeMap<u32, GroupHasher>,
    affected: BTreeSet<u32>,
    first_kept: i64,
    last_kept: i64,
}

impl<'s> Ingester<'s> {
    /// Removes what `what` names, as one atomic batch with a purge link, then compacts.
    pub fn purge(&mut self, what: &Purge, why: &str) -> Result<Purged> {
        self.commit_and_settle()?;
        self.ensure_chain_intact()?;
        let store = self.store;
        let mut batch = store.batch();
        let mut out = Purged::default();
        let (scan, label) = match what {
            Purge::Before(day) => (self.purge_before(*day, &mut batch, &mut out)?, {
                let (y, m, d) = pagetrail_core::time::civil_from_days(*day);
                format!("events before {y:04}-{m:02}-{d:02}")
            }),
            Purge::User(name) => {
                (self.purge_user(name, &mut batch, &mut out)?, "one person's history (erasure request)".to_owned())
            }
        };
        let Scan { mut hashers, affected, first_kept, last_kept } = scan;
        // Batches from before the chain are not covered: there is nothing to hash anew.
        let covered = chain::first_seq(store)?.unwrap_or(self.batch_seq + 1);
        let rehashed: Vec<Rehash> = affected
            .iter()
            .filter(|&&seq| seq >= covered)
            .map(|&seq| {
                let (groups, events_sha) = hashers.remove(&seq).unwrap_or_default().finish();
                Rehash { seq, groups, events_sha }
            })
            .collect();
        out.batches = rehashed.len() as u32;
        let mut totals = self.totals;
        totals.events = totals.events.saturating_sub(out.events);
        totals.reads = totals.reads.saturating_sub(out.reads);
        totals.rejected = totals.rejected.saturating_sub(out.rejects);
        (totals.first_ms, totals.last_ms) = (first_kept, last_kept);
        totals.save(&mut batch);
        let link = Link::Purge {
            seq: self.batch_seq + 1,
            at_ms: crate::writer::now_ms(),
            what: label,
            why: why.to_owned(),
            events: out.events,
            rejects: out.rejects,
            rehashed,
        };
        out.link = Some(self.commit_with_link(batch, &link)?);
        self.totals = totals;
        store.sync()?;
        // Tombstones hide the rows; compaction takes their bytes off the disk.
        store.compact()?;
        Ok(out)
    }

    /// Scans every event group: `drop` says whether a group (user, first ts) goes. Kept groups
    /// feed the hash of their batch and `keep`.
    fn scan_events(
        &self,
        batch: &mut Batch<'_>,
        out: &mut Purged,
        audit: &HashSet<(i64, u32, u64)>,
        mut drop: impl FnMut(u32, i64) -> bool,
        mut dropped: impl FnMut(&[pagetrail_store::EventRow]),
        mut keep: impl FnMut(u32, &[pagetrail_store::EventRow]),
    ) -> Result<Scan> {
        let store = self.store;
        let mut scan =
            Scan { hashers: BTreeMap::new(), affected: BTreeSet::new(), first_kept: i64::MAX, last_kept: i64::MIN };
        let mut bad = None;
        events::visit_stored(store, |k, v| {
            let Some((user, ts, seq)) = parse_key(k) else {
                bad = Some("event key".to_owned());
                return false;
            };
            let rows = match Group::decode(ts, v) {
                Ok(r) => r,
                Err(e) => {
                    bad = Some(e);
                    return false;
                }
            };
            if drop(user, ts) {
                events::delete(batch, k);
                scan.affected.insert(seq);
                out.groups += 1;
                out.events += rows.len() as u64;
                out.reads += rows.iter().filter(|r| indexed_read(r, audit)).count() as u64;
                dropped(&rows);
            } else {
                scan.hashers.entry(seq).or_default().add(k, v);
                if let (Some(f), Some(l)) = (rows.first(), rows.last()) {
                    scan.first_kept = scan.first_kept.min(f.ts_ms);
                    scan.last_kept = scan.last_kept.max(l.ts_ms);
                }
                keep(user, &rows);
            }
            true
        })?;
        match bad {
            Some(what) => Err(store.corrupt(what).into()),
            None => Ok(scan),
        }
    }

    fn purge_before(&mut self, day: i64, batch: &mut Batch<'_>, out: &mut Purged) -> Result<Scan> {
        let store = self.store;
        let cut = day * DAY_MS;
        let month = month_of_day(day);
        // The month the cut falls in keeps its later days: its rows are counted again.
        let recount = day != month_start_day(month);
        let month_end = month_start_day(month + 1) * DAY_MS;
        let downloads = audit::range(store, i64::MIN / 4, month_end)?;
        let audit_keys: HashSet<(i64, u32, u64)> = downloads.iter().map(|d| (d.ts_ms, d.file, d.line)).collect();
        let mut first_kept_line: HashMap<u32, u64> = HashMap::new();
        let mut purged_files: HashSet<u32> = HashSet::new();
        let mut facts = Vec::new();
        let scan = self.scan_events(
            batch,
            out,
            &audit_keys,
            |_, ts| ts < cut,
            |rows| purged_files.extend(rows.iter().map(|r| r.file)),
            |user, rows| {
                for r in rows {
                    let l = first_kept_line.entry(r.file).or_insert(u64::MAX);
                    *l = (*l).min(r.line);
                    if recount && r.ts_ms < month_end && indexed_read(r, &audit_keys) {
                        facts.push(ReadFact { user, page: r.page, ts_ms: r.ts_ms, bytes: r.bytes });
                    }
                }
            },
        )?;
        out.index_rows += index::remove_before(store, batch, day, month, recount)?;
        index_reads(facts.into_iter(), &self.model.space, &[Grain::Month], batch);
        out.index_rows += digests::remove_before(store, batch, day)?;
        for d in downloads.iter().filter(|d| d.ts_ms < cut) {
            audit::delete(batch, d);
            out.index_rows += 1;
        }
        // A log is written in time order: a file's lines before its first event kept are older
        // than the cut. A file with no event kept has nothing newer.
        let mut gone = Vec::new();
        rejects::visit(store, None, |file, line, _, _| {
            let old = match first_kept_line.get(&file) {
                Some(&first) => line < first,
                None => purged_files.contains(&file),
            };
            if old {
                gone.push((file, line));
            }
            true
        })?;
        out.rejects += gone.len() as u64;
        for (file, line) in gone {
            rejects::delete(batch, file, line);
        }
        for e in emitted::load_all(store)?.iter().filter(|e| e.end_ms < cut) {
            emitted::delete(batch, e);
        }
        Ok(scan)
    }

    fn purge_user(&mut self, name: &str, batch: &mut Batch<'_>, out: &mut Purged) -> Result<Scan> {
        let store = self.store;
        let folded = fold_user(name).into_owned();
        let Some(id) = self.dicts.users.get(folded.as_bytes()) else {
            return Err(IngestError::NoSuchUser(store.path().to_owned(), name.to_owned()));
        };
        let um = UserMap::load(store)?;
        let ids: BTreeSet<u32> = um.ids_of(um.canon(id)).into_iter().collect();
        let names: Vec<Vec<u8>> =
            ids.iter().filter_map(|&i| self.dicts.users.name(i)).map(|n| n.to_ascii_lowercase()).collect();
        let downloads = audit::range(store, i64::MIN / 4, i64::MAX / 4)?;
        let audit_keys: HashSet<(i64, u32, u64)> = downloads.iter().map(|d| (d.ts_ms, d.file, d.line)).collect();
        let scan = self.scan_events(batch, out, &audit_keys, |user, _| ids.contains(&user), |_| {}, |_, _| {})?;
        out.index_rows += index::remove_users(store, batch, &ids)?;
        out.index_rows += digests::remove_users(store, batch, &ids)?;
        for d in downloads.iter().filter(|d| ids.contains(&d.user)) {
            audit::delete(batch, d);
            out.index_rows += 1;
        }
        // A rejected line that names them is theirs too (a torn line of their request).
        let mut gone = Vec::new();
        rejects::visit(store, None, |file, line, _, raw| {
            let raw = raw.to_ascii_lowercase();
            if names.iter().any(|n| names_word(&raw, n)) {
                gone.push((file, line));
            }
            true
        })?;
        out.rejects += gone.len() as u64;
        for (file, line) in gone {
            rejects::delete(batch, file, line);
        }
        for e in emitted::load_all(store)? {
            if names.contains(&fold_user(&e.user).as_bytes().to_ascii_lowercase()) {
                emitted::delete(batch, &e);
            }
        }
        for &u in &ids {
            if um.is_alias(u) {
                pagetrail_store::users::delete_alias(batch, u);
            }
            self.dicts.users.erase(u, batch);
        }
        Ok(scan)
    }
}

/// Whether `name` occurs in `hay` as a word of its own (not inside a longer name or word), so
/// an erasure of `al` leaves a line that mentions `sales` alone.
fn names_word(hay: &[u8], name: &[u8]) -> bool {
    let part = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@');
    !name.is_empty()
        && memchr::memmem::find_iter(hay, name).any(|at| {
            let before = at.checked_sub(1).map(|i| hay[i]);
            let after = hay.get(at + name.len()).copied();
            !before.is_some_and(part) && !after.is_some_and(part)
        })
}

/// Whether a stored event is a read the indexes count (an audit download with a record of its
/// own is counted by readers instead).
fn indexed_read(r: &pagetrail_store::EventRow, audit: &HashSet<(i64, u32, u64)>) -> bool {
    r.page != 0 && is_read(r.action, r.status, true) && !audit.contains(&(r.ts_ms, r.file, r.line))
}

#[cfg(test)]
mod tests {
    use super::names_word;

    #[test]
    fn a_name_is_matched_as_a_word() {
        assert!(names_word(b"[20/Mar/2026:10:00:00 +0000] al http-nio", b"al"));
        assert!(names_word(b"al", b"al"));
        assert!(!names_word(b"GET /display/SALES/Plan sales", b"al"));
        assert!(!names_word(b"user al.smith", b"al"));
        assert!(names_word(b"x al\ty", b"al"));
        assert!(!names_word(b"anything", b""));
    }
}
