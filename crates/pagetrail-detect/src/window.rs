//! Sliding windows over time-sorted events (two pointers, O(n)) and per-period peak keeping.

use crate::actor::{Actor, EvLite};

/// The events one detector looks at: time, a dense key (page, space, query) and event index.
pub(crate) struct Sub {
    pub ts: Vec<i64>,
    pub key: Vec<u32>,
    pub ev: Vec<u32>,
}

impl Sub {
    pub fn collect(a: &Actor<'_>, idx: impl IntoIterator<Item = u32>, key: impl Fn(u32) -> u32) -> Sub {
        let mut s = Sub { ts: Vec::new(), key: Vec::new(), ev: Vec::new() };
        for i in idx {
            s.ts.push(a.ts(i));
            s.key.push(key(i));
            s.ev.push(i);
        }
        s
    }

    pub fn evidence(&self, a: &Actor<'_>, p: &Peak) -> EvLite {
        EvLite::of(a.ev, self.ev[p.lo..=p.hi].iter().copied())
    }
}

/// A window `[ts[lo], ts[hi]]` and how many distinct keys (or events) it holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Peak {
    pub lo: usize,
    pub hi: usize,
    pub value: u32,
}

impl Peak {
    pub fn len(&self) -> u64 {
        (self.hi - self.lo + 1) as u64
    }
}

/// Keeps the strongest hit of each period; a period opens at a hit and lasts `dedup_ms`, so a
/// long crawl yields one candidate per period instead of one per event.
pub(crate) struct Episodes<T> {
    dedup_ms: i64,
    open: Option<(i64, u64, T)>,
    out: Vec<T>,
}

impl<T> Episodes<T> {
    pub fn new(dedup_ms: i64) -> Self {
        Episodes { dedup_ms: dedup_ms.max(1), open: None, out: Vec::new() }
    }

    pub fn offer(&mut self, ts: i64, strength: u64, t: T) {
        if matches!(&self.open, Some((limit, _, _)) if ts >= *limit) {
            if let Some((_, _, done)) = self.open.take() {
                self.out.push(done);
            }
        }
        match &mut self.open {
            None => self.open = Some((ts.saturating_add(self.dedup_ms), strength, t)),
            Some((_, s, cur)) => {
                if strength > *s {
                    *s = strength;
                    *cur = t;
                }
            }
        }
    }

    pub fn finish(mut self) -> Vec<T> {
        if let Some((_, _, t)) = self.open.take() {
            self.out.push(t);
        }
        self.out
    }
}

/// Windows `[t, t + window_ms)` holding at least `min` distinct keys (or events when `keys` is
/// `None`): the strongest of each dedup period.
pub(crate) fn peaks(
    ts: &[i64],
    keys: Option<&[u32]>,
    nkeys: usize,
    window_ms: i64,
    min: u32,
    dedup_ms: i64,
) -> Vec<Peak> {
    let window_ms = window_ms.max(1);
    let mut counts = vec![0u32; if keys.is_some() { nkeys } else { 0 }];
    let mut distinct = 0u32;
    let mut lo = 0usize;
    let mut eps = Episodes::new(dedup_ms);
    for hi in 0..ts.len() {
        match keys {
            Some(k) => {
                if let Some(c) = k.get(hi).and_then(|&k| counts.get_mut(k as usize)) {
                    if *c == 0 {
                        distinct += 1;
                    }
                    *c += 1;
                }
            }
            None => distinct += 1,
        }
        while ts[hi].saturating_sub(ts[lo]) >= window_ms {
            match keys {
                Some(k) => {
                    if let Some(c) = k.get(lo).and_then(|&k| counts.get_mut(k as usize)) {
                        *c -= 1;
                        if *c == 0 {
                            distinct -= 1;
                        }
                    }
                }
                None => distinct -= 1,
            }
            lo += 1;
        }
        if distinct >= min {
            eps.offer(ts[hi], u64::from(distinct), Peak { lo, hi, value: distinct });
        }
    }
    eps.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_keep_one_per_period() {
        // Ten distinct keys a minute apart, then the same again two hours later.
        let mut ts = Vec::new();
        let mut keys = Vec::new();
        for round in 0..2i64 {
            for k in 0..10u32 {
                ts.push(round * 7_200_000 + i64::from(k) * 60_000);
                keys.push(k);
            }
        }
        let p = peaks(&ts, Some(&keys), 10, 300_000, 5, 3_600_000);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].value, 5);
        assert_eq!((p[0].lo, p[0].hi), (0, 4));
        assert_eq!((p[1].lo, p[1].hi), (10, 14));
        // Repeated keys do not count twice.
        let p = peaks(&[0, 1, 2, 3, 4], Some(&[1, 1, 1, 2, 2]), 3, 10, 3, 0);
        assert!(p.is_empty());
        let p = peaks(&[0, 1, 2, 3, 4], None, 0, 10, 3, 0);
        assert_eq!(p.iter().map(|p| p.value).max(), Some(5));
    }
}
