//! An actor's past before the window, as one digest per UTC day: all the baselines and
//! first-seen tests need of it. The caller may supply stored digests (the `user_digest` rollup)
//! instead of events; the engine turns supplied events into the same digests, so both ways run
//! the same detector code and give the same alerts.

use pagetrail_core::time::{day_of, DAY_MS};
use pagetrail_core::Action;
use pagetrail_index::digest::{DayDigest, DigestEvent, PageDay};

use crate::fasthash::IdMap;
use crate::DetectEvent;

/// One UTC day of an actor's history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryDay {
    /// Days since 1970-01-01.
    pub day: i64,
    /// Pages are canonical page ids (one per page, however it was linked).
    pub digest: DayDigest,
    /// The space of each of `digest.pages`, in the same order (0 = unknown).
    pub spaces: Vec<u32>,
}

impl HistoryDay {
    /// The digest of events of one day (pages already canonical, as in [`DetectEvent`]).
    pub fn of_events(day: i64, events: &[DetectEvent]) -> HistoryDay {
        let digest = DayDigest::of_events(
            day,
            events.iter().map(|e| DigestEvent {
                ts_ms: e.ts_ms,
                read_page: Some(e.page).filter(|_| pagetrail_core::is_read(e.action, e.status, e.page != 0)),
                admin_ok: admin_ok(e),
                addr: e.ip,
                agent: e.agent,
            }),
        );
        let mut space_of: IdMap<u32, u32> = IdMap::default();
        for e in events {
            space_of.entry(e.page).or_insert(e.space);
        }
        let spaces = digest.pages.iter().map(|p| space_of.get(&p.page).copied().unwrap_or(0)).collect();
        HistoryDay { day, digest, spaces }
    }

    fn ms(&self, offset: u32) -> i64 {
        self.day * DAY_MS + i64::from(offset)
    }

    /// First and last event of the day, UTC ms.
    pub fn first_ms(&self) -> i64 {
        self.ms(self.digest.first_ms)
    }

    pub fn last_ms(&self) -> i64 {
        self.ms(self.digest.last_ms)
    }

    /// (page, space) of the pages read that day.
    pub(crate) fn pages(&self) -> impl Iterator<Item = (&PageDay, u32)> + '_ {
        self.digest.pages.iter().zip(self.spaces.iter().copied())
    }

    /// (id, last use in UTC ms) of the addresses, then of the agents.
    pub(crate) fn addrs(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.digest.addrs.iter().map(|&(id, ms)| (id, self.ms(ms)))
    }

    pub(crate) fn agents(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.digest.agents.iter().map(|&(id, ms)| (id, self.ms(ms)))
    }
}

/// Whether an event is a successful `/admin/` request (D11 learns admins from them).
pub(crate) fn admin_ok(e: &DetectEvent) -> bool {
    e.action == Action::Admin && (e.status == 0 || (200..300).contains(&e.status))
}

/// Digests of time-sorted events, one per UTC day.
pub(crate) fn digest_events(events: &[DetectEvent]) -> Vec<HistoryDay> {
    let mut out = Vec::new();
    let mut rest = events;
    while let Some(first) = rest.first() {
        let day = day_of(first.ts_ms);
        let n = rest.partition_point(|e| day_of(e.ts_ms) == day);
        out.push(HistoryDay::of_events(day, &rest[..n]));
        rest = &rest[n..];
    }
    out
}
