//! `detect`: feeds every user's stored events (with enough history for baselines) to the
//! detector engine of `pagetrail-detect`, resolving names from the store only for evidence.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use pagetrail_core::PageRef;
use pagetrail_detect::{Alert, Config, DetectEvent, Engine, Names, UserEvents};
use pagetrail_index::pages::PageMeta;
use pagetrail_store::dict::{name, page_ref_from_bytes};
use pagetrail_store::users::UserMap;
use pagetrail_store::{events, Cf, Dict, DictKind, Store, Totals};

use crate::{PageMap, Result, Window};

/// What to run.
pub struct DetectParams {
    pub config: Config,
    /// Detector names; empty runs all.
    pub enabled: Vec<&'static str>,
    /// Privileged accounts given by the analyst (more are learned from `/admin/` requests).
    pub admins: BTreeSet<String>,
}

/// Store-backed names, cached per id (the engine asks for few).
struct StoreNames<'s> {
    store: &'s Store,
    cache: RefCell<HashMap<(DictKind, u32), String>>,
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
}

impl Names for StoreNames<'_> {
    fn page(&self, id: u32) -> String {
        let raw = name(self.store, DictKind::Page, id).ok().flatten();
        match raw.as_deref().and_then(page_ref_from_bytes) {
            Some(PageRef::Titled { space, title }) => format!("{space}/{title}"),
            Some(PageRef::Id(n)) => {
                let mut k = vec![b'm'];
                k.extend_from_slice(&id.to_be_bytes());
                let meta = self.store.get(Cf::Pages, &k).ok().flatten().and_then(|v| PageMeta::decode(&v).ok());
                match meta.and_then(|m| m.catalog) {
                    Some((s, t)) => format!("{}/{t} ({n})", self.text(DictKind::Space, s)),
                    None => format!("page {n}"),
                }
            }
            None => format!("page ref {id}"),
        }
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
pub fn detect(store: &Store, window: &Window, params: DetectParams) -> Result<Vec<Alert>> {
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(Vec::new()) };
    let pm = PageMap::load(store)?;
    let users = Dict::load(store, DictKind::User)?;
    let names = StoreNames { store, cache: RefCell::new(HashMap::new()) };
    let w = pagetrail_detect::Window { from_ms: plan.from_ms, to_ms: plan.to_ms };
    let mut engine = Engine::new(params.config, w, params.enabled, params.admins);
    let from = engine.history_from_ms();
    let um = UserMap::load(store)?;
    for (u, user) in users.iter() {
        if um.is_alias(u) {
            continue; // its events go with the canonical user's
        }
        let mut evs = Vec::new();
        for id in um.ids_of(u) {
            events::scan_user(store, id, from, plan.to_ms, |rows| {
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
        if evs.is_empty() {
            continue;
        }
        // Groups come in key order; a later batch may add earlier events for a day.
        evs.sort_by_key(|e| (e.ts_ms, e.file, e.line));
        engine.add_user(UserEvents { user: String::from_utf8_lossy(user).into_owned(), events: evs }, &names);
    }
    Ok(engine.finish(&names))
}
