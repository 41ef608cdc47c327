//! Consolidation: a user's day that a collector committed in many small batches, rewritten as one event group.
//!
//! `watch` commits every second or so, and each commit writes one group per user active in
//! it: a busy day ends up in hundreds of small groups, each with its own key and header, which
//! the whole-day layout was meant to avoid. Consolidation rewrites every such day before a
//! given day (days still being written are left alone) as one group of a new batch, in one
//! atomic write whose chain link records the new groups' hash and the new hash of every batch
//! the groups came from. The digests and indexes are untouched: they describe the same events.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use pagetrail_core::time::day_of;
use pagetrail_store::chain::{self, GroupHasher, Link, Rehash};
use pagetrail_store::events::{self, parse_key, Group};
use pagetrail_store::EventRow;

use crate::writer::{Committed, Ingester};
use crate::Result;

/// What a consolidation rewrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Consolidated {
    /// User-days rewritten, and the groups they had been in.
    pub days: u64,
    pub groups_before: u64,
    pub events: u64,
    pub link: Option<Committed>,
}

impl<'s> Ingester<'s> {
    /// Rewrites each user-day before `before_day` (UTC) that is held in more than one group.
    pub fn consolidate(&mut self, before_day: i64) -> Result<Consolidated> {
        self.commit_and_settle()?;
        let store = self.store;
        let mut out = Consolidated::default();
        // Runs of one user's groups of one day are adjacent in key order.
        let mut runs: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
        let mut run: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut run_of: Option<(u32, i64)> = None;
        let mut bad = false;
        events::visit_stored(store, |k, v| {
            let Some((user, ts, _)) = parse_key(k) else {
                bad = true;
                return false;
            };
            let day = day_of(ts);
            if run_of != Some((user, day)) {
                if run.len() > 1 {
                    runs.push(std::mem::take(&mut run));
                }
                run.clear();
                run_of = Some((user, day));
            }
            if day < before_day {
                run.push((k.to_vec(), v.to_vec()));
            }
            true
        })?;
        if run.len() > 1 {
            runs.push(run);
        }
        if bad {
            return Err(store.corrupt("event key").into());
        }
        if runs.is_empty() {
            return Ok(out);
        }
        self.ensure_chain_intact()?;
        let seq = self.batch_seq + 1;
        let mut batch = store.batch();
        let mut affected = BTreeSet::new();
        let mut gone: HashSet<Vec<u8>> = HashSet::new();
        let mut written = Vec::with_capacity(runs.len());
        for run in runs {
            let mut rows: Vec<EventRow> = Vec::new();
            for (k, v) in &run {
                let (_, ts, from) = parse_key(k).ok_or_else(|| store.corrupt("event key"))?;
                rows.extend(Group::decode(ts, v).map_err(|e| store.corrupt(e))?);
                affected.insert(from);
                events::delete(&mut batch, k);
                gone.insert(k.clone());
            }
            rows.sort_by_key(|r| (r.ts_ms, r.file, r.line));
            let (user, _, _) = parse_key(&run[0].0).ok_or_else(|| store.corrupt("event key"))?;
            let key = events::key(user, rows[0].ts_ms, seq);
            let mut buf = Vec::new();
            Group::encode(&rows, usize::MAX, &mut buf);
            events::put(&mut batch, &key, &buf);
            out.days += 1;
            out.groups_before += run.len() as u64;
            out.events += rows.len() as u64;
            written.push((key, buf));
        }
        written.sort_unstable_by_key(|w| w.0);
        let mut merged = GroupHasher::default();
        for (k, v) in &written {
            merged.add(k, v);
        }
        // The batches the groups came from keep the rest of their groups.
        // Batches from before the chain are not covered: there is nothing to hash anew.
        let covered = chain::first_seq(store)?.unwrap_or(seq);
        let mut rest: BTreeMap<u32, GroupHasher> =
            affected.iter().filter(|&&s| s >= covered).map(|&s| (s, GroupHasher::default())).collect();
        events::visit_stored(store, |k, v| {
            if let Some((_, _, s)) = parse_key(k) {
                if let Some(h) = rest.get_mut(&s).filter(|_| !gone.contains(k)) {
                    h.add(k, v);
                }
            }
            true
        })?;
        let rehashed = rest
            .into_iter()
            .map(|(seq, h)| {
                let (groups, events_sha) = h.finish();
                Rehash { seq, groups, events_sha }
            })
            .collect();
        let (groups, events_sha) = merged.finish();
        let link = Link::Merge { seq, at_ms: crate::writer::now_ms(), groups, events_sha, rehashed };
        out.link = Some(self.commit_with_link(batch, &link)?);
        Ok(out)
    }
}
