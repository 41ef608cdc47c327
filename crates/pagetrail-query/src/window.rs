//! Time windows: `[from, to)` split into whole days (answered by indexes) and partial edges.

use pagetrail_core::time::DAY_MS;
use pagetrail_store::Totals;

/// A half-open window in UTC milliseconds; `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// A window made concrete against what the store holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Whole days `from_day..to_day`.
    pub days: (i64, i64),
    /// Partial-day ranges to recount from raw events.
    pub edges: Vec<(i64, i64)>,
}

impl Window {
    pub fn all() -> Self {
        Window::default()
    }

    pub fn contains(&self, ts: i64) -> bool {
        self.from_ms.is_none_or(|f| ts >= f) && self.to_ms.is_none_or(|t| ts < t)
    }

    /// Clamps to the stored days (no events lie outside them, so this changes no answer) and
    /// splits. `None` when nothing can match. A bound past the first or last stored event
    /// widens to that event's whole day: `--last 90d` on a live store ends after its newest
    /// event, and that partial day is then read from the daily rows, not recounted.
    pub(crate) fn plan(&self, totals: &Totals) -> Option<Plan> {
        if totals.events == 0 {
            return None;
        }
        let store_from = totals.first_ms.div_euclid(DAY_MS) * DAY_MS;
        let store_to = (totals.last_ms.div_euclid(DAY_MS) + 1) * DAY_MS;
        let from = self.from_ms.map_or(store_from, |f| if f <= totals.first_ms { store_from } else { f });
        let to = self.to_ms.map_or(store_to, |t| if t > totals.last_ms { store_to } else { t });
        if from >= to {
            return None;
        }
        let first_full = (from + DAY_MS - 1).div_euclid(DAY_MS);
        let end_full = to.div_euclid(DAY_MS);
        let mut edges = Vec::new();
        if first_full >= end_full {
            // No whole day: one partial day, or two split at the midnight between them (an
            // edge never spans days, so its readers can be found from that day's index rows).
            let midnight = first_full * DAY_MS;
            if from < midnight && midnight < to {
                edges.push((from, midnight));
                edges.push((midnight, to));
            } else {
                edges.push((from, to));
            }
            return Some(Plan { from_ms: from, to_ms: to, days: (0, 0), edges });
        }
        if from < first_full * DAY_MS {
            edges.push((from, first_full * DAY_MS));
        }
        if end_full * DAY_MS < to {
            edges.push((end_full * DAY_MS, to));
        }
        Some(Plan { from_ms: from, to_ms: to, days: (first_full, end_full), edges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(first: i64, last: i64) -> Totals {
        Totals { events: 1, first_ms: first, last_ms: last, ..Totals::empty() }
    }

    #[test]
    fn splits_into_days_and_edges() {
        let t = totals(10 * DAY_MS + 5, 40 * DAY_MS + 7);
        let p = Window::all().plan(&t).unwrap();
        assert_eq!((p.days, p.edges.len()), ((10, 41), 0));
        let w = Window { from_ms: Some(20 * DAY_MS + 100), to_ms: Some(30 * DAY_MS + 200) };
        let p = w.plan(&t).unwrap();
        assert_eq!(p.days, (21, 30));
        assert_eq!(p.edges, vec![(20 * DAY_MS + 100, 21 * DAY_MS), (30 * DAY_MS, 30 * DAY_MS + 200)]);
        let w = Window { from_ms: Some(20 * DAY_MS + 100), to_ms: Some(20 * DAY_MS + 200) };
        assert_eq!(w.plan(&t).unwrap().edges, vec![(20 * DAY_MS + 100, 20 * DAY_MS + 200)]);
        // Across one midnight with no whole day: two edges, one per day.
        let w = Window { from_ms: Some(20 * DAY_MS + 100), to_ms: Some(21 * DAY_MS + 200) };
        assert_eq!(w.plan(&t).unwrap().edges, vec![(20 * DAY_MS + 100, 21 * DAY_MS), (21 * DAY_MS, 21 * DAY_MS + 200)]);
        // Bounds past the first and last events read their whole days: nothing else is there.
        let w = Window { from_ms: Some(10 * DAY_MS + 5), to_ms: Some(40 * DAY_MS + 8) };
        assert_eq!((w.plan(&t).unwrap().days, w.plan(&t).unwrap().edges.len()), ((10, 41), 0));
        let w = Window { from_ms: Some(10 * DAY_MS + 6), to_ms: Some(40 * DAY_MS + 7) };
        let p = w.plan(&t).unwrap();
        assert_eq!((p.days, p.edges), ((11, 40), vec![(10 * DAY_MS + 6, 11 * DAY_MS), (40 * DAY_MS, 40 * DAY_MS + 7)]));
        let w = Window { from_ms: Some(50 * DAY_MS), to_ms: None };
        assert!(w.plan(&t).is_none());
        assert!(Window::all().plan(&Totals::empty()).is_none());
    }
}
