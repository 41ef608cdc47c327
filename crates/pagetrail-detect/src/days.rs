//! Day- and hour-bucket detectors: D3 self-baseline, the daily counts D4 compares across
//! actors, and D12 hour-of-week.

use std::cell::Cell;

use pagetrail_core::time::{day_of, DAY_MS};
use pagetrail_core::zone::Zone;

use crate::actor::{Actor, Draft, EvLite, Note};
use crate::engine::{Ctx, MAX_SPAN_DAYS};
use crate::stats::{mean_std, mean_std_sums, median_mad};
use crate::{Baseline, Detector, Severity};

const HOUR_MS: i64 = 3_600_000;
const QUARTER_MS: i64 = 15 * 60_000;

/// Distinct pages per UTC day and hour over all of an actor's reads, plus the window's days.
pub(crate) struct Daily {
    pub day0: i64,
    /// Distinct pages read per day since `day0` (all reads, history included).
    pub days: Vec<u32>,
    /// The same per hour (`(day - day0) * 24 + hour`).
    pub hours: Vec<u32>,
    /// (day, distinct pages) of window days with reads, counting window reads only.
    pub win: Vec<(i64, u32)>,
    /// Hourly distinct pages of window reads only, indexed like `hours`.
    win_hours: Vec<u32>,
}

/// Distinct pages per bucket; buckets must not decrease along `reads`.
fn bucket_distinct(a: &Actor<'_>, reads: &[u32], nb: usize, bucket: impl Fn(i64) -> usize) -> Vec<u32> {
    let mut last = vec![usize::MAX; a.npages];
    let mut out = vec![0u32; nb];
    for &i in reads {
        let b = bucket(a.ts(i));
        let p = a.lpage[i as usize] as usize;
        if let (Some(l), Some(o)) = (last.get_mut(p), out.get_mut(b)) {
            if *l != b {
                *l = b;
                *o += 1;
            }
        }
    }
    out
}

impl Daily {
    pub fn new(a: &Actor<'_>) -> Option<Daily> {
        let read_days = a.hist.iter().filter(|h| !h.digest.pages.is_empty());
        let first = read_days.clone().map(|h| h.day).next().or_else(|| a.reads.first().map(|&i| day_of(a.ts(i))))?;
        let last = a.reads.last().map(|&i| day_of(a.ts(i))).or_else(|| read_days.clone().map(|h| h.day).next_back())?;
        let day0 = first;
        let span = last - day0 + 1;
        if span > MAX_SPAN_DAYS {
            return None;
        }
        let nd = span as usize;
        let win_days = bucket_distinct(a, &a.reads, nd, |ts| (day_of(ts) - day0) as usize);
        let win_hours = bucket_distinct(a, &a.reads, nd * 24, |ts| ((ts - day0 * DAY_MS) / HOUR_MS) as usize);
        let (mut days, mut hours) = (win_days.clone(), win_hours.clone());
        for h in read_days {
            let di = (h.day - day0) as usize;
            let hour_count = |k: usize| h.digest.pages.iter().filter(|p| p.hours & (1 << k) != 0).count() as u32;
            if win_days[di] == 0 {
                days[di] = h.digest.pages.len() as u32;
                for k in 0..24 {
                    hours[di * 24 + k] = hour_count(k);
                }
                continue;
            }
            // The window's first day: its reads before the window and in it, as one set.
            let day_reads = a.reads_between(h.day * DAY_MS, (h.day + 1) * DAY_MS);
            let mut all: Vec<u32> = h.digest.pages.iter().map(|p| p.page).collect();
            all.extend(day_reads.iter().map(|&i| a.ev[i as usize].page));
            all.sort_unstable();
            all.dedup();
            days[di] = all.len() as u32;
            for k in 0..24 {
                let mut set: Vec<u32> =
                    h.digest.pages.iter().filter(|p| p.hours & (1 << k) != 0).map(|p| p.page).collect();
                let hs = h.day * DAY_MS + k as i64 * HOUR_MS;
                set.extend(a.reads_between(hs, hs + HOUR_MS).iter().map(|&i| a.ev[i as usize].page));
                set.sort_unstable();
                set.dedup();
                hours[di * 24 + k] = set.len() as u32;
            }
        }
        let win = (0..nd).filter(|&d| win_days[d] > 0).map(|d| (day0 + d as i64, win_days[d])).collect();
        Some(Daily { day0, days, hours, win, win_hours })
    }

    /// Hourly distinct pages of a window day, window reads only.
    fn day_hours(&self, day: i64) -> &[u32] {
        let i = ((day - self.day0) * 24) as usize;
        self.win_hours.get(i..i + 24).unwrap_or(&[])
    }
}

/// The threshold a value crossed and the baseline it was measured against, or `None`.
/// The z test is tried first; the robust modified z on median/MAD second. A flat baseline
/// (stddev or MAD 0) falls back to the floor: the value must exceed the center and reach it.
fn score(x: f64, base: &mut [f64], z: f64, mz: f64, floor: f64, days: u32) -> Option<(f64, Baseline)> {
    if x < floor {
        return None;
    }
    let (mu, sd) = mean_std(base);
    let zt = if sd > 0.0 { mu + z * sd } else { mu.floor() + 1.0 };
    if x > zt {
        let b = Baseline { method: "mean/stddev".into(), center: mu, spread: sd, days };
        return Some((zt.max(floor), b));
    }
    let (med, mad) = median_mad(base);
    let mzt = if mad > 0.0 { med + mz * mad / 0.6745 } else { med.floor() + 1.0 };
    if x > mzt {
        let b = Baseline { method: "median/MAD".into(), center: med, spread: mad, days };
        return Some((mzt.max(floor), b));
    }
    None
}

/// D3 self-baseline: each window day's (and hour's) distinct pages against the actor's active
/// days (hours) in `[day - baseline_days, day - exclude_days)`. Medium; a day without enough
/// baseline is tested against the cold-start bar instead (low).
pub(crate) fn baseline(ctx: &Ctx, a: &Actor<'_>, dc: &Daily) -> Vec<Draft> {
    let c = &ctx.cfg.baseline;
    let mut out = Vec::new();
    for &(day, x) in &dc.win {
        let di = (day - dc.day0) as usize;
        let lo = di.saturating_sub(c.baseline_days as usize);
        let hi = di.saturating_sub(c.exclude_days as usize).max(lo);
        let base_days = &dc.days[lo..hi.min(dc.days.len())];
        let active = base_days.iter().filter(|&&v| v > 0).count() as u32;
        let base_reads: u64 = base_days.iter().map(|&v| u64::from(v)).sum();
        let warm = active >= c.min_active_days && base_reads >= u64::from(c.min_baseline_reads);
        let day_start = (day * DAY_MS).max(ctx.from);
        let day_end = (day + 1) * DAY_MS;

        if x >= c.daily_floor.min(c.cold_start_daily) {
            let ev = || EvLite::of(a.ev, a.reads_between(day_start, day_end).iter().copied());
            if warm {
                let mut base: Vec<f64> = base_days.iter().filter(|&&v| v > 0).map(|&v| f64::from(v)).collect();
                let floor = f64::from(c.daily_floor);
                if let Some((t, b)) = score(f64::from(x), &mut base, c.z, c.modified_z, floor, active) {
                    out.push(
                        Draft::new(Detector::Baseline, Severity::Medium, f64::from(x), t, ev())
                            .with_baseline(b)
                            .count("distinct_pages", x)
                            .count("bucket_hours", 24u64),
                    );
                }
            } else if x >= c.cold_start_daily {
                out.push(
                    Draft::new(Detector::Baseline, Severity::Low, f64::from(x), f64::from(c.cold_start_daily), ev())
                        .count("distinct_pages", x)
                        .count("bucket_hours", 24u64)
                        .count("baseline_active_days", active)
                        .note("rule", Note::Text("cold start: no baseline yet".into())),
                );
            }
        }

        let hours = dc.day_hours(day);
        if warm && hours.iter().any(|&h| h >= c.hourly_floor) {
            let base: Vec<f64> = dc.hours[lo * 24..(hi * 24).min(dc.hours.len())]
                .iter()
                .filter(|&&v| v > 0)
                .map(|&v| f64::from(v))
                .collect();
            let mut best: Option<Draft> = None;
            for (h, &xh) in hours.iter().enumerate() {
                if xh < c.hourly_floor {
                    continue;
                }
                let floor = f64::from(c.hourly_floor);
                let mut scratch = base.clone();
                if let Some((t, b)) = score(f64::from(xh), &mut scratch, c.z, c.modified_z, floor, active) {
                    let hs = (day * DAY_MS + h as i64 * HOUR_MS).max(ctx.from);
                    let he = day * DAY_MS + (h as i64 + 1) * HOUR_MS;
                    let ev = EvLite::of(a.ev, a.reads_between(hs, he).iter().copied());
                    let d = Draft::new(Detector::Baseline, c.hourly_severity, f64::from(xh), t, ev)
                        .with_baseline(b)
                        .count("distinct_pages", xh)
                        .count("bucket_hours", 1u64)
                        .count("baseline_hours", base.len() as u64);
                    if best.as_ref().is_none_or(|o| d.stronger(o).is_gt()) {
                        best = Some(d);
                    }
                }
            }
            out.extend(best);
        }
    }
    // A day and one of its hours overlap: keep the stronger.
    crate::actor::dedupe(out, 0)
}

/// Local time of UTC instants, the zone's offset taken at the start of each UTC quarter hour
/// (zones change offset on quarter hours), so a stored quarter and the reads in it fall in the
/// same local hour. Memoized: reads come in time order.
struct Clock {
    zone: Zone,
    quarter: Cell<i64>,
    offset: Cell<i64>,
}

impl Clock {
    fn new(zone: Zone) -> Clock {
        Clock { zone, quarter: Cell::new(i64::MIN), offset: Cell::new(0) }
    }

    fn local(&self, utc_ms: i64) -> i64 {
        let q = utc_ms.div_euclid(QUARTER_MS);
        if q != self.quarter.get() {
            self.quarter.set(q);
            self.offset.set(self.zone.offset_ms(q * QUARTER_MS));
        }
        utc_ms + self.offset.get()
    }
}

/// D12 hour-of-week, in the actor's zone. A slot (weekday, hour) is active when the actor
/// read in it on at least `min_slot_days` of the previous `baseline_days` local days. A day
/// alerts (low) when at least `min_inactive_reads` window reads fall in inactive slots and
/// their share of the day's reads exceeds mean + z·stddev of the share on the actor's earlier
/// warm days. Without such a baseline (fewer than `min_baseline_days`), a day alerts when at
/// least `min_inactive_reads` reads fall outside business hours: the spec's cold start ("≥ 3
/// reads in inactive slots") would flag every new user, for whom every slot is inactive.
pub(crate) fn off_hours(ctx: &Ctx, a: &Actor<'_>, zone: Zone) -> Vec<Draft> {
    let c = &ctx.cfg.off_hours;
    let clock = Clock::new(zone);
    // Reads in local ms: the history's quarter hours (with their counts), then the window's.
    let hist_reads: Vec<(i64, u32)> = a
        .hist
        .iter()
        .flat_map(|h| {
            h.digest
                .quarters
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(move |(q, &n)| (h.day * DAY_MS + q as i64 * QUARTER_MS, n))
        })
        .map(|(utc, n)| (clock.local(utc), n))
        .collect();
    let win_local: Vec<i64> = a.reads.iter().map(|&i| clock.local(a.ts(i))).collect();
    let local_days = hist_reads.iter().map(|&(lts, _)| lts).chain(win_local.iter().copied());
    let (Some(d0), Some(dl)) =
        (local_days.clone().map(|t| t.div_euclid(DAY_MS)).min(), local_days.map(|t| t.div_euclid(DAY_MS)).max())
    else {
        return Vec::new();
    };
    let span = dl - d0 + 1;
    if span > MAX_SPAN_DAYS {
        return Vec::new();
    }
    let nd = span as usize;
    let mut all = vec![0u32; nd * 24];
    let mut win = vec![0u32; nd * 24];
    let bin = |lts: i64| {
        let d = lts.div_euclid(DAY_MS);
        ((d - d0) * 24 + (lts - d * DAY_MS) / HOUR_MS) as usize
    };
    for (lts, n) in hist_reads {
        if let Some(v) = all.get_mut(bin(lts)) {
            *v += n;
        }
    }
    for &lts in &win_local {
        let idx = bin(lts);
        if let Some(v) = all.get_mut(idx) {
            *v += 1;
        }
        if let Some(v) = win.get_mut(idx) {
            *v += 1;
        }
    }
    // Monday = 0: 1970-01-01 was a Thursday.
    let slot = |d: usize, h: usize| ((d as i64 + d0 + 3).rem_euclid(7) as usize) * 24 + h;
    let business = |d: usize, h: usize| {
        let wd = (d as i64 + d0 + 3).rem_euclid(7);
        let weekday_ok = !(c.weekend_off && wd >= 5);
        weekday_ok && (c.business_start_hour as usize..c.business_end_hour as usize).contains(&h)
    };
    let day_sum = |v: &[u32], d: usize| -> u32 { v[d * 24..d * 24 + 24].iter().sum() };

    let b = c.baseline_days as usize;
    let mut slot_days = [0u32; 168];
    let mut active_days = 0u32;
    let mut ratio = vec![0f64; nd];
    // Inactive-slot reads per day too: a ratio cannot exceed 1, so a user whose weekend reads
    // all fall in inactive slots would hide a night of thousands of reads behind it.
    let mut inactive_count = vec![0f64; nd];
    let mut valid = vec![false; nd];
    let (mut rn, mut rs, mut rss) = (0f64, 0f64, 0f64);
    let (mut cs, mut css) = (0f64, 0f64);
    let mut out = Vec::new();
    for d in 0..nd {
        // The baseline is the local days [d - b, d - 1].
        let mut slide = |p: usize, sign: i32| {
            let mut any = false;
            for h in 0..24 {
                if all[p * 24 + h] > 0 {
                    let s = &mut slot_days[slot(p, h)];
                    *s = if sign > 0 { *s + 1 } else { s.saturating_sub(1) };
                    any = true;
                }
            }
            if any {
                active_days = if sign > 0 { active_days + 1 } else { active_days.saturating_sub(1) };
            }
            if valid[p] {
                let (r, n) = (ratio[p], inactive_count[p]);
                let s = f64::from(sign);
                rn += s;
                rs += s * r;
                rss += s * r * r;
                cs += s * n;
                css += s * n * n;
            }
        };
        if d >= 1 {
            slide(d - 1, 1);
        }
        if d > b {
            slide(d - 1 - b, -1);
        }
        let reads_d = day_sum(&all, d);
        if reads_d == 0 {
            continue;
        }
        let inactive = |h: usize| slot_days[slot(d, h)] < c.min_slot_days;
        let warm = active_days >= c.min_baseline_days;
        if warm {
            let ina: u32 = (0..24).filter(|&h| inactive(h)).map(|h| all[d * 24 + h]).sum();
            ratio[d] = f64::from(ina) / f64::from(reads_d);
            inactive_count[d] = f64::from(ina);
            valid[d] = true;
        }
        let wreads = day_sum(&win, d);
        if wreads == 0 {
            continue;
        }
        // The local day's reads lie within 19 hours of its UTC bounds, whatever the zone.
        let lday = d as i64 + d0;
        let lo = a.reads.partition_point(|&i| a.ts(i) < lday * DAY_MS - 19 * HOUR_MS);
        let hi = a.reads.partition_point(|&i| a.ts(i) < (lday + 1) * DAY_MS + 19 * HOUR_MS);
        let evidence = |pick: &dyn Fn(usize) -> bool| {
            let mut ev = EvLite::new();
            let hi = hi.max(lo);
            for (&lts, &i) in win_local[lo..hi].iter().zip(&a.reads[lo..hi]) {
                let h = (lts - lts.div_euclid(DAY_MS) * DAY_MS) / HOUR_MS;
                if lts.div_euclid(DAY_MS) == lday && pick(h as usize) {
                    ev.push(&a.ev[i as usize]);
                }
            }
            ev
        };
        if warm && rn >= f64::from(c.min_baseline_days) {
            let ina: u32 = (0..24).filter(|&h| inactive(h)).map(|h| win[d * 24 + h]).sum();
            if ina < c.min_inactive_reads {
                continue;
            }
            let r = f64::from(ina) / f64::from(wreads);
            let (mu, sd) = mean_std_sums(rn, rs, rss);
            let t = if sd > 0.0 { mu + c.z * sd } else { mu };
            let (cmu, csd) = mean_std_sums(rn, cs, css);
            let ct = (if csd > 0.0 { cmu + c.z * csd } else { cmu }).max(f64::from(c.min_volume_reads));
            if r <= t && f64::from(ina) > ct {
                let active_slots = slot_days.iter().filter(|&&s| s >= c.min_slot_days).count();
                out.push(
                    Draft::new(Detector::OffHours, Severity::Low, f64::from(ina), ct, evidence(&inactive))
                        .with_baseline(Baseline {
                            method: "mean/stddev".into(),
                            center: cmu,
                            spread: csd,
                            days: rn as u32,
                        })
                        .count("reads", wreads)
                        .count("inactive_slot_reads", ina)
                        .count("active_slots", active_slots as u64)
                        .note("time_zone", Note::Text(zone.name()))
                        .note(
                            "rule",
                            Note::Text("inactive-slot reads against the daily baseline of that count".into()),
                        ),
                );
                continue;
            }
            if r > t {
                let active_slots = slot_days.iter().filter(|&&s| s >= c.min_slot_days).count();
                out.push(
                    Draft::new(Detector::OffHours, Severity::Low, r, t, evidence(&inactive))
                        .with_baseline(Baseline {
                            method: "mean/stddev".into(),
                            center: mu,
                            spread: sd,
                            days: rn as u32,
                        })
                        .count("reads", wreads)
                        .count("inactive_slot_reads", ina)
                        .count("active_slots", active_slots as u64)
                        .note("time_zone", Note::Text(zone.name())),
                );
            }
        } else {
            let offh: u32 = (0..24).filter(|&h| !business(d, h)).map(|h| win[d * 24 + h]).sum();
            if offh >= c.min_inactive_reads {
                out.push(
                    Draft::new(
                        Detector::OffHours,
                        Severity::Low,
                        f64::from(offh),
                        f64::from(c.min_inactive_reads),
                        evidence(&|h| !business(d, h)),
                    )
                    .count("reads", wreads)
                    .count("off_hours_reads", offh)
                    .note("time_zone", Note::Text(zone.name()))
                    .note("rule", Note::Text("cold start: reads outside business hours".into())),
                );
            }
        }
    }
    out
}
