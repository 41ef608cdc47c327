//! `user U`: one account's reading, recounted from its own events (one contiguous key range).

use std::collections::{BTreeMap, HashMap};

use pagetrail_core::event::fold_user;
use pagetrail_core::is_read;
use pagetrail_core::time::day_of;
use pagetrail_store::dict::{lookup, name};
use pagetrail_store::users::UserMap;
use pagetrail_store::{events, DictKind, Store, Totals};
use roaring::RoaringBitmap;

use crate::{PageMap, Result, Window};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayRow {
    pub day: i64,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpaceRow {
    pub space: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceRow {
    pub ip: String,
    pub user_agent: String,
    pub events: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserSummary {
    pub user: String,
    /// False when the store has never seen this user.
    pub known: bool,
    pub events: u64,
    pub distinct_pages: u64,
    pub distinct_spaces: u64,
    pub bytes: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub days: Vec<DayRow>,
    pub spaces: Vec<SpaceRow>,
    pub sources: Vec<SourceRow>,
}

#[derive(Default)]
struct Part {
    events: u64,
    bytes: u64,
    pages: RoaringBitmap,
}

/// One user's reads in the window.
pub fn user_summary(store: &Store, window: &Window, user: &str) -> Result<UserSummary> {
    let user = fold_user(user).into_owned();
    let mut out = UserSummary { user: user.clone(), ..Default::default() };
    let Some(uid) = lookup(store, DictKind::User, user.as_bytes())? else { return Ok(out) };
    out.known = true;
    // The person behind a key or account id, with every name they were logged under.
    let um = UserMap::load(store)?;
    let canon = um.canon(uid);
    if canon != uid {
        out.user =
            name(store, DictKind::User, canon)?.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or(user);
    }
    let ids = um.ids_of(canon);
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(out) };
    let pm = PageMap::load(store)?;
    let audit = crate::audit::audit_reads(store, plan.from_ms, plan.to_ms, &pm, &um)?;
    let mut all = Part::default();
    let mut days: BTreeMap<i64, Part> = BTreeMap::new();
    let mut spaces: HashMap<u32, Part> = HashMap::new();
    let mut sources: HashMap<(u32, u32), SourceRow> = HashMap::new();
    for uid in ids {
        events::scan_user(store, uid, plan.from_ms, plan.to_ms, |rows| {
            for r in rows {
                if r.ts_ms < plan.from_ms || r.ts_ms >= plan.to_ms || r.page == 0 || !is_read(r.action, r.status, true)
                {
                    continue;
                }
                // An audit download whose access-log line is stored too is that one read.
                if audit.is_audit(r.file, r.line) && !audit.counts(r.file, r.line) {
                    continue;
                }
                for part in [&mut all, days.entry(day_of(r.ts_ms)).or_default()] {
                    part.events += 1;
                    part.bytes += r.bytes;
                    part.pages.insert(r.page);
                }
                let s = pm.space(r.page);
                if s != 0 {
                    let part = spaces.entry(s).or_default();
                    part.events += 1;
                    part.bytes += r.bytes;
                    part.pages.insert(r.page);
                }
                let src = sources.entry((r.addr, r.agent)).or_insert(SourceRow {
                    first_ms: r.ts_ms,
                    last_ms: r.ts_ms,
                    ..Default::default()
                });
                src.events += 1;
                src.first_ms = src.first_ms.min(r.ts_ms);
                src.last_ms = src.last_ms.max(r.ts_ms);
                out.first_ms = Some(out.first_ms.map_or(r.ts_ms, |f| f.min(r.ts_ms)));
                out.last_ms = Some(out.last_ms.map_or(r.ts_ms, |l| l.max(r.ts_ms)));
            }
        })?;
    }
    out.events = all.events;
    out.bytes = all.bytes;
    out.distinct_pages = pm.distinct(&all.pages);
    out.distinct_spaces = pm.distinct_spaces(&all.pages);
    out.days = days
        .into_iter()
        .map(|(day, p)| DayRow { day, events: p.events, distinct_pages: pm.distinct(&p.pages), bytes: p.bytes })
        .collect();
    let text = |kind, id: u32| -> Result<String> {
        Ok(if id == 0 {
            String::new()
        } else {
            name(store, kind, id)?.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
        })
    };
    for (s, p) in spaces {
        out.spaces.push(SpaceRow {
            space: text(DictKind::Space, s)?,
            events: p.events,
            distinct_pages: pm.distinct(&p.pages),
            bytes: p.bytes,
        });
    }
    out.spaces.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.space.cmp(&b.space)));
    for ((addr, agent), mut row) in sources {
        row.ip = text(DictKind::Addr, addr)?;
        row.user_agent = text(DictKind::Agent, agent)?;
        out.sources.push(row);
    }
    out.sources
        .sort_by(|a, b| b.events.cmp(&a.events).then_with(|| (&a.ip, &a.user_agent).cmp(&(&b.ip, &b.user_agent))));
    Ok(out)
}
