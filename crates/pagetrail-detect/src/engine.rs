//! The engine: per-actor detectors run in `add_user` while the user's events are at hand;
//! population detectors (peer outlier, uncommon new spaces) and the composite run in `finish`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pagetrail_core::time::{day_of, DAY_MS};
use pagetrail_core::zone::Zone;

use crate::actor::{dedupe, to_alert, Actor, Draft, EvLite, Note};
use crate::cases::{self, ActorRef, Detection, Profile};
use crate::days::{self, Daily};
use crate::fasthash::IdMap;
use crate::history::{admin_ok, digest_events, HistoryDay};
use crate::novelty::{self, NewSpaceDay, Seen};
use crate::requests::{self, Requests};
use crate::stats::mean_std_sums;
use crate::volume;
use crate::{
    Alert, AllowKind, Baseline, Config, DetectEvent, Detector, DetectorSet, Evidence, Names, Severity, UserEvents,
    Window,
};

/// Instants the detectors accept: 1970 up to the year 10000, like the log parsers. Clamping
/// the window and dropping events outside keeps all day and hour arithmetic far from overflow.
const LATEST_MS: i64 = 253_402_300_800_000;

/// Day-bucket detectors skip an actor whose events span more days than this (about 110 years):
/// their per-day arrays would be absurdly large, and such spans only come from broken clocks.
pub(crate) const MAX_SPAN_DAYS: i64 = 40_000;

pub(crate) fn minutes_ms(m: u32) -> i64 {
    i64::from(m) * 60_000
}

pub(crate) fn days_ms(d: u32) -> i64 {
    i64::from(d) * DAY_MS
}

/// Statuses a request counts with when it is not a read: anything but an error (0 = none logged).
pub(crate) fn ok_status(s: u16) -> bool {
    s < 400
}

/// Lists of the configuration, lower-cased once.
pub(crate) struct Rules {
    pub terms: Vec<String>,
    pub expand_markers: Vec<String>,
    pub site_export_paths: Vec<String>,
    pub patterns: Vec<String>,
    pub empty_is_scripted: bool,
    pub allow_users: Vec<(String, i64)>,
    pub allow_agents: Vec<(String, i64)>,
    pub allow_ips: Vec<(String, i64)>,
    /// D12 zones: the site's, and single users' (lower-cased names).
    pub zone: Zone,
    pub user_zones: HashMap<String, Zone>,
}

/// What every detector reads: configuration and time bounds.
pub(crate) struct Ctx {
    pub cfg: Config,
    pub from: i64,
    pub to: i64,
    pub hist_from: i64,
    pub dedup_ms: i64,
    pub rules: Rules,
}

/// What the engine knows about a user-agent id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AgentInfo {
    /// The agent with digits, dots and underscores removed: browser updates stay one family.
    pub family: u32,
    pub scripted: bool,
    /// Allow-listed for activity before this instant (`i64::MIN`: not allow-listed).
    allow_until: i64,
}

/// Per-id lookups, bounded by the number of distinct ids, not events.
#[derive(Default)]
struct Caches {
    agents: IdMap<u32, AgentInfo>,
    families: HashMap<String, u32>,
    ip_allow: IdMap<u32, i64>,
    files: IdMap<u32, String>,
}

impl Caches {
    fn agent(&mut self, id: u32, names: &dyn Names, rules: &Rules) -> AgentInfo {
        if let Some(&g) = self.agents.get(&id) {
            return g;
        }
        let text = if id == 0 { String::new() } else { names.agent(id) };
        let lower = text.trim().to_lowercase();
        let empty = lower.is_empty() || lower == "-";
        let scripted = (rules.empty_is_scripted && empty) || rules.patterns.iter().any(|p| lower.contains(p.as_str()));
        let fam: String = lower.chars().filter(|c| !c.is_ascii_digit() && *c != '.' && *c != '_').collect();
        let next = self.families.len() as u32;
        let family = *self.families.entry(fam).or_insert(next);
        let allow_until = rules
            .allow_agents
            .iter()
            .filter(|(v, _)| !empty && lower.contains(v.as_str()))
            .map(|(_, u)| *u)
            .max()
            .unwrap_or(i64::MIN);
        let g = AgentInfo { family, scripted, allow_until };
        self.agents.insert(id, g);
        g
    }

    fn ip_allow_until(&mut self, id: u32, names: &dyn Names, rules: &Rules) -> i64 {
        if id == 0 {
            return i64::MIN;
        }
        *self.ip_allow.entry(id).or_insert_with(|| {
            let ip = names.ip(id);
            let ip = ip.trim();
            rules.allow_ips.iter().filter(|(v, _)| v == ip).map(|(_, u)| *u).max().unwrap_or(i64::MIN)
        })
    }
}

/// What `finish` needs of an actor once its events are gone: O(days) per actor.
struct ActorSummary {
    user: String,
    ip: Option<String>,
    /// Most-read space before the window (peer-group key), 0 = none.
    peer: u32,
    /// Days reaching the peer-outlier floor, with their evidence.
    peer_cands: Vec<(i64, u32, EvLite)>,
    new_space_days: Vec<NewSpaceDay>,
    profile: Profile,
    /// The actor's first event, history included.
    first_ms: i64,
}

/// Runs the detectors. Feed users with [`Engine::add_user`], then call [`Engine::finish`].
pub struct Engine {
    ctx: Ctx,
    out: DetectorSet,
    run: DetectorSet,
    admins: BTreeSet<String>,
    caches: Caches,
    actors: Vec<ActorSummary>,
    space_readers: IdMap<u32, Vec<u32>>,
    /// (actor index, alert) for every detector that ran.
    alerts: Vec<(u32, Alert)>,
}

fn lower_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| s.trim().to_lowercase()).collect()
}

impl Engine {
    /// `enabled` are the detectors to report (empty = all). `composite` needs every other
    /// detector, so enabling it runs them all. `admins` are usernames known to be privileged
    /// (`--admins FILE`).
    pub fn new(config: Config, window: Window, enabled: DetectorSet, admins: BTreeSet<String>) -> Self {
        let out = if enabled.is_empty() { DetectorSet::all() } else { enabled };
        let run = if out.contains(Detector::Composite) { DetectorSet::all() } else { out };
        let c = &config;
        let lookback = |d: Detector| -> u32 {
            match d {
                Detector::Baseline => c.baseline.baseline_days,
                Detector::PeerOutlier => c.peer_outlier.peer_baseline_days,
                Detector::NewSpace => c.new_space.lookback_days.max(c.new_space.min_history_days),
                Detector::NewSource => c
                    .new_source
                    .ip_lookback_days
                    .max(c.new_source.agent_lookback_days)
                    .max(c.new_source.min_history_days),
                Detector::ScriptedAgent => c.scripted_agent.unseen_days,
                Detector::Privileged => c.privileged.history_days,
                // Slots of the baseline days rest on their own baseline days.
                Detector::OffHours => c.off_hours.baseline_days.saturating_mul(2),
                Detector::Dormant => c.dormant.dormant_days.saturating_add(c.dormant.recent_days),
                _ => 0,
            }
        };
        let history_days = run.iter().map(lookback).max().unwrap_or(0);
        let allow = |kind: AllowKind| -> Vec<(String, i64)> {
            c.allow
                .iter()
                .filter(|a| a.kind == kind)
                // A malformed date (possible only when the config was built in code) covers nothing.
                .filter_map(|a| Some((a.value.trim().to_lowercase(), a.covers_until_ms()?)))
                .collect()
        };
        let rules = Rules {
            terms: lower_all(&c.search_then_fetch.sensitive_terms),
            expand_markers: lower_all(&c.api_crawl.expand_markers),
            site_export_paths: lower_all(&c.export.site_export_paths),
            patterns: lower_all(&c.scripted_agent.patterns),
            empty_is_scripted: c.scripted_agent.empty_is_scripted,
            allow_users: allow(AllowKind::User),
            allow_agents: allow(AllowKind::Agent),
            allow_ips: allow(AllowKind::Ip),
            // A zone that does not parse (possible only when the config was built in code) is UTC.
            zone: Zone::parse(&c.off_hours.time_zone).unwrap_or(Zone::UTC),
            user_zones: c
                .off_hours
                .user_time_zones
                .iter()
                .map(|(u, z)| (u.trim().to_lowercase(), Zone::parse(z).unwrap_or(Zone::UTC)))
                .collect(),
        };
        let dedup_ms = minutes_ms(c.dedup_minutes);
        let from = window.from_ms.clamp(0, LATEST_MS);
        let ctx = Ctx {
            from,
            to: window.to_ms.clamp(0, LATEST_MS),
            // Whole UTC days, so that stored daily digests can stand for the events.
            hist_from: (day_of(from) * DAY_MS).saturating_sub(days_ms(history_days)).max(0),
            dedup_ms,
            rules,
            cfg: config,
        };
        Engine {
            ctx,
            out,
            run,
            admins: admins.iter().map(|a| a.trim().to_lowercase()).collect(),
            caches: Caches::default(),
            actors: Vec::new(),
            space_readers: IdMap::default(),
            alerts: Vec::new(),
        }
    }

    /// How far back the caller must supply history: the longest baseline of the detectors
    /// that run (180 days with the defaults, for new-space and off-hours), in whole UTC days
    /// before the window's first day. Never before 1970.
    pub fn history_from_ms(&self) -> i64 {
        self.ctx.hist_from
    }

    /// Where history digests end and events begin for [`Engine::add_user_digests`]: midnight
    /// UTC of the window's first day.
    pub fn digests_until_ms(&self) -> i64 {
        day_of(self.ctx.from) * DAY_MS
    }

    /// Whether daily digests can stand for this user's history. They cannot for the anonymous
    /// user (one actor per address, and digests do not split by address) nor when agents or
    /// addresses are allow-listed (their events are dropped before detection, and digests
    /// cannot drop them). Then supply events with [`Engine::add_user`].
    pub fn digests_suffice(&self, user: &str) -> bool {
        user != "-" && self.ctx.rules.allow_agents.is_empty() && self.ctx.rules.allow_ips.is_empty()
    }

    /// Like [`Engine::add_user`], with the history before [`Engine::digests_until_ms`] given as
    /// daily digests (one per day, pages canonical, days in `[history_from_ms, digests_until_ms)`) and events
    /// from there on. Gives the same alerts as `add_user` with all the events. Returns false,
    /// adding nothing, when [`Engine::digests_suffice`] says no.
    pub fn add_user_digests(&mut self, user: UserEvents, mut history: Vec<HistoryDay>, names: &dyn Names) -> bool {
        if !self.digests_suffice(&user.user) {
            return false;
        }
        if self.ctx.from >= self.ctx.to {
            return true;
        }
        let UserEvents { user, mut events } = user;
        let split = self.digests_until_ms();
        self.clip(&mut events, split);
        history.sort_by_key(|h| h.day);
        history.retain(|h| h.day * DAY_MS >= self.ctx.hist_from && h.day * DAY_MS < split && !h.digest.is_empty());
        self.run_actor(&user, None, history, &events, names);
        true
    }

    /// Sorts events and keeps those in `[lo, window end)`.
    fn clip(&self, events: &mut Vec<DetectEvent>, lo: i64) {
        if !events.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms) {
            events.sort_by_key(|e| e.ts_ms);
        }
        let hi = events.partition_point(|e| e.ts_ms < self.ctx.to);
        events.truncate(hi);
        let lo = events.partition_point(|e| e.ts_ms < lo);
        events.drain(..lo);
    }

    /// Runs the per-actor detectors over one user's events. The anonymous user `-` is split
    /// into one actor per client address. Events outside `[history_from_ms, window.to_ms)` are
    /// ignored, and so are events through allow-listed agents or addresses.
    pub fn add_user(&mut self, user: UserEvents, names: &dyn Names) {
        let UserEvents { user, mut events } = user;
        if self.ctx.from >= self.ctx.to {
            return;
        }
        self.clip(&mut events, self.ctx.hist_from);

        let rules = &self.ctx.rules;
        if !rules.allow_agents.is_empty() || !rules.allow_ips.is_empty() {
            let caches = &mut self.caches;
            events.retain(|e| {
                let agent_until = if rules.allow_agents.is_empty() {
                    i64::MIN
                } else {
                    caches.agent(e.agent, names, rules).allow_until
                };
                let ip_until =
                    if rules.allow_ips.is_empty() { i64::MIN } else { caches.ip_allow_until(e.ip, names, rules) };
                e.ts_ms >= agent_until.max(ip_until)
            });
        }

        if user == "-" {
            // Anonymous requests are one actor per client address (detections.md §8 D1).
            let mut by_ip: BTreeMap<u32, Vec<DetectEvent>> = BTreeMap::new();
            for e in events {
                by_ip.entry(e.ip).or_default().push(e);
            }
            for (ip, evs) in by_ip {
                self.run_events(&user, Some(ip), &evs, names);
            }
        } else {
            self.run_events(&user, None, &events, names);
        }
    }

    /// Digests the events before the window's first day, like stored digests would.
    fn run_events(&mut self, user: &str, anon_ip: Option<u32>, ev: &[DetectEvent], names: &dyn Names) {
        let k = ev.partition_point(|e| e.ts_ms < self.digests_until_ms());
        self.run_actor(user, anon_ip, digest_events(&ev[..k]), &ev[k..], names);
    }

    /// `hist`: digests of whole days before the window's first day; `ev`: events from that
    /// day's midnight to the window's end.
    fn run_actor(
        &mut self,
        user: &str,
        anon_ip: Option<u32>,
        mut hist: Vec<HistoryDay>,
        ev: &[DetectEvent],
        names: &dyn Names,
    ) {
        // The window's first day before the window is history too.
        let w = ev.partition_point(|e| e.ts_ms < self.ctx.from);
        hist.extend(digest_events(&ev[..w]));
        let ev = &ev[w..];
        if ev.is_empty() && hist.is_empty() {
            return;
        }
        let ctx = &self.ctx;
        let run = self.run;
        let a = Actor::new(anon_ip, ev, &hist);
        let actor_idx = self.actors.len() as u32;
        let mut drafts: Vec<Draft> = Vec::new();

        let low = if run.contains(Detector::Burst)
            || run.contains(Detector::ApiCrawl)
            || run.contains(Detector::Privileged)
            || run.contains(Detector::Dormant)
        {
            volume::read_tiers(ctx, &a)
        } else {
            Vec::new()
        };
        if run.contains(Detector::Burst) {
            let mut b = low.clone();
            b.extend(volume::attachment_tier(ctx, &a));
            drafts.extend(dedupe(b, ctx.dedup_ms));
        }
        if run.contains(Detector::SpaceBreadth) {
            drafts.extend(volume::space_breadth(ctx, &a));
        }
        if run.contains(Detector::DeniedProbing) {
            drafts.extend(volume::denied(ctx, &a));
        }
        if run.contains(Detector::ApiCrawl) || run.contains(Detector::SearchThenFetch) || run.contains(Detector::Export)
        {
            let rq = Requests::build(
                ctx,
                &a,
                names,
                run.contains(Detector::ApiCrawl),
                run.contains(Detector::SearchThenFetch),
                run.contains(Detector::Export),
            );
            if run.contains(Detector::ApiCrawl) {
                drafts.extend(requests::api_crawl(ctx, &a, &rq, &low));
            }
            if run.contains(Detector::SearchThenFetch) {
                drafts.extend(requests::search_then_fetch(ctx, &a, &rq));
            }
            if run.contains(Detector::Export) {
                let site = rq.site_exports(&a);
                drafts.extend(volume::exports(ctx, &a, &site));
            }
        }
        // Cases need the daily counts whichever detectors run.
        let daily = Daily::new(&a);
        let base = match (&daily, run.contains(Detector::Baseline)) {
            (Some(dc), true) => days::baseline(ctx, &a, dc),
            _ => Vec::new(),
        };
        if run.contains(Detector::NewSource) || run.contains(Detector::ScriptedAgent) {
            let agents: Vec<AgentInfo> = a.ev.iter().map(|e| self.caches.agent(e.agent, names, &ctx.rules)).collect();
            let seen = Seen::of(&a, |id| self.caches.agent(id, names, &ctx.rules).family);
            if run.contains(Detector::NewSource) {
                let mut boost = low.clone();
                boost.extend(base.iter().cloned());
                drafts.extend(novelty::new_sources(ctx, &a, &agents, &seen, &boost));
            }
            if run.contains(Detector::ScriptedAgent) {
                drafts.extend(novelty::scripted(ctx, &a, &agents, &seen));
            }
        }
        drafts.extend(base);
        if run.contains(Detector::Privileged) && anon_ip.is_none() && !low.is_empty() {
            let listed = self.admins.contains(&user.to_lowercase());
            // Learned privilege starts with the first admin action (an `/admin/` request, or an
            // audit record of a permission, group or other administration change). A history
            // day gives no time of day, so it counts from that day's first event: both detect
            // paths see the same digests, so they agree.
            let (admin_requests, since) = if ctx.cfg.privileged.learn_from_admin_requests {
                let hist = a.hist.iter().filter(|h| h.digest.admin_ok > 0);
                let before: u64 = hist.clone().map(|h| u64::from(h.digest.admin_ok)).sum();
                let first_hist = hist.map(|h| h.first_ms()).min();
                let mut window = a.ev.iter().filter(|e| admin_ok(e));
                let first_window = window.clone().map(|e| e.ts_ms).min();
                (before + window.by_ref().count() as u64, first_hist.or(first_window))
            } else {
                (0, None)
            };
            if listed || admin_requests > 0 {
                drafts.extend(novelty::privileged(&low, listed, admin_requests, since));
            }
        }
        if run.contains(Detector::OffHours) {
            let rules = &ctx.rules;
            let zone = match anon_ip {
                Some(_) => rules.zone,
                None => rules.user_zones.get(&user.to_lowercase()).copied().unwrap_or(rules.zone),
            };
            drafts.extend(days::off_hours(ctx, &a, zone));
        }
        if run.contains(Detector::Dormant) {
            drafts.extend(novelty::dormant(ctx, &a, &low));
        }

        let ip = anon_ip.map(|ip| names.ip(ip));
        let mut summary = ActorSummary {
            user: user.to_string(),
            ip: ip.clone(),
            peer: 0,
            peer_cands: Vec::new(),
            new_space_days: Vec::new(),
            profile: profile(&a, daily.as_ref()),
            first_ms: a.first_ts(),
        };
        if run.contains(Detector::PeerOutlier) || run.contains(Detector::NewSpace) {
            summary.peer = novelty::most_read_space(ctx, &a);
        }
        if let (Some(dc), true) = (&daily, run.contains(Detector::PeerOutlier)) {
            let floor = ctx.cfg.peer_outlier.min_distinct;
            for &(day, x) in dc.win.iter().filter(|(_, x)| *x >= floor) {
                let reads = a.reads_between((day * DAY_MS).max(ctx.from), (day + 1) * DAY_MS);
                summary.peer_cands.push((day, x, EvLite::of(a.ev, reads.iter().copied())));
            }
        }
        if run.contains(Detector::NewSpace) {
            summary.new_space_days = novelty::new_spaces(ctx, &a);
            for s in novelty::read_spaces(&a) {
                self.space_readers.entry(s).or_default().push(actor_idx);
            }
        }
        for d in drafts {
            let alert = to_alert(d, user, ip.as_deref(), names, &mut self.caches.files);
            self.alerts.push((actor_idx, alert));
        }
        self.actors.push(summary);
    }

    /// Runs the population detectors and the composite, judges service accounts against their
    /// routine, applies the output selection and the user allow-list, and groups the alerts
    /// into ranked cases. Alerts come by severity (high first), then start, then user.
    pub fn finish(mut self, names: &dyn Names) -> Detection {
        let mut alerts = std::mem::take(&mut self.alerts);
        // An account first seen in the data's first `recent_days` may be old: the data just
        // starts there (a year of a 5,000-user site had 314 "new account" alerts in its first
        // month, all on one long-standing integration account).
        let data_start = self.actors.iter().map(|s| s.first_ms).min().unwrap_or(0);
        let young = data_start.saturating_add(days_ms(self.ctx.cfg.dormant.recent_days));
        let actors = &self.actors;
        alerts.retain(|(ai, a)| {
            let new_account = a.detector == Detector::Dormant && a.evidence.counts.contains_key("account_age_days");
            !new_account || actors.get(*ai as usize).is_some_and(|s| s.first_ms >= young)
        });
        if self.run.contains(Detector::PeerOutlier) {
            alerts.extend(self.peer_outliers(names));
        }
        if self.run.contains(Detector::NewSpace) {
            alerts.extend(self.new_space_alerts(names));
        }
        if self.run.contains(Detector::Composite) {
            let comp = self.composite(&alerts);
            alerts.extend(comp);
        }
        let refs: Vec<ActorRef<'_>> =
            self.actors.iter().map(|s| ActorRef { user: &s.user, ip: s.ip.as_deref(), profile: &s.profile }).collect();
        let service_accounts = cases::judge_service_accounts(&self.ctx.cfg.cases, &refs, &mut alerts);
        let users = &self.ctx.rules.allow_users;
        let out = self.out;
        let mut alerts: Vec<(u32, Alert)> = alerts
            .into_iter()
            .filter(|(_, a)| {
                let user = a.user.to_lowercase();
                out.contains(a.detector) && !users.iter().any(|(u, until)| *u == user && a.start_ms < *until)
            })
            .collect();
        alerts.sort_by(|(_, a), (_, b)| {
            b.severity
                .cmp(&a.severity)
                .then(a.start_ms.cmp(&b.start_ms))
                .then(a.user.cmp(&b.user))
                .then(a.detector.cmp(&b.detector))
                .then(a.evidence.notes.get("ip").cmp(&b.evidence.notes.get("ip")))
                .then(a.end_ms.cmp(&b.end_ms))
        });
        let cases = cases::build(&self.ctx.cfg.cases, &refs, &alerts);
        Detection { alerts: alerts.into_iter().map(|(_, a)| a).collect(), cases, service_accounts }
    }

    /// D4: a window day's distinct pages against the other actors active that day (leave-one-out
    /// mean and stddev, so one actor cannot hide its own outlier), and against its peers (same
    /// most-read space) when there are at least `min_peers` of them. The peer test is reported
    /// when both fire: it is the more specific.
    fn peer_outliers(&mut self, names: &dyn Names) -> Vec<(u32, Alert)> {
        let c = &self.ctx.cfg.peer_outlier;
        type Sums = (f64, f64, f64);
        let add = |s: &mut Sums, x: f64| {
            s.0 += 1.0;
            s.1 += x;
            s.2 += x * x;
        };
        let mut pop: IdMap<i64, Sums> = IdMap::default();
        let mut grp: IdMap<(u32, i64), Sums> = IdMap::default();
        for s in &self.actors {
            // The window's days: peer outliers run over everyone's, as cases do.
            for &(d, x) in &s.profile.window_days {
                add(pop.entry(d).or_default(), f64::from(x));
                if s.peer != 0 {
                    add(grp.entry((s.peer, d)).or_default(), f64::from(x));
                }
            }
        }
        let mut out = Vec::new();
        for (ai, s) in self.actors.iter().enumerate() {
            for (d, x, ev) in &s.peer_cands {
                let xf = f64::from(*x);
                let test = |st: Option<&Sums>, min_n: u32| -> Option<(f64, f64, f64, f64)> {
                    let &(n, sum, sq) = st?;
                    let (n, sum, sq) = (n - 1.0, sum - xf, sq - xf * xf);
                    if n < f64::from(min_n) {
                        return None;
                    }
                    let (mu, sd) = mean_std_sums(n, sum, sq);
                    let t = mu + c.sigmas * sd;
                    (xf > t).then_some((t, mu, sd, n))
                };
                let peer = if s.peer != 0 { test(grp.get(&(s.peer, *d)), c.min_peers) } else { None };
                let (method, key, (t, mu, sd, n)) = match (peer, test(pop.get(d), c.min_population)) {
                    (Some(p), _) => ("peer mean/stddev", "peer_group_actors", p),
                    (None, Some(p)) => ("population mean/stddev", "population_actors", p),
                    _ => continue,
                };
                let threshold = t.max(f64::from(c.min_distinct));
                let severity = if xf >= c.medium_ratio * threshold { Severity::Medium } else { Severity::Low };
                let mut draft = Draft::new(Detector::PeerOutlier, severity, xf, threshold, ev.clone())
                    .with_baseline(Baseline { method: method.into(), center: mu, spread: sd, days: 1 })
                    .count("distinct_pages", *x)
                    .count(key, n as u64);
                if peer.is_some() {
                    draft = draft.note("peer_space", Note::Spaces(vec![s.peer]));
                }
                let alert = to_alert(draft, &s.user, s.ip.as_deref(), names, &mut self.caches.files);
                out.push((ai as u32, alert));
            }
        }
        out
    }

    /// D5: a window day with at least `min_new_spaces` first-seen spaces, or with a first-seen
    /// space that fewer than `uncommon_fraction` of the actor's peers read (peers: same
    /// most-read space; the whole population when the group is smaller than `min_peers`).
    /// "Read it" is judged over all supplied events, history and window. Low; medium when both.
    fn new_space_alerts(&mut self, names: &dyn Names) -> Vec<(u32, Alert)> {
        let c = &self.ctx.cfg.new_space;
        let mut group: IdMap<u32, u32> = IdMap::default();
        for s in &self.actors {
            if s.peer != 0 {
                *group.entry(s.peer).or_default() += 1;
            }
        }
        // Readers of each space per peer group, so each test is O(1).
        let mut by_group: IdMap<(u32, u32), u32> = IdMap::default();
        for (&space, readers) in &self.space_readers {
            for &r in readers {
                let peer = self.actors.get(r as usize).map_or(0, |s| s.peer);
                *by_group.entry((space, peer)).or_default() += 1;
            }
        }
        let population = self.actors.len().saturating_sub(1) as f64;
        let mut out = Vec::new();
        for (ai, s) in self.actors.iter().enumerate() {
            let peers = if s.peer == 0 { 0 } else { group.get(&s.peer).copied().unwrap_or(1).saturating_sub(1) };
            let use_peers = peers >= c.min_peers;
            let others = if use_peers { f64::from(peers) } else { population };
            for nd in &s.new_space_days {
                let mut uncommon: Vec<(u32, f64)> = Vec::new();
                if others >= f64::from(c.min_peers) {
                    for f in &nd.firsts {
                        // The actor itself is among the readers: it read the space that day.
                        let readers = if use_peers {
                            by_group.get(&(f.space, s.peer)).copied().unwrap_or(0)
                        } else {
                            self.space_readers.get(&f.space).map_or(0, |r| r.len() as u32)
                        };
                        let frac = f64::from(readers.saturating_sub(1)) / others;
                        if frac < c.uncommon_fraction {
                            uncommon.push((f.space, frac));
                        }
                    }
                }
                let n = nd.firsts.len() as u64;
                let by_count = n >= u64::from(c.min_new_spaces);
                if !by_count && uncommon.is_empty() {
                    continue;
                }
                // A weak signal on its own: it adds to a case (contract §6), so it stays low.
                let severity = Severity::Low;
                let (value, threshold, ev) = if by_count {
                    (n as f64, f64::from(c.min_new_spaces), nd.evidence(|_| true))
                } else {
                    let min = uncommon.iter().map(|u| u.1).fold(f64::INFINITY, f64::min);
                    let ev = nd.evidence(|f| uncommon.iter().any(|u| u.0 == f.space));
                    (min, c.uncommon_fraction, ev)
                };
                let spaces: Vec<u32> = nd.firsts.iter().take(5).map(|f| f.space).collect();
                let mut draft = Draft::new(Detector::NewSpace, severity, value, threshold, ev)
                    .count("new_spaces", n)
                    .count("uncommon_new_spaces", uncommon.len() as u64)
                    .count("lookback_days", c.lookback_days)
                    .count(if use_peers { "peer_group_actors" } else { "population_actors" }, others as u64)
                    .note("new_spaces", Note::Spaces(spaces));
                if !uncommon.is_empty() {
                    let u = uncommon.iter().take(5).map(|u| u.0).collect();
                    draft = draft.note("uncommon_spaces", Note::Spaces(u));
                }
                let alert = to_alert(draft, &s.user, s.ip.as_deref(), names, &mut self.caches.files);
                out.push((ai as u32, alert));
            }
        }
        out
    }

    /// D17 per actor and UTC day (of each alert's start): the sum of the weights of the
    /// detectors that fired, where `high_weight_detectors` weigh `high_weight` at high severity.
    /// Reported at `min_score`, or at `min_detectors` detectors of non-zero weight.
    fn composite(&self, alerts: &[(u32, Alert)]) -> Vec<(u32, Alert)> {
        let c = &self.ctx.cfg.composite;
        let mut groups: BTreeMap<(u32, i64), Vec<usize>> = BTreeMap::new();
        for (k, (actor, a)) in alerts.iter().enumerate() {
            if a.detector != Detector::Composite {
                groups.entry((*actor, day_of(a.start_ms))).or_default().push(k);
            }
        }
        let mut out = Vec::new();
        for ((actor, _), ks) in groups {
            let mut per: BTreeMap<Detector, (u32, u64)> = BTreeMap::new();
            for &k in &ks {
                let a = &alerts[k].1;
                let w = if a.severity == Severity::High && c.high_weight_detectors.contains(&a.detector) {
                    c.high_weight
                } else {
                    c.weights.get(&a.detector).copied().unwrap_or(0)
                };
                let e = per.entry(a.detector).or_insert((0, 0));
                e.0 = e.0.max(w);
                e.1 += 1;
            }
            let score: u32 = per.values().map(|(w, _)| *w).sum();
            let fired: Vec<Detector> = per.iter().filter(|(_, (w, _))| *w > 0).map(|(d, _)| *d).collect();
            let n = fired.len() as u32;
            if score < c.min_score && n < c.min_detectors {
                continue;
            }
            // Many weak signals make a case worth reading, not an emergency: high also needs
            // one of its parts to be high (a year of a 5,000-user site without incidents had
            // 324 high composites from medium and low parts alone). Below that it is low: the
            // cases rank the rest (generated sites had medium composites on 1 in 300 user-days).
            let any_high = ks.iter().any(|&k| alerts[k].1.severity == Severity::High);
            let severity = if score >= c.high_score && any_high { Severity::High } else { Severity::Low };
            let (value, threshold) = if score >= c.min_score { (score, c.min_score) } else { (n, c.min_detectors) };
            let mut counts = BTreeMap::new();
            counts.insert("score".to_string(), u64::from(score));
            counts.insert("detectors".to_string(), u64::from(n));
            for (d, (_, cnt)) in &per {
                counts.insert(d.name().to_string(), *cnt);
            }
            let mut pages: Vec<String> = Vec::new();
            let (mut first, mut last) = (&alerts[ks[0]].1, &alerts[ks[0]].1);
            for &k in &ks {
                let a = &alerts[k].1;
                if a.start_ms < first.start_ms {
                    first = a;
                }
                if a.end_ms > last.end_ms {
                    last = a;
                }
                for p in &a.evidence.example_pages {
                    if pages.len() < 5 && !pages.contains(p) {
                        pages.push(p.clone());
                    }
                }
            }
            let mut notes = BTreeMap::new();
            if let Some(ip) = first.evidence.notes.get("ip") {
                notes.insert("ip".to_string(), ip.clone());
            }
            let names: Vec<&str> = fired.iter().map(|d| d.name()).collect();
            notes.insert("detectors".to_string(), names.join(", "));
            let alert = Alert {
                detector: Detector::Composite,
                user: first.user.clone(),
                severity,
                start_ms: first.start_ms,
                end_ms: last.end_ms,
                value: f64::from(value),
                threshold: f64::from(threshold),
                evidence: Evidence {
                    counts,
                    baseline: None,
                    example_pages: pages,
                    first_source: first.evidence.first_source.clone(),
                    last_source: last.evidence.last_source.clone(),
                    notes,
                },
            };
            out.push((actor, alert));
        }
        out
    }
}

/// What cases need of an actor: its window days, its own median day, and how machine-like it reads.
fn profile(a: &Actor<'_>, daily: Option<&Daily>) -> Profile {
    let mut p = Profile::default();
    if let Some(dc) = daily {
        p.window_days = dc.win.clone();
        p.all_days =
            dc.days.iter().enumerate().filter(|(_, &x)| x > 0).map(|(i, &x)| (dc.day0 + i as i64, x)).collect();
    }
    // Hours of the day with reads, per day with reads.
    let mut hours: BTreeMap<i64, u32> = BTreeMap::new();
    for h in a.hist.iter().filter(|h| !h.digest.pages.is_empty()) {
        let mask = (0..24)
            .filter(|k| h.digest.quarters[k * 4..k * 4 + 4].iter().any(|&q| q > 0))
            .fold(0u32, |m, k| m | 1 << k);
        *hours.entry(h.day).or_default() |= mask;
    }
    for &i in &a.reads {
        let ts = a.ts(i);
        *hours.entry(day_of(ts)).or_default() |= 1 << ((ts - day_of(ts) * DAY_MS) / 3_600_000);
    }
    if let (Some((&d0, _)), Some((&d1, _))) = (hours.first_key_value(), hours.last_key_value()) {
        p.read_days = hours.len() as u32;
        p.span_days = u32::try_from(d1 - d0 + 1).unwrap_or(u32::MAX);
        let mut per: Vec<u32> = hours.values().map(|m| m.count_ones()).collect();
        per.sort_unstable();
        p.median_hours = per[per.len() / 2];
    }
    p
}
