//! Dictionaries: every repeated string (user, space, page, agent, address, request, ...) becomes a dense u32.
//!
//! Layout in the `dict` column family: `'f' kind bytes -> id` and `'r' kind id -> bytes`. Ids
//! start at 1 (0 means "none") and are never reused, so bitmaps over them stay valid forever.

#[cfg(feature = "db")]
use std::collections::HashMap;

#[cfg(feature = "db")]
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use pagetrail_core::PageRef;

#[cfg(feature = "db")]
use crate::{Batch, Cf, Result, Store};

/// What a dictionary holds. The byte is on disk: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DictKind {
    User = 1,
    Space = 2,
    Page = 3,
    Agent = 4,
    Addr = 5,
    Request = 6,
    Referer = 7,
    Method = 8,
    /// Source file names as given on the command line (chain of custody).
    File = 9,
    /// A source's own fields without a column, as a JSON object.
    Extra = 10,
}

impl DictKind {
    /// Kinds that readers look up by name (`--user`, `--space`, `--page`, `--file`). The others
    /// are only ever resolved by id, so their name -> id keys would be dead weight on disk: the
    /// writer rebuilds that direction in memory from the id -> name keys.
    pub fn looked_up_by_name(self) -> bool {
        matches!(self, DictKind::User | DictKind::Space | DictKind::Page | DictKind::File)
    }

    /// Kinds whose ids nothing compares, counts or indexes: an answer only shows their text
    /// (the request is classified from its text). Two ids with one text change no answer, so
    /// the writer may forget old names of these kinds ([`Interner`]). Addresses and agents are
    /// not among them: detectors compare their ids.
    pub fn only_shown(self) -> bool {
        matches!(self, DictKind::Request | DictKind::Referer | DictKind::Extra)
    }
}

#[cfg(feature = "db")]
fn fwd_key(kind: DictKind, bytes: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(bytes.len() + 2);
    k.extend_from_slice(&[b'f', kind as u8]);
    k.extend_from_slice(bytes);
    k
}

#[cfg(feature = "db")]
fn rev_key(kind: DictKind, id: u32) -> [u8; 6] {
    let mut k = [b'r', kind as u8, 0, 0, 0, 0];
    k[2..].copy_from_slice(&id.to_be_bytes());
    k
}

#[cfg(feature = "db")]
/// One dictionary held in memory by the writer.
pub struct Dict {
    kind: DictKind,
    fwd: FastMap<Box<[u8]>, u32>,
    rev: Vec<Box<[u8]>>,
}

#[cfg(feature = "db")]
impl Dict {
    /// Loads every entry of a kind.
    pub fn load(store: &Store, kind: DictKind) -> Result<Dict> {
        let mut d = Dict { kind, fwd: FastMap::default(), rev: Vec::new() };
        load_names(store, kind, |id, v| {
            d.rev.push(v.into());
            d.fwd.insert(v.into(), id);
        })?;
        Ok(d)
    }

    pub fn len(&self) -> usize {
        self.rev.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rev.is_empty()
    }

    pub fn get(&self, bytes: &[u8]) -> Option<u32> {
        self.fwd.get(bytes).copied()
    }

    /// The id of `bytes`, adding it (to memory and to `batch`) when new.
    pub fn intern(&mut self, bytes: &[u8], batch: &mut Batch<'_>) -> u32 {
        if let Some(&id) = self.fwd.get(bytes) {
            return id;
        }
        let id = self.rev.len() as u32 + 1;
        if self.kind.looked_up_by_name() {
            batch.put(Cf::Dict, &fwd_key(self.kind, bytes), &id.to_be_bytes());
        }
        batch.put(Cf::Dict, &rev_key(self.kind, id), bytes);
        self.rev.push(bytes.into());
        self.fwd.insert(bytes.into(), id);
        id
    }

    /// Forgets the name of `id` (an erasure request): the id stays taken, so ids stay dense
    /// and nothing is renumbered, but its name becomes a placeholder no lookup finds.
    pub fn erase(&mut self, id: u32, batch: &mut Batch<'_>) {
        let Some(i) = id.checked_sub(1).map(|i| i as usize).filter(|&i| i < self.rev.len()) else { return };
        let old = std::mem::replace(&mut self.rev[i], erased_name(id).into_boxed_slice());
        self.fwd.remove(&old);
        batch.delete(Cf::Dict, &fwd_key(self.kind, &old));
        batch.put(Cf::Dict, &rev_key(self.kind, id), &self.rev[i]);
    }

    pub fn name(&self, id: u32) -> Option<&[u8]> {
        id.checked_sub(1).and_then(|i| self.rev.get(i as usize)).map(|b| &**b)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.rev.iter().enumerate().map(|(i, b)| (i as u32 + 1, &**b))
    }

    /// Bytes the names cost in memory, roughly (both directions).
    pub fn held_bytes(&self) -> usize {
        self.rev.iter().map(|n| 2 * entry_bytes(n)).sum()
    }
}

/// The placeholder an erased name becomes: it starts with a 0 byte, which no logged name has.
pub fn erased_name(id: u32) -> Vec<u8> {
    format!("\0erased-{id}").into_bytes()
}

#[cfg(feature = "db")]
/// Visits every (id, name) of a kind in id order; ids must run 1, 2, 3, ... without a gap.
fn load_names(store: &Store, kind: DictKind, mut f: impl FnMut(u32, &[u8])) -> Result<()> {
    let (mut next, mut bad) = (1u32, None);
    store.prefix(Cf::Dict, &[b'r', kind as u8]).visit(|k, v| {
        // A key that is not 6 bytes reads as id 0, which is never in sequence.
        let id = k.get(2..).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, u32::from_be_bytes);
        if id != next {
            bad = Some(id);
            return false;
        }
        f(id, v);
        next += 1;
        true
    })?;
    match bad {
        Some(id) => Err(store.corrupt(format!("dictionary {kind:?}: id {id} out of sequence"))),
        None => Ok(()),
    }
}

#[cfg(feature = "db")]
/// The writer's view of a dictionary it only adds to (agents, addresses, requests, ...): each
/// name once, to its id. A [`Dict`] also keeps the id -> name direction, a second copy of every
/// name, which a long-running collector would carry for nothing.
///
/// Given a bound, a kind whose ids are only ever shown ([`DictKind::only_shown`]) keeps the
/// names it met lately, not all of them: logged requests carry tokens and timestamps, so their
/// number grows with time, and a collector that kept each one would grow without end. Names
/// live in two generations of at most the bound each; a name met again is moved to the current
/// one, and when that fills the older one is dropped. A name that returns after both forgot it
/// gets a second id with the same text, which every answer shows the same way.
pub struct Interner {
    kind: DictKind,
    ids: FastMap<Box<[u8]>, u32>,
    /// The previous generation (only for kinds that forget).
    older: FastMap<Box<[u8]>, u32>,
    /// The last id given.
    last: u32,
    /// Bytes the current generation holds, as [`entry_bytes`] counts them.
    held: usize,
    /// The most one generation holds, for a kind that forgets; `None` keeps every name.
    bound: Option<usize>,
    /// Names given provisional ids by [`Interner::intern_deferred`] and not yet written: the
    /// one with id `last - deferred.len() + 1 + i` at `i`.
    deferred: Vec<Box<[u8]>>,
}

/// The final ids of names first given provisional ones ([`Interner::write_deferred`]).
#[derive(Debug, Default)]
pub struct Renumbered {
    /// The last id written before them: ids up to it are final already.
    base: u32,
    /// The final id of provisional id `base + 1 + i`.
    ids: Vec<u32>,
}

impl Renumbered {
    /// The final id of `id` (a final id stays as it is).
    pub fn id(&self, id: u32) -> u32 {
        match id.checked_sub(self.base + 1) {
            Some(i) => self.ids.get(i as usize).copied().unwrap_or(id),
            None => id,
        }
    }

    /// Whether no id changes.
    pub fn is_identity(&self) -> bool {
        self.ids.iter().enumerate().all(|(i, &id)| id == self.base + 1 + i as u32)
    }
}

/// What one remembered name costs, roughly: its bytes, the box, the map slot, the allocator.
#[cfg(feature = "db")]
fn entry_bytes(name: &[u8]) -> usize {
    name.len() + 48
}

#[cfg(feature = "db")]
impl Interner {
    /// Loads the names of a kind; `bound` (bytes a generation) applies if the kind is only shown.
    pub fn load(store: &Store, kind: DictKind, bound: Option<usize>) -> Result<Interner> {
        let bound = bound.filter(|_| kind.only_shown());
        let mut d = Interner {
            kind,
            ids: FastMap::default(),
            older: FastMap::default(),
            last: 0,
            held: 0,
            bound,
            deferred: Vec::new(),
        };
        load_names(store, kind, |id, v| {
            d.remember(v, id);
            d.last = id;
        })?;
        Ok(d)
    }

    /// How many ids the dictionary has given (on disk, not only those remembered).
    pub fn len(&self) -> usize {
        self.last as usize
    }

    pub fn is_empty(&self) -> bool {
        self.last == 0
    }

    /// Names held in memory now, and their cost in bytes as counted against the bound.
    pub fn remembered(&self) -> (usize, usize) {
        let older: usize = self.older.keys().map(|k| entry_bytes(k)).sum();
        (self.ids.len() + self.older.len(), self.held + older)
    }

    fn remember(&mut self, name: &[u8], id: u32) {
        if let Some(bound) = self.bound {
            self.held += entry_bytes(name);
            if self.held > bound {
                self.older = std::mem::take(&mut self.ids);
                self.held = entry_bytes(name);
            }
        }
        self.ids.insert(name.into(), id);
    }

    /// The id of a name remembered, moving it to the current generation.
    fn known(&mut self, bytes: &[u8]) -> Option<u32> {
        if let Some(&id) = self.ids.get(bytes) {
            return Some(id);
        }
        let (name, id) = self.older.remove_entry(bytes)?;
        self.remember(&name, id);
        Some(id)
    }

    /// The id of `bytes`, adding it (to memory and to `batch`) when new.
    pub fn intern(&mut self, bytes: &[u8], batch: &mut Batch<'_>) -> u32 {
        if let Some(id) = self.known(bytes) {
            return id;
        }
        self.last += 1;
        let id = self.last;
        if !self.deferred.is_empty() {
            // Ids after a provisional one are provisional too, or the numbering would collide.
            self.deferred.push(bytes.into());
        } else {
            if self.kind.looked_up_by_name() {
                batch.put(Cf::Dict, &fwd_key(self.kind, bytes), &id.to_be_bytes());
            }
            batch.put(Cf::Dict, &rev_key(self.kind, id), bytes);
        }
        self.remember(bytes, id);
        id
    }

    /// Like [`Interner::intern`], but a new name gets a provisional id and is written only by
    /// [`Interner::write_deferred`], which must come before the batch is committed.
    pub fn intern_deferred(&mut self, bytes: &[u8]) -> u32 {
        if let Some(id) = self.known(bytes) {
            return id;
        }
        self.last += 1;
        self.deferred.push(bytes.into());
        self.remember(bytes, self.last);
        self.last
    }

    /// Writes the names given provisional ids since the last call to `batch`, numbered in the
    /// order `uses` first names them (then any it does not, in the order they came), and
    /// returns their final ids. Ids stay dense: the same ids are given, in another order.
    pub fn write_deferred(&mut self, uses: impl IntoIterator<Item = u32>, batch: &mut Batch<'_>) -> Renumbered {
        let base = self.last - self.deferred.len() as u32;
        let mut ids = vec![0u32; self.deferred.len()];
        let mut next = base;
        for id in uses {
            if let Some(slot) = id.checked_sub(base + 1).and_then(|i| ids.get_mut(i as usize)) {
                if *slot == 0 {
                    next += 1;
                    *slot = next;
                }
            }
        }
        for slot in ids.iter_mut().filter(|s| **s == 0) {
            next += 1;
            *slot = next;
        }
        for (provisional, (name, &id)) in (base + 1..).zip(self.deferred.drain(..).zip(&ids)) {
            if self.kind.looked_up_by_name() {
                batch.put(Cf::Dict, &fwd_key(self.kind, &name), &id.to_be_bytes());
            }
            batch.put(Cf::Dict, &rev_key(self.kind, id), &name);
            // A name the bound forgot since (or forgot and gave a later id) needs no update.
            for v in [self.ids.get_mut(&name), self.older.get_mut(&name)].into_iter().flatten() {
                if *v == provisional {
                    *v = id;
                }
            }
        }
        Renumbered { base, ids }
    }
}

#[cfg(feature = "db")]
/// Point lookup of an id, for readers that need a few names (kinds [`DictKind::looked_up_by_name`]).
pub fn lookup(store: &Store, kind: DictKind, bytes: &[u8]) -> Result<Option<u32>> {
    debug_assert!(kind.looked_up_by_name(), "{kind:?} has no name -> id keys");
    Ok(store.get(Cf::Dict, &fwd_key(kind, bytes))?.and_then(|v| v.as_slice().try_into().ok().map(u32::from_be_bytes)))
}

#[cfg(feature = "db")]
/// Point lookup of a name by id.
pub fn name(store: &Store, kind: DictKind, id: u32) -> Result<Option<Vec<u8>>> {
    store.get(Cf::Dict, &rev_key(kind, id))
}

#[cfg(feature = "db")]
/// How many entries a dictionary holds (its last id).
pub fn count(store: &Store, kind: DictKind) -> Result<u32> {
    let below = [b'r', kind as u8 + 1];
    Ok(match store.last_below(Cf::Dict, &below)? {
        Some(k) if k.len() == 6 && k[0] == b'r' && k[1] == kind as u8 => u32::from_be_bytes([k[2], k[3], k[4], k[5]]),
        _ => 0,
    })
}

/// Page references as dictionary bytes: `0 ‖ id:u64` or `1 ‖ space ‖ 0 ‖ title`.
pub fn page_ref_bytes(r: &PageRef) -> Vec<u8> {
    match r {
        PageRef::Id(id) => {
            let mut v = vec![0u8];
            v.extend_from_slice(&id.to_be_bytes());
            v
        }
        PageRef::Titled { space, title } => {
            let mut v = Vec::with_capacity(space.len() + title.len() + 2);
            v.push(1);
            v.extend_from_slice(space.as_bytes());
            v.push(0);
            v.extend_from_slice(title.as_bytes());
            v
        }
    }
}

pub fn page_ref_from_bytes(b: &[u8]) -> Option<PageRef> {
    match b.split_first()? {
        (0, id) => Some(PageRef::Id(u64::from_be_bytes(id.try_into().ok()?))),
        (1, rest) => {
            let nul = rest.iter().position(|&c| c == 0)?;
            let space = std::str::from_utf8(&rest[..nul]).ok()?.to_owned();
            let title = std::str::from_utf8(&rest[nul + 1..]).ok()?.to_owned();
            Some(PageRef::Titled { space, title })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind that is only shown keeps a bounded number of names in memory, and every id it
    /// hands out still names the text it was given, across a reload too.
    #[cfg(feature = "db")]
    #[test]
    fn a_forgetting_interner_stays_bounded_and_every_id_keeps_its_text() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open_writer(d.path()).unwrap();
        let name = |i: u32| format!("/rest/api/content/{i}?expand=body.storage&_={:020}", i * 7919).into_bytes();
        let mut given: Vec<(u32, Vec<u8>)> = Vec::new();
        const BOUND: usize = 8 << 20;
        let mut req = Interner::load(&store, DictKind::Request, Some(BOUND)).unwrap();
        let mut agents = Interner::load(&store, DictKind::Agent, Some(BOUND)).unwrap();
        let mut b = store.batch();
        let hot = name(0);
        let hot_id = req.intern(&hot, &mut b);
        let mut peak = 0;
        for i in 1..400_000u32 {
            let n = name(i);
            given.push((req.intern(&n, &mut b), n));
            // A name met often is never forgotten, so it keeps one id.
            assert_eq!(req.intern(&hot, &mut b), hot_id);
            if i % 50_000 == 0 {
                peak = peak.max(req.remembered().1);
            }
        }
        // An agent (compared by id) is never forgotten.
        let a = agents.intern(b"curl/8.0", &mut b);
        store.commit(b).unwrap();
        assert!(peak <= 2 * BOUND + 4096, "held {peak} bytes");
        assert!(req.remembered().0 < 400_000, "{:?}", req.remembered());
        // The first names were forgotten: met again, they get a new id with the same text.
        let mut b = store.batch();
        let again = req.intern(&name(1), &mut b);
        assert_ne!(again, given[0].0);
        assert_eq!(again, 400_001);
        store.commit(b).unwrap();
        for (id, text) in given.iter().step_by(997).chain([(again, name(1))].iter()) {
            assert_eq!(super::name(&store, DictKind::Request, *id).unwrap().as_deref(), Some(text.as_slice()));
        }
        // Reloaded, it goes on numbering after the last id and still knows recent names.
        let mut req = Interner::load(&store, DictKind::Request, Some(BOUND)).unwrap();
        assert_eq!(req.len(), 400_001);
        let mut b = store.batch();
        assert_eq!(req.intern(&name(399_999), &mut b), given.last().unwrap().0);
        assert_eq!(req.intern(b"new", &mut b), 400_002);
        let mut agents = Interner::load(&store, DictKind::Agent, Some(BOUND)).unwrap();
        assert_eq!(agents.intern(b"curl/8.0", &mut b), a);
        // Without a bound nothing is forgotten: the first name keeps its first id.
        let mut all = Interner::load(&store, DictKind::Request, None).unwrap();
        assert_eq!(all.intern(&name(2), &mut b), given[1].0);
        // Every text once: 400,001 ids on disk, name(1) among them twice.
        assert_eq!(all.remembered().0, 400_000);
    }

    /// Deferred names get the ids they are first used in, densely after the last id written,
    /// and every id names its text once written, with reuse, plain interning and forgetting
    /// mixed in.
    #[cfg(feature = "db")]
    #[test]
    fn deferred_names_are_numbered_in_the_order_they_are_used() {
        let d = tempfile::tempdir().unwrap();
        let store = Store::open_writer(d.path()).unwrap();
        let mut req = Interner::load(&store, DictKind::Request, None).unwrap();
        let mut b = store.batch();
        assert_eq!(req.intern(b"/old", &mut b), 1);
        let [c, a, old, b2] = ["/c", "/a", "/old", "/b"].map(|n| req.intern_deferred(n.as_bytes()));
        assert_eq!((c, a, old, b2), (2, 3, 1, 4));
        // A name interned while others wait is provisional too.
        let late = req.intern(b"/late", &mut b);
        assert_eq!(late, 5);
        // Used as: /a, /old, /b, /a, /c; /late not at all.
        let n = req.write_deferred([a, old, b2, a, c], &mut b);
        let got = [a, b2, c, late, old].map(|id| n.id(id));
        assert_eq!(got, [2, 3, 4, 5, 1]);
        assert!(!n.is_identity());
        store.commit(b).unwrap();
        for (text, id) in [("/a", 2), ("/b", 3), ("/c", 4), ("/late", 5), ("/old", 1)] {
            assert_eq!(super::name(&store, DictKind::Request, id).unwrap().as_deref(), Some(text.as_bytes()));
        }
        // The writer knows the final ids, and a reload agrees.
        let mut b = store.batch();
        assert_eq!(req.intern_deferred(b"/c"), 4);
        assert!(req.write_deferred([], &mut b).is_identity());
        let mut again = Interner::load(&store, DictKind::Request, None).unwrap();
        assert_eq!(again.intern_deferred(b"/b"), 3);
        assert_eq!(again.intern_deferred(b"/new"), 6);

        // With a bound small enough to forget names between their deferral and their writing,
        // every final id still names its own text, and ids stay dense.
        let d = tempfile::tempdir().unwrap();
        let store = Store::open_writer(d.path()).unwrap();
        let mut req = Interner::load(&store, DictKind::Request, Some(4 * entry_bytes(b"/p000"))).unwrap();
        let mut b = store.batch();
        let texts: Vec<Vec<u8>> = (0..40u32).map(|i| format!("/p{:03}", i % 25).into_bytes()).collect();
        let ids: Vec<u32> = texts.iter().map(|t| req.intern_deferred(t)).collect();
        let n = req.write_deferred(ids.iter().rev().copied(), &mut b);
        store.commit(b).unwrap();
        let last = req.len() as u32;
        let mut finals: Vec<u32> = ids.iter().map(|&i| n.id(i)).collect();
        for (t, &f) in texts.iter().zip(&finals) {
            assert_eq!(super::name(&store, DictKind::Request, f).unwrap().as_deref(), Some(t.as_slice()));
        }
        finals.sort_unstable();
        finals.dedup();
        assert_eq!(finals, (1..=last).collect::<Vec<_>>());
        // Used in reverse: the last use names id 1.
        assert_eq!(n.id(*ids.last().unwrap()), 1);
    }

    #[test]
    fn page_refs_round_trip() {
        for r in [
            PageRef::Id(0),
            PageRef::Id(u64::MAX),
            PageRef::Titled { space: "ENG".into(), title: "Run book / é".into() },
            PageRef::Titled { space: "~bob".into(), title: String::new() },
        ] {
            assert_eq!(page_ref_from_bytes(&page_ref_bytes(&r)), Some(r));
        }
        assert_eq!(page_ref_from_bytes(&[2, 1]), None);
        assert_eq!(page_ref_from_bytes(&[0, 1]), None);
    }
}
