//! `detect`: feeds every user to the detector engine of `pagetrail-detect`: the history its
//! baselines need as the stored daily digests (`user_digest`), the window as stored events,
//! resolving names from the store only for evidence.

use std::cell::RefCell;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use pagetrail_core::time::day_of;
use pagetrail_core::PageRef;
use pagetrail_detect::{Config, DetectEvent, Detection, DetectorSet, Engine, HistoryDay, Names, UserEvents};
use pagetrail_index::digest::DayDigest;
use pagetrail_store::dict::{name, page_ref_from_bytes};
use pagetrail_store::digests::DigestCursor;
use pagetrail_store::events::EventCursor;
use pagetrail_store::users::UserMap;
use pagetrail_store::{events, Dict, DictKind, Store, Totals};

use crate::{PageMap, Result, Window};

/// What to run.
pub struct DetectParams {
    pub config: Config,
    /// The detectors to report; empty runs all.
    pub enabled: DetectorSet,
    /// Privileged accounts given by the analyst (more are learned from `/admin/` requests).
    pub admins: BTreeSet<String>,
    /// Rescan raw events for the history instead of reading the daily digests (slower; the
    /// alerts are the same, which is how the digests are checked).
    pub raw_history: bool,
}

/// Store-backed names, cached per id (the engine asks for few).
struct StoreNames<'s> {
    store: &'s Store,
    cache: RefCell<HashMap<(DictKind, u32), String>>,
    pages: RefCell<HashMap<u32, String>>,
}

impl StoreNames<'_> {
    fn text(&self, kind: DictKind, id: u32) -> String {
        if id == 0 {
            return String::new();
        }
        if let Some(s) = self.cache.borrow().get(&(kind, id)) {
            return s.clone();
        }
        let s = name(self.store, kind, id)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        self.cache.borrow_mut().insert((kind, id), s.clone());
        s
    }

    fn page_uncached(&self, id: u32) -> String {
        let raw = name(self.store, DictKind::Page, id).ok().flatten();
        match raw.as_deref().and_then(page_ref_from_bytes) {
            Some(PageRef::Titled { space, title }) => format!("{space}/{title}"),
            Some(PageRef::Id(n)) => {
                let meta = pagetrail_store::pages::meta(self.store, id).ok().flatten();
                match meta.and_then(|m| m.catalog) {
                    Some((s, t)) => format!("{}/{t} ({n})", self.text(DictKind::Space, s)),
                    None => format!("page {n}"),
                }
            }
            None => format!("page ref {id}"),
        }
    }
}

impl Names for StoreNames<'_> {
    fn page(&self, id: u32) -> String {
        // Tens of thousands of alerts show a few pages each, mostly the same ones.
        if let Some(s) = self.pages.borrow().get(&id) {
            return s.clone();
        }
        let s = self.page_uncached(id);
        self.pages.borrow_mut().insert(id, s.clone());
        s
    }
    fn space(&self, id: u32) -> String {
        self.text(DictKind::Space, id)
    }
    fn ip(&self, id: u32) -> String {
        self.text(DictKind::Addr, id)
    }
    fn agent(&self, id: u32) -> String {
        self.text(DictKind::Agent, id)
    }
    fn request(&self, id: u32) -> (String, String) {
        let r = self.text(DictKind::Request, id);
        let (p, q) = r.split_once('\0').unwrap_or((r.as_str(), ""));
        (p.to_owned(), q.to_owned())
    }
    fn file(&self, id: u32) -> String {
        self.text(DictKind::File, id)
    }
}

/// Runs the detectors over the window (the whole store when unbounded).
pub fn detect(store: &Store, window: &Window, params: DetectParams) -> Result<Detection> {
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(Detection::default()) };
    let pm = PageMap::load(store)?;
    let users = Dict::load(store, DictKind::User)?;
    let names = StoreNames { store, cache: RefCell::new(HashMap::new()), pages: RefCell::new(HashMap::new()) };
    let w = pagetrail_detect::Window { from_ms: plan.from_ms, to_ms: plan.to_ms };
    let mut engine = Engine::new(params.config, w, params.enabled, params.admins);
    let hist_from = engine.history_from_ms();
    let split = engine.digests_until_ms();
    let um = UserMap::load(store)?;
    let mut digests = DigestCursor::new(store);
    let mut event_cur = EventCursor::new(store);
    for (u, user) in users.iter() {
        if um.is_alias(u) {
            continue; // its events go with the canonical user's
        }
        let user = String::from_utf8_lossy(user).into_owned();
        let ids = um.ids_of(u);
        let use_digests = !params.raw_history && engine.digests_suffice(&user);
        let from = if use_digests { split } else { hist_from };
        let mut evs = Vec::new();
        for &id in &ids {
            events::scan_user_in(store, &mut event_cur, id, from, plan.to_ms, |rows| {
                evs.extend(rows.iter().filter(|r| r.ts_ms >= from && r.ts_ms < plan.to_ms).map(|r| DetectEvent {
                    ts_ms: r.ts_ms,
                    action: r.action,
                    page: if r.page == 0 { 0 } else { pm.canon(r.page) },
                    space: pm.space(r.page),
                    status: r.status,
                    bytes: r.bytes,
                    ip: r.addr,
                    agent: r.agent,
                    request: r.request,
                    file: r.file,
                    line: r.line,
                }));
            })?;
        }
        // Groups come in key order; a later batch may add earlier events for a day.
        evs.sort_by_key(|e| (e.ts_ms, e.file, e.line));
        if use_digests {
            let history = load_history(store, &mut digests, &ids, hist_from, split, &pm)?;
            if evs.is_empty() && history.is_empty() {
                continue;
            }
            engine.add_user_digests(UserEvents { user, events: evs }, history, &names);
        } else if !evs.is_empty() {
            engine.add_user(UserEvents { user, events: evs }, &names);
        }
    }
    Ok(engine.finish(&names))
}

/// The daily digests of a person's ids in `[from_ms, to_ms)` (whole days), folded per day,
/// with pages made canonical.
fn load_history(
    store: &Store,
    cur: &mut DigestCursor<'_>,
    ids: &[u32],
    from_ms: i64,
    to_ms: i64,
    pm: &PageMap,
) -> Result<Vec<HistoryDay>> {
    let (d0, d1) = (day_of(from_ms).max(0) as u32, day_of(to_ms).max(0) as u32);
    let mut days: BTreeMap<u32, DayDigest> = BTreeMap::new();
    for &id in ids {
        cur.days(store, id, d0, d1, |day, d| match days.entry(day) {
            Entry::Vacant(e) => {
                e.insert(d);
            }
            Entry::Occupied(mut e) => e.get_mut().absorb(&d),
        })?;
    }
    Ok(days
        .into_iter()
        .map(|(day, mut d)| {
            let spaces = if d.pages.iter().all(|p| pm.canon(p.page) == p.page) {
                d.pages.iter().map(|p| pm.space(p.page)).collect()
            } else {
                // Pages linked to one canonical page fold into it, with the space a reference
                // gives it, as an event of that reference would.
                let mut space_of: HashMap<u32, u32> = HashMap::new();
                for p in &d.pages {
                    space_of.entry(pm.canon(p.page)).or_insert_with(|| pm.space(p.page));
                }
                d.map_pages(|r| pm.canon(r));
                d.pages.iter().map(|p| space_of.get(&p.page).copied().unwrap_or(0)).collect()
            };
            HistoryDay { day: i64::from(day), digest: d, spaces }
        })
        .collect())
}
