//! Cases: one person's alerts of one episode, scored and ranked, each with a sentence saying
//! why; and service accounts, judged against their own routine (contract §6).

use std::collections::BTreeMap;

use pagetrail_core::time::{day_of, format_rfc3339, DAY_MS};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::stats::{mean_std_sums, median_mad};
use crate::{Alert, CasesConfig, Detector, Severity};

/// One ranked case.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The username; `-` for an anonymous actor, whose address is `ip`.
    pub user: String,
    pub ip: Option<String>,
    /// 1 = the highest score (ties by user).
    pub rank: u32,
    pub score: f64,
    pub severity: Severity,
    /// The first alert's start and the last alert's end, UTC ms.
    pub start_ms: i64,
    pub end_ms: i64,
    /// The detectors that contributed, in detections.md order.
    pub detectors: Vec<Detector>,
    /// Indices of the case's alerts in [`Detection::alerts`], in time order.
    pub alerts: Vec<usize>,
    /// What each detector added to the score, strongest first.
    pub parts: Vec<Part>,
    /// The strongest evidence and how far it lies from the person's history and their peers'.
    pub why: String,
}

/// One detector's share of a case's score.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub detector: Detector,
    /// Its strongest alert's severity, and how many alerts it had in the case.
    pub severity: Severity,
    pub alerts: u32,
    pub weight: f64,
}

/// An account judged against its own routine.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAccount {
    pub user: String,
    /// Listed in `[cases] service_accounts`, or proposed from its behaviour.
    pub declared: bool,
    /// What it looked like: days with reads and hours a day.
    pub reason: String,
    /// Detectors that fire as part of its routine.
    pub routine: Vec<Detector>,
}

/// What `detect` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detection {
    /// Every alert, by severity (high first), then start, then user.
    pub alerts: Vec<Alert>,
    /// By rank.
    pub cases: Vec<Case>,
    pub service_accounts: Vec<ServiceAccount>,
}

/// One actor's reading, for recognising service accounts and for saying how far a case lies
/// from the actor's own history and from the others'.
#[derive(Clone, Debug, Default)]
pub(crate) struct Profile {
    /// (UTC day, distinct pages) of window days with reads.
    pub window_days: Vec<(i64, u32)>,
    /// (UTC day, distinct pages) of every day with reads, history and window.
    pub all_days: Vec<(i64, u32)>,
    /// Days with reads, history and window, and the days from the first to the last.
    pub read_days: u32,
    pub span_days: u32,
    /// Median over days with reads of the hours of the day with reads.
    pub median_hours: u32,
}

impl Profile {
    fn machine_like(&self, c: &CasesConfig) -> bool {
        self.span_days >= c.service_min_days.max(1)
            && f64::from(self.read_days) >= c.service_active_share * f64::from(self.span_days)
            && self.median_hours >= c.service_min_hours
    }
}

/// An actor as cases see it.
pub(crate) struct ActorRef<'a> {
    pub user: &'a str,
    pub ip: Option<&'a str>,
    pub profile: &'a Profile,
}

/// Recognises service accounts and marks their routine alerts low (with a `routine` note).
/// `alerts` are (actor index, alert).
pub(crate) fn judge_service_accounts(
    c: &CasesConfig,
    actors: &[ActorRef<'_>],
    alerts: &mut [(u32, Alert)],
) -> Vec<ServiceAccount> {
    let declared: Vec<String> = c.service_accounts.iter().map(|u| u.trim().to_lowercase()).collect();
    let mut by_actor: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (k, (a, _)) in alerts.iter().enumerate() {
        by_actor.entry(*a).or_default().push(k);
    }
    let mut out = Vec::new();
    for (ai, actor) in actors.iter().enumerate() {
        if actor.ip.is_some() {
            continue;
        }
        let p = actor.profile;
        let is_declared = declared.iter().any(|d| *d == actor.user.to_lowercase());
        if !(is_declared || c.propose_service_accounts && p.machine_like(c)) {
            continue;
        }
        let reason =
            format!("reads on {} of {} days, {} hours a day (median)", p.read_days, p.span_days, p.median_hours);
        let ks = by_actor.get(&(ai as u32)).cloned().unwrap_or_default();
        let days = p.window_days.len().max(1) as f64;
        let mut per: BTreeMap<Detector, Vec<usize>> = BTreeMap::new();
        for &k in &ks {
            per.entry(alerts[k].1.detector).or_default().push(k);
        }
        let mut routine = Vec::new();
        for (d, ks) in per {
            let mut fired: Vec<i64> = ks.iter().map(|&k| day_of(alerts[k].1.start_ms)).collect();
            fired.sort_unstable();
            fired.dedup();
            // Two days make a routine; a window of one day has only the one (a daily detect run).
            let min_days = if p.window_days.len() > 1 { 2 } else { 1 };
            if fired.len() < min_days || (fired.len() as f64) < c.routine_share * days {
                continue;
            }
            routine.push(d);
            // Value over threshold, so that a detector's shapes (paged listings, expand reads)
            // and day-varying thresholds compare on one scale.
            let mut ratios: Vec<f64> = ks.iter().map(|&k| past(&alerts[k].1)).collect();
            ratios.sort_by(f64::total_cmp);
            let median = ratios[ratios.len() / 2];
            for &k in &ks {
                let a = &mut alerts[k].1;
                let r = past(a);
                if r > c.routine_factor * median {
                    a.evidence.notes.insert(
                        "departure".into(),
                        format!(
                            "{:.1}x past its threshold, {:.1}x the median of this service account's {d} alerts",
                            r,
                            r / median
                        ),
                    );
                } else {
                    a.severity = Severity::Low;
                    a.evidence.notes.insert(
                        "routine".into(),
                        format!("service account: {d} fires on {} of its {} days with reads", fired.len(), days),
                    );
                }
            }
        }
        out.push(ServiceAccount { user: actor.user.to_string(), declared: is_declared, reason, routine });
    }
    out
}

/// How far past its threshold an alert is.
fn past(a: &Alert) -> f64 {
    if a.threshold > 0.0 {
        a.value / a.threshold
    } else {
        a.value
    }
}

fn weight(c: &CasesConfig, s: Severity) -> f64 {
    match s {
        Severity::Low => c.low_weight,
        Severity::Medium => c.medium_weight,
        Severity::High => c.high_weight,
    }
}

/// Groups each actor's alerts into episodes and scores them. `alerts` must be in their final
/// order (the indices point into it).
pub(crate) fn build(c: &CasesConfig, actors: &[ActorRef<'_>], alerts: &[(u32, Alert)]) -> Vec<Case> {
    let mut by_actor: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (k, (a, _)) in alerts.iter().enumerate() {
        by_actor.entry(*a).or_default().push(k);
    }
    let population = Population::of(actors);
    let gap = i64::from(c.episode_gap_days) * DAY_MS;
    let mut cases = Vec::new();
    for (ai, mut ks) in by_actor {
        ks.sort_by_key(|&k| (alerts[k].1.start_ms, k));
        let opens = |a: &Alert| {
            a.detector != Detector::Composite && !c.weak.contains(&a.detector) && a.severity >= c.open_severity
        };
        // Episodes from the openers; every other alert joins the nearest within the gap.
        let mut episodes: Vec<(i64, i64, Vec<usize>)> = Vec::new();
        for &k in ks.iter().filter(|&&k| opens(&alerts[k].1)) {
            let a = &alerts[k].1;
            match episodes.last_mut() {
                Some(e) if a.start_ms <= e.1.saturating_add(gap) => {
                    e.1 = e.1.max(a.end_ms);
                    e.2.push(k);
                }
                _ => episodes.push((a.start_ms, a.end_ms, vec![k])),
            }
        }
        if episodes.is_empty() {
            continue;
        }
        for &k in ks.iter().filter(|&&k| !opens(&alerts[k].1)) {
            let a = &alerts[k].1;
            let dist = |e: &(i64, i64, Vec<usize>)| {
                if a.end_ms < e.0 {
                    e.0 - a.end_ms
                } else {
                    a.start_ms.saturating_sub(e.1).max(0)
                }
            };
            if let Some(e) = episodes.iter_mut().filter(|e| dist(e) <= gap).min_by_key(|e| dist(e)) {
                e.2.push(k);
            }
        }
        let actor = &actors[ai as usize];
        for (_, _, mut members) in episodes {
            members.sort_by_key(|&k| (alerts[k].1.start_ms, k));
            cases.push(score(c, actor, &population, alerts, members));
        }
    }
    cases.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then(a.user.cmp(&b.user)).then(a.ip.cmp(&b.ip)).then(a.start_ms.cmp(&b.start_ms))
    });
    for (i, case) in cases.iter_mut().enumerate() {
        case.rank = i as u32 + 1;
    }
    cases
}

fn score(
    c: &CasesConfig,
    actor: &ActorRef<'_>,
    pop: &Population,
    alerts: &[(u32, Alert)],
    members: Vec<usize>,
) -> Case {
    let mut per: BTreeMap<Detector, Vec<&Alert>> = BTreeMap::new();
    for &k in &members {
        per.entry(alerts[k].1.detector).or_default().push(&alerts[k].1);
    }
    let mut parts = Vec::new();
    for (&d, list) in &per {
        // Composites summarise the others; a service account's routine is its job.
        let counts = |a: &Alert| d != Detector::Composite && !a.evidence.notes.contains_key("routine");
        let mut ws: Vec<f64> = list.iter().map(|a| if counts(a) { weight(c, a.severity) } else { 0.0 }).collect();
        ws.sort_by(|a, b| b.total_cmp(a));
        let w: f64 = ws.iter().enumerate().map(|(i, w)| w / (i as f64 + 1.0)).sum();
        let severity = list.iter().map(|a| a.severity).max().unwrap_or(Severity::Low);
        parts.push(Part { detector: d, severity, alerts: list.len() as u32, weight: w });
    }
    parts.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.detector.cmp(&b.detector)));
    let score = (parts.iter().map(|p| p.weight).sum::<f64>() * 10.0).round() / 10.0;
    let top = members.iter().map(|&k| alerts[k].1.severity).max().unwrap_or(Severity::Low);
    let severity = if score >= c.high_score && top == Severity::High {
        Severity::High
    } else if score >= c.medium_score && top >= Severity::Medium {
        Severity::Medium
    } else {
        Severity::Low
    };
    let start_ms = members.iter().map(|&k| alerts[k].1.start_ms).min().unwrap_or(0);
    let end_ms = members.iter().map(|&k| alerts[k].1.end_ms).max().unwrap_or(0);
    // The strongest alert: an opener before a weak signal, then severity, then how far past
    // its threshold.
    let strongest =
        members.iter().map(|&k| &alerts[k].1).filter(|a| a.detector != Detector::Composite).max_by(|a, b| {
            let strong = |x: &Alert| !c.weak.contains(&x.detector);
            strong(a).cmp(&strong(b)).then(a.severity.cmp(&b.severity)).then(past(a).total_cmp(&past(b)))
        });
    let mut why = match actor.ip {
        Some(ip) => format!("anonymous reads from {ip}; "),
        None => String::new(),
    };
    if let Some(a) = strongest {
        why.push_str(&format!(
            "strongest: {} {} on {}, {} against a threshold of {}",
            a.severity.as_str(),
            a.detector,
            &format_rfc3339(a.start_ms)[..10],
            num(a.value),
            num(a.threshold)
        ));
    }
    why.push_str(&format!("; {}", distance(actor.profile, pop, start_ms, end_ms)));
    let list: Vec<String> = parts
        .iter()
        .filter(|p| p.weight > 0.0)
        .map(|p| {
            let n = if p.alerts > 1 { format!(" x{}", p.alerts) } else { String::new() };
            format!("{} {}{n} {:.1}", p.detector, p.severity.as_str(), p.weight)
        })
        .collect();
    why.push_str(&format!(". Score {score:.1} = {}", list.join(" + ")));
    let routine = members.iter().filter(|&&k| alerts[k].1.evidence.notes.contains_key("routine")).count();
    if routine > 0 {
        why.push_str(&format!(" ({routine} routine alerts of a service account weigh nothing)"));
    }
    why.push('.');
    Case {
        user: actor.user.to_string(),
        ip: actor.ip.map(str::to_string),
        rank: 0,
        score,
        severity,
        start_ms,
        end_ms,
        detectors: per.keys().copied().collect(),
        alerts: members,
        parts,
        why,
    }
}

/// Whole numbers without decimals, others with one.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// Distinct pages per day over all actors with reads that day: (n, Σx, Σx²).
struct Population(BTreeMap<i64, (f64, f64, f64)>);

impl Population {
    fn of(actors: &[ActorRef<'_>]) -> Self {
        let mut m: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
        for a in actors {
            for &(d, x) in &a.profile.window_days {
                let e = m.entry(d).or_default();
                let x = f64::from(x);
                e.0 += 1.0;
                e.1 += x;
                e.2 += x * x;
            }
        }
        Population(m)
    }
}

/// "peak 2026-05-17: 812 distinct pages, 27x their median of 30 over 83 days, 9.1 sd above the
/// 1,204 others that day (mean 25)".
fn distance(p: &Profile, pop: &Population, start_ms: i64, end_ms: i64) -> String {
    let (d0, d1) = (day_of(start_ms), day_of(end_ms));
    let Some(&(day, x)) = p.window_days.iter().filter(|(d, _)| *d >= d0 && *d <= d1).max_by_key(|(d, x)| (*x, -d))
    else {
        return "no pages read on the case's days".into();
    };
    let xf = f64::from(x);
    let mut s = format!("peak {}: {x} distinct pages", &format_rfc3339(day * DAY_MS)[..10]);
    // Their own other days: history and the window outside the case.
    let mut own: Vec<f64> = p.all_days.iter().filter(|(d, _)| *d < d0 || *d > d1).map(|&(_, x)| f64::from(x)).collect();
    if own.is_empty() {
        s.push_str(", no other days of their own to compare");
    } else {
        let n = own.len();
        let med = median_mad(&mut own).0;
        s.push_str(&format!(", {:.1}x their median of {} on their {n} other days", xf / med.max(1.0), num(med)));
    }
    if let Some(&(n, sum, sq)) = pop.0.get(&day) {
        // Leave the actor out, so that one outlier does not hide itself.
        let (n, sum, sq) = (n - 1.0, sum - xf, sq - xf * xf);
        if n >= 2.0 {
            let (mu, sd) = mean_std_sums(n, sum, sq);
            let z = if sd > 0.0 { format!("{:.1} sd above", (xf - mu) / sd) } else { "against".into() };
            s.push_str(&format!(", {z} the {} others that day (mean {mu:.1})", n as u64));
        }
    }
    s
}

/// The contract §6 shape: `{"user","rank","score","severity","start","end","detectors","alerts","why"}`,
/// `alerts` being the number of alerts.
impl Serialize for Case {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Case", 9)?;
        st.serialize_field("user", &self.user)?;
        st.serialize_field("rank", &self.rank)?;
        st.serialize_field("score", &self.score)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("start", &format_rfc3339(self.start_ms))?;
        st.serialize_field("end", &format_rfc3339(self.end_ms))?;
        st.serialize_field("detectors", &self.detectors)?;
        st.serialize_field("alerts", &self.alerts.len())?;
        st.serialize_field("why", &self.why)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Evidence;

    const DAY: i64 = DAY_MS;
    /// Monday 2026-03-02.
    const T0: i64 = 20_514 * DAY;

    fn alert(detector: Detector, severity: Severity, day: i64, value: f64, threshold: f64) -> Alert {
        let start_ms = T0 + day * DAY + 3_600_000;
        Alert {
            detector,
            user: String::new(),
            severity,
            start_ms,
            end_ms: start_ms + 600_000,
            value,
            threshold,
            evidence: Evidence::default(),
        }
    }

    fn profile(days: i64, pages: u32) -> Profile {
        Profile {
            window_days: (0..days).map(|d| (T0 / DAY + d, pages)).collect(),
            all_days: (-60..0).map(|d| (T0 / DAY + d, 10)).collect(),
            read_days: 40,
            span_days: 60,
            median_hours: 8,
        }
    }

    /// Cases of actors named by `users`, from (actor index, alert), in the order `finish` gives.
    fn cases_of(c: &CasesConfig, users: &[&str], alerts: Vec<(u32, Alert)>) -> Vec<Case> {
        let profiles: Vec<Profile> = users.iter().map(|_| profile(30, 20)).collect();
        let refs: Vec<ActorRef<'_>> =
            users.iter().zip(&profiles).map(|(u, p)| ActorRef { user: u, ip: None, profile: p }).collect();
        build(c, &refs, &alerts)
    }

    use Detector::*;
    use Severity::*;

    #[test]
    fn weak_alerts_add_to_a_case_but_do_not_open_one() {
        let c = CasesConfig::default();
        let alerts = vec![
            (0, alert(OffHours, Low, 1, 5.0, 3.0)),
            (0, alert(NewSpace, Low, 1, 3.0, 3.0)),
            (0, alert(SpaceBreadth, Low, 2, 6.0, 6.0)),
            (1, alert(Burst, Medium, 1, 40.0, 30.0)),
            (1, alert(OffHours, Low, 3, 5.0, 3.0)),
            (1, alert(NewSpace, Low, 20, 3.0, 3.0)),
        ];
        let cases = cases_of(&c, &["quiet", "reader"], alerts);
        assert_eq!(cases.len(), 1, "{cases:?}");
        let k = &cases[0];
        assert_eq!((k.user.as_str(), k.rank, k.score, k.severity), ("reader", 1, 5.0, Low));
        assert_eq!(k.detectors, vec![Burst, OffHours]);
        assert_eq!(k.alerts, vec![3, 4], "the new space 19 days later is not in the episode");
        assert_eq!((k.start_ms, k.end_ms), (T0 + DAY + 3_600_000, T0 + 3 * DAY + 4_200_000));
        assert!(k.why.starts_with("strongest: medium burst on 2026-03-03, 40 against a threshold of 30"), "{}", k.why);
        assert!(k.why.contains("Score 5.0 = burst medium 4.0 + off-hours low 1.0."), "{}", k.why);
    }

    #[test]
    fn episodes_are_separate_cases_ranked_by_score_then_user() {
        let c = CasesConfig::default();
        let alerts = vec![
            (0, alert(Burst, High, 1, 600.0, 500.0)),
            (0, alert(Export, Medium, 30, 1.0, 1.0)),
            (1, alert(Export, High, 1, 1.0, 1.0)),
        ];
        let cases = cases_of(&c, &["b", "a"], alerts);
        let got: Vec<(&str, u32, f64)> = cases.iter().map(|k| (k.user.as_str(), k.rank, k.score)).collect();
        assert_eq!(got, vec![("a", 1, 10.0), ("b", 2, 10.0), ("b", 3, 4.0)]);
        assert_eq!((cases[1].severity, cases[2].severity), (Medium, Low));
    }

    #[test]
    fn repeats_of_one_detector_weigh_less_than_detectors_agreeing() {
        let c = CasesConfig::default();
        let alerts = vec![
            (0, alert(Burst, Medium, 1, 40.0, 30.0)),
            (0, alert(Burst, Medium, 1, 40.0, 30.0)),
            (0, alert(Burst, Medium, 2, 40.0, 30.0)),
            (1, alert(Burst, Medium, 1, 40.0, 30.0)),
            (1, alert(Baseline, Medium, 1, 90.0, 50.0)),
            (1, alert(PeerOutlier, Medium, 1, 90.0, 51.0)),
            (1, alert(Composite, High, 1, 5.0, 3.0)),
            (2, alert(Burst, High, 1, 600.0, 500.0)),
            (2, alert(Burst, High, 2, 600.0, 500.0)),
        ];
        let cases = cases_of(&c, &["repeats", "agree", "high"], alerts);
        let got: Vec<(&str, f64, Severity)> = cases.iter().map(|k| (k.user.as_str(), k.score, k.severity)).collect();
        // 10 + 10/2 = 15 reaches high_score with a high alert; 4 + 4 + 4 (the composite weighs
        // nothing) is medium; 4 + 4/2 + 4/3 = 7.3.
        assert_eq!(got, vec![("high", 15.0, High), ("agree", 12.0, Medium), ("repeats", 7.3, Medium)]);
        assert_eq!(cases[1].detectors, vec![Burst, Baseline, PeerOutlier, Composite]);
        assert_eq!(cases[1].parts.last().map(|p| (p.detector, p.weight)), Some((Composite, 0.0)));
        assert!(cases[2].why.contains("burst medium x3 7.3"), "{}", cases[2].why);
    }

    #[test]
    fn a_service_account_is_judged_against_its_own_routine() {
        let c = CasesConfig { service_accounts: vec!["SVC-Sync".into()], ..CasesConfig::default() };
        let mut alerts: Vec<(u32, Alert)> = (0..10).map(|d| (0, alert(ApiCrawl, High, d, 10.0, 5.0))).collect();
        // Twenty times past the threshold where ten times is its routine: a departure.
        alerts.push((0, alert(ApiCrawl, High, 4, 100.0, 5.0)));
        alerts.push((0, alert(NewSource, Low, 4, 5.0, 3.0)));
        // A person doing the same is not judged by anyone's routine.
        alerts.extend((0..10).map(|d| (1, alert(ApiCrawl, High, d, 10.0, 5.0))));
        let profiles = [profile(10, 500), profile(10, 500)];
        let refs = [
            ActorRef { user: "svc-sync", ip: None, profile: &profiles[0] },
            ActorRef { user: "alice", ip: None, profile: &profiles[1] },
        ];
        let svc = judge_service_accounts(&c, &refs, &mut alerts);
        assert_eq!(svc.len(), 1);
        assert_eq!((svc[0].user.as_str(), svc[0].declared, svc[0].routine.clone()), ("svc-sync", true, vec![ApiCrawl]));
        let routine: Vec<bool> = alerts[..10].iter().map(|(_, a)| a.evidence.notes.contains_key("routine")).collect();
        assert_eq!(routine, vec![true; 10]);
        assert!(alerts[..10].iter().all(|(_, a)| a.severity == Low));
        assert_eq!(alerts[10].1.severity, High);
        assert!(alerts[10].1.evidence.notes["departure"].starts_with("20.0x past its threshold, 10.0x the median"));
        assert!(alerts[20].1.evidence.notes.is_empty() && alerts[20].1.severity == High);

        let cases = build(&c, &refs, &alerts);
        let got: Vec<(&str, f64)> = cases.iter().map(|k| (k.user.as_str(), k.score)).collect();
        // alice: 10 + 10/2 + ... + 10/10; the account: its departure and the new source.
        assert_eq!(got, vec![("alice", 29.3), ("svc-sync", 11.0)]);
        assert_eq!(cases[1].alerts.len(), 12);
        assert!(cases[1].why.contains("(10 routine alerts of a service account weigh nothing)"), "{}", cases[1].why);
    }

    #[test]
    fn a_one_day_window_still_knows_the_routine() {
        let c = CasesConfig { service_accounts: vec!["svc".into()], ..CasesConfig::default() };
        let mut alerts: Vec<(u32, Alert)> = (0..5).map(|_| (0, alert(ApiCrawl, High, 0, 10.0, 5.0))).collect();
        let day = [profile(1, 500)];
        let refs = [ActorRef { user: "svc", ip: None, profile: &day[0] }];
        let svc = judge_service_accounts(&c, &refs, &mut alerts);
        assert_eq!(svc[0].routine, vec![ApiCrawl]);
        assert!(alerts.iter().all(|(_, a)| a.severity == Low));
        assert!(build(&c, &refs, &alerts).is_empty(), "its routine opens no case");
        // Over more days, one day of alerts is not a routine.
        let mut alerts: Vec<(u32, Alert)> = (0..5).map(|_| (0, alert(ApiCrawl, High, 0, 10.0, 5.0))).collect();
        let week = [profile(2, 500)];
        let refs = [ActorRef { user: "svc", ip: None, profile: &week[0] }];
        assert!(judge_service_accounts(&c, &refs, &mut alerts)[0].routine.is_empty());
        assert!(alerts.iter().all(|(_, a)| a.severity == High));
    }

    #[test]
    fn machine_like_accounts_are_proposed_and_people_are_not() {
        let c = CasesConfig::default();
        let machine = Profile { read_days: 60, span_days: 61, median_hours: 24, ..profile(30, 100) };
        let weekdays = Profile { read_days: 43, span_days: 61, median_hours: 9, ..profile(30, 100) };
        let shifts = Profile { read_days: 61, span_days: 61, median_hours: 12, ..profile(30, 100) };
        let young = Profile { read_days: 10, span_days: 10, median_hours: 24, ..profile(10, 100) };
        let refs: Vec<ActorRef<'_>> = [&machine, &weekdays, &shifts, &young]
            .iter()
            .zip(["bot", "ann", "nurse", "new"])
            .map(|(p, u)| ActorRef { user: u, ip: None, profile: p })
            .collect();
        let svc = judge_service_accounts(&c, &refs, &mut []);
        let got: Vec<(&str, bool)> = svc.iter().map(|s| (s.user.as_str(), s.declared)).collect();
        assert_eq!(got, vec![("bot", false)]);
        assert_eq!(svc[0].reason, "reads on 60 of 61 days, 24 hours a day (median)");
        let off = CasesConfig { propose_service_accounts: false, ..CasesConfig::default() };
        assert!(judge_service_accounts(&off, &refs, &mut []).is_empty());
    }

    #[test]
    fn why_measures_the_peak_day_against_own_history_and_the_others() {
        let mut mine = profile(3, 20);
        mine.window_days[1].1 = 200;
        let others: Vec<Profile> = (0..4).map(|i| profile(3, 10 + i)).collect();
        let mut refs = vec![ActorRef { user: "x", ip: None, profile: &mine }];
        refs.extend(others.iter().map(|p| ActorRef { user: "o", ip: None, profile: p }));
        let cases = build(&CasesConfig::default(), &refs, &[(0, alert(Baseline, Medium, 0, 200.0, 50.0))]);
        let mut wide = cases[0].clone();
        assert!(
            wide.why.contains("peak 2026-03-02: 20 distinct pages, 2.0x their median of 10 on their 60 other days"),
            "{}",
            wide.why
        );
        // A case over all three days peaks on the second: (200 - 11.5) / 1.29 sd.
        wide.end_ms = T0 + 2 * DAY;
        let pop = Population::of(&refs);
        let d = distance(&mine, &pop, wide.start_ms, wide.end_ms);
        assert_eq!(d, "peak 2026-03-03: 200 distinct pages, 20.0x their median of 10 on their 60 other days, 146.0 sd above the 4 others that day (mean 11.5)");
    }

    #[test]
    fn case_json_has_the_contract_keys() {
        let cases = cases_of(&CasesConfig::default(), &["u"], vec![(0, alert(Export, High, 1, 1.0, 1.0))]);
        let text = serde_json::to_string(&cases[0]).unwrap();
        let keys = ["user", "rank", "score", "severity", "start", "end", "detectors", "alerts", "why"];
        let at: Vec<usize> = keys.iter().map(|k| text.find(&format!("\"{k}\":")).expect(k)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "contract order: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_object().unwrap().len(), keys.len());
        assert_eq!(v["detectors"], serde_json::json!(["export"]));
        assert_eq!((v["alerts"].as_u64(), v["start"].as_str()), (Some(1), Some("2026-03-03T01:00:00Z")));
    }
}
