//! `events` (raw lookback, every field and its source line) and `stats`.

use std::collections::HashMap;

use pagetrail_core::event::fold_user;
use pagetrail_core::{classify, Action, ContextPath, PageRef};
use pagetrail_store::dict::{count, lookup, name, page_ref_bytes};
use pagetrail_store::digests::DigestCursor;
use pagetrail_store::meta::load_contexts;
use pagetrail_store::users::UserMap;
use pagetrail_store::{events as ev, DictKind, EventRow, Store, Totals};

use crate::{PageMap, Result, Window};

/// Which events to show; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub user: Option<String>,
    pub page: Option<u64>,
    pub space: Option<String>,
    pub action: Option<Action>,
}

/// One event with every contract §1 field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventOut {
    pub ts_ms: i64,
    pub user: String,
    pub action: Action,
    pub page_id: Option<u64>,
    pub space: Option<String>,
    pub title: Option<String>,
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: u32,
    pub ip: String,
    pub user_agent: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub referer: String,
    pub file: String,
    pub line: u64,
    /// The source's own fields without a column, as a JSON object; empty for access logs.
    pub extra: String,
    /// Whether every answer counts it as a read (contract §3; an audit download with an
    /// access-log twin is not one, its twin is).
    pub is_read: bool,
}

/// Point lookups with a cache: an event listing names few distinct strings.
struct Names<'s> {
    store: &'s Store,
    cache: HashMap<(DictKind, u32), String>,
    pages: HashMap<u32, std::sync::Arc<ShownPage>>,
}

/// What `events` shows of a page reference, resolved once per reference.
#[derive(Default)]
struct ShownPage {
    /// The canonical page's id, when anything links the page to one.
    id: Option<u64>,
    /// The resolved space (0 = none known).
    space: u32,
    catalog_title: Option<String>,
    /// Space and title of a titled reference (this one, or an alias of the same page).
    ref_space: Option<String>,
    ref_title: Option<String>,
}

impl<'s> Names<'s> {
    fn new(store: &'s Store) -> Names<'s> {
        Names { store, cache: HashMap::new(), pages: HashMap::new() }
    }

    fn page(&mut self, pm: &PageMap, r: u32) -> Result<std::sync::Arc<ShownPage>> {
        if let Some(p) = self.pages.get(&r) {
            return Ok(p.clone());
        }
        let canon = pm.canon(r);
        let decode = |id: u32| -> Result<Option<PageRef>> {
            Ok(name(self.store, DictKind::Page, id)?.and_then(|b| pagetrail_store::dict::page_ref_from_bytes(&b)))
        };
        let meta = pagetrail_store::pages::meta(self.store, canon)?.unwrap_or_default();
        let mut shown =
            ShownPage { space: pm.space(r), catalog_title: meta.catalog.map(|(_, t)| t), ..Default::default() };
        // A catalogued page's meta names its id: no dictionary lookup (one block each).
        let canon_ref = match meta.page_id {
            Some(n) => Some(PageRef::Id(n)),
            None => decode(canon)?,
        };
        if let Some(PageRef::Id(n)) = canon_ref {
            shown.id = Some(n);
        }
        // This reference's own space and title, else (only when the catalog has no title: the
        // alias scan costs a pass over the aliases) those of a titled alias of the page. Most
        // references are their own canonical one: no second lookup.
        let mut own = if r == canon { canon_ref } else { decode(r)? };
        if !matches!(own, Some(PageRef::Titled { .. })) && shown.catalog_title.is_none() {
            own = None;
            for other in pm.refs_of(canon) {
                if let Some(t @ PageRef::Titled { .. }) = decode(other)? {
                    own = Some(t);
                    break;
                }
            }
        }
        if let Some(PageRef::Titled { space, title }) = own {
            shown.ref_space = Some(space);
            shown.ref_title = Some(title);
        }
        let shown = std::sync::Arc::new(shown);
        self.pages.insert(r, shown.clone());
        Ok(shown)
    }

    fn get(&mut self, kind: DictKind, id: u32) -> Result<String> {
        if id == 0 {
            return Ok(String::new());
        }
        if let Some(s) = self.cache.get(&(kind, id)) {
            return Ok(s.clone());
        }
        let s = name(self.store, kind, id)?.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        self.cache.insert((kind, id), s.clone());
        Ok(s)
    }
}

/// How much time `events` reads, shapes and sorts at once.
const SLICE_MS: i64 = 7 * pagetrail_core::time::DAY_MS;

/// Streams matching events in time order, then by source file and line.
pub fn events(
    store: &Store,
    window: &Window,
    filter: &EventFilter,
    mut out: impl FnMut(EventOut) -> bool,
) -> Result<()> {
    let totals = Totals::load(store)?;
    let Some(plan) = window.plan(&totals) else { return Ok(()) };
    let pm = PageMap::load(store)?;
    let um = UserMap::load(store)?;
    // Users are named by point lookups as they are shown: one person's lookback names one or
    // two, and loading every name cost 3.3 ms of a 25 ms query on a 4,000-user store.
    let user_ids: Vec<u32> = match &filter.user {
        Some(u) => match lookup(store, DictKind::User, fold_user(u).as_bytes())? {
            Some(id) => um.ids_of(um.canon(id)),
            None => return Ok(()),
        },
        None => (1..=count(store, DictKind::User)?).collect(),
    };
    let page_canon = match filter.page {
        Some(id) => match lookup(store, DictKind::Page, &page_ref_bytes(&PageRef::Id(id)))? {
            Some(r) => Some(pm.canon(r)),
            None => return Ok(()),
        },
        None => None,
    };
    let space_id = match &filter.space {
        Some(k) => lookup(store, DictKind::Space, k.as_bytes())?,
        None => None,
    };
    if filter.space.is_some() && space_id.is_none() {
        return Ok(());
    }
    let contexts = load_contexts(store)?;
    let audit = crate::audit::audit_reads(store, plan.from_ms, plan.to_ms, &pm, &um)?;
    let space = match space_id {
        Some(sid) => Some((sid, Names::new(store).get(DictKind::Space, sid)?)),
        None => None,
    };
    let ctx = ShapeCtx { contexts: &contexts, pm: &pm, um: &um, audit: &audit, space };
    // One per core: shaping is point lookups, each decompressing a dictionary block.
    let mut names = [Names::new(store), Names::new(store)];
    // Slice by slice of time, so memory holds one slice (a week of the whole site is a few
    // hundred thousand events; a year is tens of millions) and output starts at once.
    let mut cursor = ev::EventCursor::new(store);
    let mut slice_from = plan.from_ms;
    while slice_from < plan.to_ms {
        let slice_to = slice_from.saturating_add(SLICE_MS).min(plan.to_ms);
        let mut rows: Vec<(u32, EventRow)> = Vec::new();
        for &u in &user_ids {
            // One cursor for every user: a new one per user cost a seek from the top each.
            ev::scan_user_in(store, &mut cursor, u, slice_from, slice_to, |group| {
                for r in group {
                    let keep = r.ts_ms >= slice_from
                        && r.ts_ms < slice_to
                        && filter.action.is_none_or(|a| a == r.action)
                        && page_canon.is_none_or(|c| r.page != 0 && pm.canon(r.page) == c)
                        && space_id.is_none_or(|sid| might_be_in_space(&pm, r.page, sid));
                    if keep {
                        rows.push((u, r.clone()));
                    }
                }
            })?;
        }
        let mut shaped = ctx.shape_all(&mut names, &rows)?;
        shaped.sort_by(|a, b| (a.ts_ms, &a.file, a.line).cmp(&(b.ts_ms, &b.file, b.line)));
        for e in shaped {
            if !out(e) {
                return Ok(());
            }
        }
        slice_from = slice_to;
        // Request strings are nearly all distinct: a cache of every one would grow with the window.
        for n in &mut names {
            if n.cache.len() > 200_000 {
                n.cache.clear();
            }
        }
    }
    Ok(())
}

/// Whether an event of page reference `page` can be shown in space `sid` (see
/// [`ShapeCtx::shape_some`]): not when its page lies in another known space, as a page's space
/// is the one an event shows. Only events of no page, or of a page in no known space, name their
/// space by URL, so only those need shaping to tell. Shaping every event of the window first
/// took 1.4 G instructions for one day of one space on the peers site.
fn might_be_in_space(pm: &PageMap, page: u32, sid: u32) -> bool {
    let known = if page == 0 { 0 } else { pm.space(page) };
    known == 0 || known == sid
}

/// What shaping an event needs besides the names.
struct ShapeCtx<'a> {
    contexts: &'a HashMap<u32, String>,
    pm: &'a PageMap,
    um: &'a UserMap,
    audit: &'a crate::audit::AuditReads,
    /// `--space`: its id and key.
    space: Option<(u32, String)>,
}

/// Below this many rows a second thread costs more than it saves.
const SHAPE_ALONE: usize = 64;

/// Rows a shaping thread takes at a time: neighbours in time share dictionary blocks, and
/// small runs keep both threads busy to the end.
const SHAPE_RUN: usize = 16;

impl ShapeCtx<'_> {
    /// Shapes `rows` in order, on two threads when there are many: each row's names are point
    /// lookups, and on the peers site they took 22 of a 249-event lookback's 40 ms. The threads
    /// take runs of rows as they go, not half each: halves split the work 27 to 19 (instructions
    /// under callgrind), as the cost of a row depends on how many of its blocks are cached.
    fn shape_all(&self, names: &mut [Names<'_>; 2], rows: &[(u32, EventRow)]) -> Result<Vec<EventOut>> {
        let [a, b] = names;
        if rows.len() < SHAPE_ALONE {
            return self.shape_some(a, rows);
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = |names: &mut Names<'_>| -> Result<Vec<(usize, Vec<EventOut>)>> {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(run) = rows.chunks(SHAPE_RUN).nth(i) else { return Ok(out) };
                out.push((i, self.shape_some(names, run)?));
            }
        };
        let (mine, other) = std::thread::scope(|s| {
            let other = s.spawn(|| work(b));
            (work(a), other.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        });
        let mut runs = mine?;
        runs.extend(other?);
        runs.sort_unstable_by_key(|(i, _)| *i);
        Ok(runs.into_iter().flat_map(|(_, run)| run).collect())
    }

    fn shape_some(&self, names: &mut Names<'_>, rows: &[(u32, EventRow)]) -> Result<Vec<EventOut>> {
        let mut shaped = Vec::with_capacity(rows.len());
        for (u, r) in rows {
            let placed = place(names, self.contexts, self.pm, r)?;
            // `--space`: placed first, so that an event of another space names nothing more.
            if let Some((sid, key)) = &self.space {
                let in_space =
                    (r.page != 0 && self.pm.space(r.page) == *sid) || placed.space.as_deref() == Some(key.as_str());
                if !in_space {
                    continue;
                }
            }
            let mut e = name_the_rest(names, self.um.canon(*u), r, placed)?;
            e.is_read = if self.audit.is_audit(r.file, r.line) {
                self.audit.counts(r.file, r.line)
            } else {
                pagetrail_core::is_read(r.action, r.status, r.page != 0)
            };
            shaped.push(e);
        }
        Ok(shaped)
    }
}

/// What an event shows of its request and page: all that `--space` needs to judge it.
struct Placed {
    /// `path ‖ 0x00 ‖ query` as logged.
    request: String,
    method: String,
    page_id: Option<u64>,
    space: Option<String>,
    title: Option<String>,
}

fn place(names: &mut Names<'_>, contexts: &HashMap<u32, String>, pm: &PageMap, r: &EventRow) -> Result<Placed> {
    let request = names.get(DictKind::Request, r.request)?;
    let (path, query) = request.split_once('\0').unwrap_or((request.as_str(), ""));
    let method = names.get(DictKind::Method, r.method)?;
    let ctx = ContextPath::new(contexts.get(&r.file).map_or("", String::as_str));
    let cls = classify(&ctx, &method, path, query);
    // The page as every answer sees it (contract §3): the canonical page's id, its one space
    // and its title, whatever the logged URL named. The URL itself stays in path and query.
    let (mut page_id, mut space, mut title) = (cls.page_id, cls.space, cls.title);
    if r.page != 0 {
        let page = names.page(pm, r.page)?;
        page_id = page.id.or(page_id);
        if page.space != 0 {
            space = Some(names.get(DictKind::Space, page.space)?);
        } else if space.is_none() {
            space = page.ref_space.clone();
        }
        title = page.catalog_title.clone().or(title).or(page.ref_title.clone());
    }
    Ok(Placed { request, method, page_id, space, title })
}

/// The event with every field: `placed` and the names of the rest.
fn name_the_rest(names: &mut Names<'_>, u: u32, r: &EventRow, placed: Placed) -> Result<EventOut> {
    let Placed { request, method, page_id, space, title } = placed;
    let (path, query) = request.split_once('\0').unwrap_or((request.as_str(), ""));
    Ok(EventOut {
        ts_ms: r.ts_ms,
        user: Some(names.get(DictKind::User, u)?).filter(|n| !n.is_empty()).unwrap_or_else(|| "?".into()),
        action: r.action,
        page_id,
        space,
        title,
        status: r.status,
        bytes: r.bytes,
        duration_ms: r.duration_ms,
        ip: names.get(DictKind::Addr, r.addr)?,
        user_agent: names.get(DictKind::Agent, r.agent)?,
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        referer: names.get(DictKind::Referer, r.referer)?,
        file: names.get(DictKind::File, r.file)?,
        line: r.line,
        extra: names.get(DictKind::Extra, r.extra)?,
        is_read: false,
    })
}

/// What the store holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub reads: u64,
    pub lines: u64,
    pub noise: u64,
    pub rejected: u64,
    pub users: u64,
    pub pages: u64,
    pub spaces: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub bytes_on_disk: u64,
}

/// People with at least one stored event (a name only the user directory gave, or whose
/// history was purged, holds nothing): the readers among `readers`, the others by a seek.
fn users_with_history(store: &Store, um: &UserMap, readers: &roaring::RoaringBitmap) -> Result<u64> {
    let mut cur = DigestCursor::new(store);
    let mut people = std::collections::HashSet::new();
    for id in 1..=count(store, DictKind::User)? {
        // Readers are known from the page sets already read; only the others need a seek.
        if readers.contains(id) || cur.any(id)? {
            people.insert(um.canon(id));
        }
    }
    Ok(people.len() as u64)
}

pub fn stats(store: &Store) -> Result<Stats> {
    let t = Totals::load(store)?;
    let pm = PageMap::load(store)?;
    // Pages that were read at least once (a 404 names a "page" that does not exist).
    let (readers, read) = pagetrail_store::index::readers_and_pages(store)?;
    // Audit downloads are not in the totals: those without an access-log twin are reads.
    let um = UserMap::load(store)?;
    let audit_downloads = crate::audit::audit_reads(store, i64::MIN / 4, i64::MAX / 4, &pm, &um)?.counted.len();
    Ok(Stats {
        events: t.events,
        reads: t.reads + audit_downloads as u64,
        lines: t.lines,
        noise: t.noise,
        rejected: t.rejected,
        users: users_with_history(store, &um, &readers)?,
        pages: pm.distinct(&read),
        spaces: u64::from(count(store, DictKind::Space)?),
        first_ms: (t.events > 0).then_some(t.first_ms),
        last_ms: (t.events > 0).then_some(t.last_ms),
        bytes_on_disk: store.bytes_on_disk(),
    })
}
