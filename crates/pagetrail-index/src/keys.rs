//! Key layouts of the index column families, and how a day window maps onto them.
//!
//! All integers are big-endian so RocksDB's byte order is numeric order. The `grain` byte comes
//! first, so all monthly rollups sit together, apart from the far more numerous daily rows: a
//! long window reads months in the middle and days only at its ends, and neither drags the other
//! through the block cache.

/// Rollup level of an index row. The byte is stored: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Grain {
    Day = 0,
    Month = 1,
}

impl Grain {
    pub fn from_u8(b: u8) -> Option<Grain> {
        match b {
            0 => Some(Grain::Day),
            1 => Some(Grain::Month),
            _ => None,
        }
    }
}

/// `grain:u8 ‖ entity:u32 ‖ period:u32`: rows of every index family.
pub fn entity_key(entity: u32, grain: Grain, period: u32) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = grain as u8;
    k[1..5].copy_from_slice(&entity.to_be_bytes());
    k[5..].copy_from_slice(&period.to_be_bytes());
    k
}

/// `grain:u8 ‖ entity:u32 ‖ period:u32 ‖ user:u32`: rows of `space_user_pages`.
pub fn entity_user_key(entity: u32, grain: Grain, period: u32, user: u32) -> [u8; 13] {
    let mut k = [0u8; 13];
    k[..9].copy_from_slice(&entity_key(entity, grain, period));
    k[9..].copy_from_slice(&user.to_be_bytes());
    k
}

/// The user of an `entity_user_key`.
pub fn key_user(k: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(k.get(9..13)?.try_into().ok()?))
}

/// The prefix of every row of one entity at one grain.
pub fn entity_prefix(grain: Grain, entity: u32) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = grain as u8;
    k[1..].copy_from_slice(&entity.to_be_bytes());
    k
}

/// The first byte of a `user_days` or `user_pages` row written from format 5 is its grain plus
/// this: the period comes before the user, so one period's rows of every user lie together and
/// a window over all users (top-readers) reads only its periods. Rows of formats 3 and 4 lead
/// with the user (`entity_key`) and still read.
const PERIOD_MAJOR: u8 = 2;

/// `(grain + 2):u8 ‖ period:u32 ‖ user:u32`: rows of `user_days` and `user_pages` (format 5).
pub fn period_key(grain: Grain, period: u32, user: u32) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = grain as u8 + PERIOD_MAJOR;
    k[1..5].copy_from_slice(&period.to_be_bytes());
    k[5..].copy_from_slice(&user.to_be_bytes());
    k
}

/// The first byte of every period-major row of a grain (`period_key`).
pub fn period_prefix(grain: Grain) -> [u8; 1] {
    [grain as u8 + PERIOD_MAJOR]
}

/// Whether a key is laid out by `period_key`.
pub fn is_period_major(k: &[u8]) -> bool {
    k.first().is_some_and(|&b| b >= PERIOD_MAJOR)
}

/// Splits an index key into (entity, grain, period), in either layout: `entity_key`, or for
/// the per-user families `period_key` (the entity is then the user).
pub fn parse(k: &[u8]) -> Option<(u32, Grain, u32)> {
    if k.len() != 9 {
        return None;
    }
    let be = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    let (a, b) = (be(&k[1..5]), be(&k[5..9]));
    match k[0] {
        g @ (0 | 1) => Some((a, Grain::from_u8(g)?, b)),
        g => Some((b, Grain::from_u8(g.checked_sub(PERIOD_MAJOR)?)?, a)),
    }
}

/// One contiguous run of index rows: `grain` periods `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub grain: Grain,
    pub start: u32,
    pub end: u32,
}

/// Covers whole days `from_day..to_day` with whole months where they fit and days at the ends.
pub fn plan(from_day: i64, to_day: i64) -> Vec<Span> {
    use pagetrail_core::time::{month_of_day, month_start_day};
    let mut out = Vec::new();
    if from_day >= to_day || from_day < 0 {
        return out;
    }
    let first_full_month = {
        let m = month_of_day(from_day);
        if month_start_day(m) == from_day {
            m
        } else {
            m + 1
        }
    };
    let end_month = month_of_day(to_day); // months before this one end at or before to_day
    if first_full_month >= end_month {
        out.push(Span { grain: Grain::Day, start: from_day as u32, end: to_day as u32 });
        return out;
    }
    let mid_start = month_start_day(first_full_month);
    let mid_end = month_start_day(end_month);
    if from_day < mid_start {
        out.push(Span { grain: Grain::Day, start: from_day as u32, end: mid_start as u32 });
    }
    out.push(Span { grain: Grain::Month, start: first_full_month as u32, end: end_month as u32 });
    if mid_end < to_day {
        out.push(Span { grain: Grain::Day, start: mid_end as u32, end: to_day as u32 });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pagetrail_core::time::{days_from_civil, month_of_day, month_start_day};

    #[test]
    fn both_layouts_parse_to_user_grain_period() {
        for (g, p, u) in [(Grain::Day, 20_000, 7), (Grain::Month, 676, 4_000_000_000)] {
            let (old, new) = (entity_key(u, g, p), period_key(g, p, u));
            assert_eq!(parse(&old), Some((u, g, p)));
            assert_eq!(parse(&new), Some((u, g, p)));
            assert!(!is_period_major(&old) && is_period_major(&new));
            assert!(new.starts_with(&period_prefix(g)));
        }
        // Period-major rows sort by period first, then user, and after every user-major row.
        assert!(period_key(Grain::Day, 1, 9) < period_key(Grain::Day, 2, 1));
        assert!(entity_key(u32::MAX, Grain::Month, u32::MAX) < period_key(Grain::Day, 0, 0));
        assert_eq!(parse(&[4, 0, 0, 0, 0, 0, 0, 0, 0]), None, "no grain 2");
    }

    fn days_covered(spans: &[Span]) -> Vec<i64> {
        let mut v = Vec::new();
        for s in spans {
            for p in s.start..s.end {
                match s.grain {
                    Grain::Day => v.push(i64::from(p)),
                    Grain::Month => {
                        let (a, b) = (month_start_day(i64::from(p)), month_start_day(i64::from(p) + 1));
                        v.extend(a..b);
                    }
                }
            }
        }
        v
    }

    #[test]
    fn plans_cover_each_day_once() {
        let base = days_from_civil(2025, 11, 20);
        for from in base..base + 70 {
            for len in [0i64, 1, 5, 31, 45, 90, 400] {
                let spans = plan(from, from + len);
                assert_eq!(days_covered(&spans), (from..from + len).collect::<Vec<_>>(), "{from} {len}");
                assert!(spans.len() <= 3);
            }
        }
        let jan = days_from_civil(2026, 1, 1);
        let p = plan(jan, days_from_civil(2026, 4, 1));
        assert_eq!(
            p,
            vec![Span { grain: Grain::Month, start: month_of_day(jan) as u32, end: month_of_day(jan) as u32 + 3 }]
        );
    }

    #[test]
    fn keys_sort_numerically_and_parse() {
        assert!(entity_key(1, Grain::Day, 300) < entity_key(1, Grain::Day, 20_000));
        assert!(entity_key(1, Grain::Month, 0) > entity_key(u32::MAX, Grain::Day, u32::MAX));
        assert!(entity_key(256, Grain::Day, 0) > entity_key(255, Grain::Day, 9));
        assert!(entity_key(7, Grain::Day, 5).starts_with(&entity_prefix(Grain::Day, 7)));
        assert_eq!(parse(&entity_key(7, Grain::Month, 600)), Some((7, Grain::Month, 600)));
        assert_eq!(parse(&[0; 5]), None);
        assert_eq!(parse(&[9, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
