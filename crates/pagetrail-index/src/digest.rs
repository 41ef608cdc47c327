//! The daily activity digest of one user: what the detectors need of a day before their window
//! (baselines, first-seen sources and spaces, gaps), summed over the day's events so a lookback
//! reads one small value per user-day instead of every event.
//!
//! Every part merges exactly, whatever way a day's events are split into batches: counts add,
//! hour masks OR, first/last take min/max. That is what lets ingest write one operand per batch
//! and RocksDB fold them ([`merge`]).
//!
//! Format 1 keeps its times in milliseconds after midnight; format 2, which the encoder picks
//! when every time of the day is a whole second, in seconds.

use pagetrail_core::time::DAY_MS;
use pagetrail_core::varint::{put_u64, Reader};

use crate::IndexError;

#[cfg(test)]
const V1: u8 = 1;
/// Quarter hours in a day: reads are counted per quarter so that any real UTC offset (all are
/// multiples of 15 minutes) maps whole quarters onto local hours.
pub const QUARTERS: usize = 96;
const QUARTER_MS: i64 = 15 * 60_000;

/// One page read that day: the UTC hours it was read in (bit h = hour h) and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageDay {
    pub page: u32,
    pub hours: u32,
    pub reads: u32,
}

/// A user's day. Times are milliseconds after the day's UTC midnight; ids are dictionary ids
/// (pages are page-reference ids, not yet resolved to canonical pages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayDigest {
    /// First and last event of any kind.
    pub first_ms: u32,
    pub last_ms: u32,
    /// `/admin/` requests that succeeded (status 0 or 2xx).
    pub admin_ok: u32,
    /// Reads per quarter hour.
    pub quarters: [u32; QUARTERS],
    /// Pages read, sorted by id.
    pub pages: Vec<PageDay>,
    /// (address id, last use) of events with an address, sorted by id.
    pub addrs: Vec<(u32, u32)>,
    /// (agent id, last use) of every event (id 0: no agent), sorted by id.
    pub agents: Vec<(u32, u32)>,
}

impl Default for DayDigest {
    fn default() -> Self {
        DayDigest {
            first_ms: u32::MAX,
            last_ms: 0,
            admin_ok: 0,
            quarters: [0; QUARTERS],
            pages: Vec::new(),
            addrs: Vec::new(),
            agents: Vec::new(),
        }
    }
}

/// One event as the digest sees it.
#[derive(Clone, Copy, Debug)]
pub struct DigestEvent {
    pub ts_ms: i64,
    /// Page read, when the event is a read (contract §3); `None` otherwise.
    pub read_page: Option<u32>,
    pub admin_ok: bool,
    pub addr: u32,
    pub agent: u32,
}

impl DayDigest {
    /// The digest of events of one UTC day (`day` = days since 1970).
    pub fn of_events(day: i64, events: impl IntoIterator<Item = DigestEvent>) -> DayDigest {
        let mut d = DayDigest::default();
        let base = day * DAY_MS;
        for e in events {
            let ms = (e.ts_ms - base).clamp(0, DAY_MS - 1);
            let ms32 = ms as u32;
            d.first_ms = d.first_ms.min(ms32);
            d.last_ms = d.last_ms.max(ms32);
            d.admin_ok += u32::from(e.admin_ok);
            if let Some(p) = e.read_page {
                d.quarters[(ms / QUARTER_MS) as usize] += 1;
                d.pages.push(PageDay { page: p, hours: 1 << (ms / 3_600_000), reads: 1 });
            }
            if e.addr != 0 {
                d.addrs.push((e.addr, ms32));
            }
            d.agents.push((e.agent, ms32));
        }
        d.normalize();
        d
    }

    /// Whether no event was folded in.
    pub fn is_empty(&self) -> bool {
        self.first_ms == u32::MAX
    }

    /// Folds another digest of the same user and day in.
    pub fn absorb(&mut self, o: &DayDigest) {
        if o.is_empty() {
            return;
        }
        self.first_ms = self.first_ms.min(o.first_ms);
        self.last_ms = self.last_ms.max(o.last_ms);
        self.admin_ok = self.admin_ok.saturating_add(o.admin_ok);
        for (q, x) in self.quarters.iter_mut().zip(o.quarters.iter()) {
            *q = q.saturating_add(*x);
        }
        self.pages.extend_from_slice(&o.pages);
        self.addrs.extend_from_slice(&o.addrs);
        self.agents.extend_from_slice(&o.agents);
        self.normalize();
    }

    /// Renames pages (to canonical pages, say), folding pages that become one.
    pub fn map_pages(&mut self, mut f: impl FnMut(u32) -> u32) {
        for p in &mut self.pages {
            p.page = f(p.page);
        }
        self.normalize();
    }

    /// Sorts the lists and folds duplicate ids.
    fn normalize(&mut self) {
        self.pages.sort_unstable_by_key(|p| p.page);
        self.pages.dedup_by(|b, a| {
            let same = a.page == b.page;
            if same {
                a.hours |= b.hours;
                a.reads = a.reads.saturating_add(b.reads);
            }
            same
        });
        for v in [&mut self.addrs, &mut self.agents] {
            v.sort_unstable();
            // Sorted by (id, ms): keep the last of each id.
            v.dedup_by(|b, a| {
                let same = a.0 == b.0;
                if same {
                    a.1 = a.1.max(b.1);
                }
                same
            });
        }
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        let times = [self.first_ms, self.last_ms].into_iter().chain(self.addrs.iter().chain(&self.agents).map(|a| a.1));
        let (fmt, div) = crate::counters::time_format(times.map(u64::from));
        let div = div as u32;
        out.push(fmt);
        put_u64(out, u64::from(self.first_ms / div));
        put_u64(out, u64::from(self.last_ms.saturating_sub(self.first_ms) / div));
        put_u64(out, u64::from(self.admin_ok));
        let nq = self.quarters.iter().filter(|&&x| x > 0).count();
        put_u64(out, nq as u64);
        for (q, &x) in self.quarters.iter().enumerate().filter(|(_, &x)| x > 0) {
            out.push(q as u8);
            put_u64(out, u64::from(x));
        }
        put_u64(out, self.pages.len() as u64);
        let mut prev = 0u32;
        for p in &self.pages {
            put_u64(out, u64::from(p.page - prev));
            put_u64(out, u64::from(p.hours));
            put_u64(out, u64::from(p.reads));
            prev = p.page;
        }
        for v in [&self.addrs, &self.agents] {
            put_u64(out, v.len() as u64);
            let mut prev = 0u32;
            for &(id, ms) in v {
                put_u64(out, u64::from(id - prev));
                put_u64(out, u64::from(ms / div));
                prev = id;
            }
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<DayDigest, IndexError> {
        let (&fmt, body) = bytes.split_first().ok_or(IndexError::Empty)?;
        let scale = crate::counters::time_scale(fmt)?;
        let mut r = Reader::new(body);
        let mut d = DayDigest::default();
        let c = |_| IndexError::Corrupt;
        let ms = |v: u64| {
            v.checked_mul(scale)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&m| i64::from(m) < DAY_MS)
                .ok_or(IndexError::Corrupt)
        };
        d.first_ms = ms(r.u64().map_err(c)?)?;
        let span = ms(r.u64().map_err(c)?)?;
        d.last_ms = d.first_ms.checked_add(span).filter(|&m| i64::from(m) < DAY_MS).ok_or(IndexError::Corrupt)?;
        d.admin_ok = r.u32().map_err(c)?;
        let nq = r.u64().map_err(c)?;
        for _ in 0..nq {
            let q = r.u8().map_err(c)? as usize;
            *d.quarters.get_mut(q).ok_or(IndexError::Corrupt)? = r.u32().map_err(c)?;
        }
        let np = r.u64().map_err(c)?;
        let mut prev = 0u32;
        for _ in 0..np {
            let page = prev.checked_add(r.u32().map_err(c)?).ok_or(IndexError::Corrupt)?;
            let hours = r.u32().map_err(c)?;
            let reads = r.u32().map_err(c)?;
            d.pages.push(PageDay { page, hours, reads });
            prev = page;
        }
        for which in 0..2 {
            let n = r.u64().map_err(c)?;
            let mut prev = 0u32;
            let mut v = Vec::new();
            for _ in 0..n {
                let id = prev.checked_add(r.u32().map_err(c)?).ok_or(IndexError::Corrupt)?;
                v.push((id, ms(r.u64().map_err(c)?)?));
                prev = id;
            }
            if which == 0 {
                d.addrs = v;
            } else {
                d.agents = v;
            }
        }
        if !r.is_empty() {
            return Err(IndexError::Corrupt);
        }
        Ok(d)
    }
}

/// The merge operator: folds the existing value and every operand.
pub fn merge<'a>(existing: Option<&[u8]>, operands: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, IndexError> {
    let mut acc = match existing {
        Some(b) => DayDigest::decode(b)?,
        None => DayDigest::default(),
    };
    for op in operands {
        acc.absorb(&DayDigest::decode(op)?);
    }
    Ok(acc.to_bytes())
}

/// `user:u32 ‖ day:u32`, big-endian: one user's days are one range.
pub fn key(user: u32, day: u32) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&user.to_be_bytes());
    k[4..].copy_from_slice(&day.to_be_bytes());
    k
}

/// (user, day) of a digest key.
pub fn parse_key(k: &[u8]) -> Option<(u32, u32)> {
    if k.len() != 8 {
        return None;
    }
    Some((u32::from_be_bytes(k[..4].try_into().ok()?), u32::from_be_bytes(k[4..].try_into().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_event(day: i64) -> impl Strategy<Value = DigestEvent> {
        // Some days have whole seconds only (format 2), most milliseconds (format 1).
        let ms = prop_oneof![0..DAY_MS, (0..DAY_MS / 1000).prop_map(|s| s * 1000)];
        (ms, any::<bool>(), 1u32..40, any::<bool>(), 0u32..5, 0u32..4).prop_map(
            move |(ms, read, page, admin, addr, agent)| DigestEvent {
                ts_ms: day * DAY_MS + ms,
                read_page: read.then_some(page),
                admin_ok: admin,
                addr,
                agent,
            },
        )
    }

    proptest! {
        /// However a day's events are split into operands, and in whatever order they are
        /// merged, the result is the digest of all the events at once.
        #[test]
        fn merge_of_any_split_equals_digest_of_all(
            events in proptest::collection::vec(arb_event(20_000), 1..60),
            cuts in proptest::collection::vec(0usize..60, 0..4),
            reverse in any::<bool>(),
        ) {
            let whole = DayDigest::of_events(20_000, events.iter().copied());
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
            cuts.push(0);
            cuts.push(events.len());
            cuts.sort_unstable();
            // Ingest never writes a digest of no events.
            let mut ops: Vec<Vec<u8>> = cuts
                .windows(2)
                .filter(|w| w[0] < w[1])
                .map(|w| DayDigest::of_events(20_000, events[w[0]..w[1]].iter().copied()).to_bytes())
                .collect();
            if reverse {
                ops.reverse();
            }
            let (first, rest) = ops.split_first().unwrap();
            let merged = merge(Some(first), rest.iter().map(|v| v.as_slice())).unwrap();
            prop_assert_eq!(DayDigest::decode(&merged).unwrap(), whole);
        }
    }

    #[test]
    fn digest_counts_what_the_events_say() {
        let day = 20_000i64;
        let at = |h: i64, m: i64| day * DAY_MS + h * 3_600_000 + m * 60_000;
        let ev = |ts, read_page, addr, agent| DigestEvent { ts_ms: ts, read_page, admin_ok: false, addr, agent };
        let d = DayDigest::of_events(
            day,
            [
                ev(at(9, 0), Some(7), 3, 1),
                ev(at(9, 20), Some(7), 3, 1),
                ev(at(13, 5), Some(7), 4, 2),
                ev(at(13, 6), Some(2), 0, 2),
                ev(at(23, 59), None, 4, 0),
            ],
        );
        assert_eq!(d.first_ms, 9 * 3_600_000);
        assert_eq!(d.last_ms, (23 * 60 + 59) * 60_000);
        assert_eq!(
            d.pages,
            vec![
                PageDay { page: 2, hours: 1 << 13, reads: 1 },
                PageDay { page: 7, hours: (1 << 9) | (1 << 13), reads: 3 }
            ]
        );
        assert_eq!(d.quarters[36], 1); // 09:00
        assert_eq!(d.quarters[37], 1); // 09:20
        assert_eq!(d.quarters[52], 2); // 13:05, 13:06
        assert_eq!(d.quarters.iter().sum::<u32>(), 4);
        assert_eq!(d.addrs, vec![(3, (9 * 60 + 20) * 60_000), (4, (23 * 60 + 59) * 60_000)]);
        assert_eq!(
            d.agents,
            vec![(0, (23 * 60 + 59) * 60_000), (1, (9 * 60 + 20) * 60_000), (2, (13 * 60 + 6) * 60_000)]
        );
        assert_eq!(d.to_bytes()[0], 2, "whole seconds only: format 2");
        assert_eq!(DayDigest::decode(&d.to_bytes()).unwrap(), d);
    }

    #[test]
    fn format_1_digests_still_decode() {
        // As store format 3 wrote it: first 09:00:00.000, span 1 ms, no admin, one quarter (36,
        // one read), one page (7, hour 9, one read), one address (3, at 09:00:00.001), no agents.
        let v1 = [V1, 0x80, 0xc5, 0xb9, 0x0f, 1, 0, 1, 36, 1, 1, 7, 0x80, 0x04, 1, 1, 3, 0x81, 0xc5, 0xb9, 0x0f, 0];
        let d = DayDigest::decode(&v1).unwrap();
        assert_eq!((d.first_ms, d.last_ms), (32_400_000, 32_400_001));
        assert_eq!(d.pages, vec![PageDay { page: 7, hours: 1 << 9, reads: 1 }]);
        assert_eq!((d.addrs.clone(), d.agents.clone()), (vec![(3, 32_400_001)], vec![]));
        assert_eq!(d.to_bytes(), v1, "a millisecond day is still written as format 1");
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        let d = DayDigest::of_events(
            1,
            [DigestEvent { ts_ms: DAY_MS + 5, read_page: Some(9), admin_ok: true, addr: 1, agent: 1 }],
        );
        let b = d.to_bytes();
        for n in 0..b.len() {
            assert!(DayDigest::decode(&b[..n]).is_err(), "prefix {n} decoded");
        }
        assert_eq!(DayDigest::decode(&[9]), Err(IndexError::UnknownFormat(9)));
        let mut extra = b.clone();
        extra.push(0);
        assert_eq!(DayDigest::decode(&extra), Err(IndexError::Corrupt));
        // Found by the fuzz target digest: a span near u64::MAX overflowed first_ms + span.
        let mut huge = vec![V1, 5];
        put_u64(&mut huge, u64::MAX);
        assert_eq!(DayDigest::decode(&huge), Err(IndexError::Corrupt));
    }
}
