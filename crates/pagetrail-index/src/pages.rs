//! Page identity (contract §3): which page references are one page, and which space each is in.
//!
//! Logs name a page by id or by (space, title); each distinct name is a *reference* with a
//! dictionary id. A titled reference that the catalog or a `/spaces/K/pages/N/T` URL links to
//! id N is an alias of N's reference (its *canonical* reference). A canonical page's space is
//! the catalog's when listed, else the latest (by event time) space its URLs name. Because
//! both rules compare stored facts rather than arrival order, the answer is the same whatever
//! order logs and catalog come in.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pagetrail_core::varint::{put_i64, put_u64, Reader};

use crate::IndexError;

const META_VERSION: u8 = 1;
const CHUNK_VERSION: u8 = 1;
/// References per derived-map chunk: small enough that a batch rewrites few bytes.
pub const CHUNK: u32 = 4096;

/// What is known about one reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageMeta {
    /// Catalog row for an id reference: (space id, title).
    pub catalog: Option<(u32, String)>,
    /// Latest space a URL naming this reference gave: (space id, event ms).
    pub url_space: Option<(u32, i64)>,
    /// For a titled reference: the id reference it is, (target, event ms, from catalog).
    pub link: Option<(u32, i64, bool)>,
    /// For an id reference the catalog lists: its page id (the reference's dictionary name),
    /// so that `events` shows a catalogued page from its meta alone. Metas written before
    /// this field have none; readers then look the name up.
    pub page_id: Option<u64>,
}

impl PageMeta {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![META_VERSION];
        let flags = u8::from(self.catalog.is_some())
            | u8::from(self.url_space.is_some()) << 1
            | u8::from(self.link.is_some()) << 2
            | u8::from(self.page_id.is_some()) << 3;
        v.push(flags);
        if let Some((s, t)) = &self.catalog {
            put_u64(&mut v, u64::from(*s));
            put_u64(&mut v, t.len() as u64);
            v.extend_from_slice(t.as_bytes());
        }
        if let Some((s, ts)) = self.url_space {
            put_u64(&mut v, u64::from(s));
            put_i64(&mut v, ts);
        }
        if let Some((target, ts, cat)) = self.link {
            put_u64(&mut v, u64::from(target));
            put_i64(&mut v, ts);
            v.push(u8::from(cat));
        }
        if let Some(id) = self.page_id {
            put_u64(&mut v, id);
        }
        v
    }

    pub fn decode(b: &[u8]) -> Result<PageMeta, IndexError> {
        let (&ver, rest) = b.split_first().ok_or(IndexError::Empty)?;
        if ver != META_VERSION {
            return Err(IndexError::UnknownFormat(ver));
        }
        let mut r = Reader::new(rest);
        let c = |_| IndexError::Corrupt;
        let flags = r.u8().map_err(c)?;
        let mut m = PageMeta::default();
        if flags & 1 != 0 {
            let s = r.u32().map_err(c)?;
            let n = r.u64().map_err(c)? as usize;
            let t = String::from_utf8(r.bytes(n).map_err(c)?.to_vec()).map_err(|_| IndexError::Corrupt)?;
            m.catalog = Some((s, t));
        }
        if flags & 2 != 0 {
            m.url_space = Some((r.u32().map_err(c)?, r.i64().map_err(c)?));
        }
        if flags & 4 != 0 {
            m.link = Some((r.u32().map_err(c)?, r.i64().map_err(c)?, r.u8().map_err(c)? != 0));
        }
        if flags & 8 != 0 {
            m.page_id = Some(r.u64().map_err(c)?);
        }
        Ok(m)
    }
}

/// Encodes the derived (canonical, space) pairs of one chunk.
pub fn encode_chunk(canon: &[u32], space: &[u32]) -> Vec<u8> {
    let mut v = vec![CHUNK_VERSION];
    put_u64(&mut v, canon.len() as u64);
    for (&c, &s) in canon.iter().zip(space) {
        put_u64(&mut v, u64::from(c));
        put_u64(&mut v, u64::from(s));
    }
    v
}

/// Appends a chunk's pairs to the vectors (which must hold exactly `chunk * CHUNK` entries).
pub fn decode_chunk(b: &[u8], canon: &mut Vec<u32>, space: &mut Vec<u32>) -> Result<(), IndexError> {
    let (&ver, rest) = b.split_first().ok_or(IndexError::Empty)?;
    if ver != CHUNK_VERSION {
        return Err(IndexError::UnknownFormat(ver));
    }
    let mut r = Reader::new(rest);
    let n = r.u64().map_err(|_| IndexError::Corrupt)?;
    for _ in 0..n {
        canon.push(r.u32().map_err(|_| IndexError::Corrupt)?);
        space.push(r.u32().map_err(|_| IndexError::Corrupt)?);
    }
    Ok(())
}

/// What a resolution changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// References whose space went from unknown to known: (ref, space).
    pub placed: Vec<(u32, u32)>,
    /// References whose space changed from one space to another: (ref, old, new).
    pub moved: Vec<(u32, u32, u32)>,
    /// References whose stored meta must be rewritten.
    pub metas: Vec<u32>,
    /// Derived-map chunks to rewrite.
    pub chunks: Vec<u32>,
}

/// The writer's in-memory page model. Index 0 is unused (ids start at 1).
#[derive(Debug, Default)]
pub struct PageModel {
    pub metas: Vec<PageMeta>,
    /// Canonical reference of each reference (itself when not an alias).
    pub canon: Vec<u32>,
    /// Space id of each reference (0 when unknown).
    pub space: Vec<u32>,
    aliases: HashMap<u32, BTreeSet<u32>>,
    touched: BTreeSet<u32>,
}

impl PageModel {
    pub fn new() -> Self {
        PageModel { metas: vec![PageMeta::default()], canon: vec![0], space: vec![0], ..Default::default() }
    }

    /// Rebuilds the model from stored metas (ref id, meta) in any order.
    pub fn from_metas(metas: impl IntoIterator<Item = (u32, PageMeta)>) -> Self {
        let mut m = PageModel::new();
        for (r, meta) in metas {
            // The writer stores a meta for every link target too, but a store that lost it
            // must not send `resolve` past the vectors.
            m.ensure(r.max(meta.link.map_or(0, |(t, _, _)| t)));
            m.metas[r as usize] = meta;
            m.touched.insert(r);
        }
        let _ = m.resolve();
        m
    }

    /// Makes room for reference `r` (a new dictionary id).
    pub fn ensure(&mut self, r: u32) {
        let n = r as usize + 1;
        while self.metas.len() < n {
            let id = self.metas.len() as u32;
            self.metas.push(PageMeta::default());
            self.canon.push(id);
            self.space.push(0);
        }
    }

    pub fn len(&self) -> usize {
        self.metas.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A URL named reference `r` in space `space` at `ts`.
    pub fn note_url_space(&mut self, r: u32, space: u32, ts: i64) {
        self.ensure(r);
        let m = &mut self.metas[r as usize];
        if m.url_space.is_none_or(|(s, t)| (ts, space) > (t, s)) {
            m.url_space = Some((space, ts));
            self.touched.insert(r);
        }
    }

    /// A URL showed titled reference `titled` is id reference `target` at `ts`.
    pub fn note_link(&mut self, titled: u32, target: u32, ts: i64) {
        self.ensure(titled.max(target));
        let m = &mut self.metas[titled as usize];
        let better = match m.link {
            None => true,
            Some((_, _, true)) => false,
            Some((t, old, false)) => (ts, target) > (old, t),
        };
        if better {
            m.link = Some((target, ts, false));
            self.touched.insert(titled);
        }
    }

    /// A catalog row: page `page_id`, whose id reference is `id_ref`, is titled reference
    /// `titled`, in `space` with `title`.
    pub fn set_catalog(&mut self, page_id: u64, id_ref: u32, titled: u32, space: u32, title: &str) {
        self.ensure(id_ref.max(titled));
        let entry = Some((space, title.to_owned()));
        let m = &mut self.metas[id_ref as usize];
        // A meta written before `page_id` existed gains it when the catalog is loaded again.
        if m.catalog != entry || m.page_id != Some(page_id) {
            m.catalog = entry;
            m.page_id = Some(page_id);
            self.touched.insert(id_ref);
        }
        let m = &mut self.metas[titled as usize];
        if m.link.is_none_or(|(t, _, cat)| !cat || t != id_ref) {
            m.link = Some((id_ref, 0, true));
            self.touched.insert(titled);
        }
    }

    fn canon_of(&self, r: u32) -> u32 {
        match self.metas[r as usize].link {
            Some((t, _, _)) if t != r => t,
            _ => r,
        }
    }

    fn space_of_canon(&self, c: u32) -> u32 {
        if let Some((s, _)) = &self.metas[c as usize].catalog {
            return *s;
        }
        let members = std::iter::once(c).chain(self.aliases.get(&c).into_iter().flatten().copied());
        members.filter_map(|r| self.metas[r as usize].url_space).max_by_key(|&(s, ts)| (ts, s)).map_or(0, |(s, _)| s)
    }

    /// Recomputes canonical references and spaces for everything touched since the last call.
    pub fn resolve(&mut self) -> Changes {
        let touched = std::mem::take(&mut self.touched);
        let mut ch = Changes { metas: touched.iter().copied().collect(), ..Default::default() };
        let mut affected = BTreeSet::new();
        for &r in &touched {
            let old = self.canon[r as usize];
            let new = self.canon_of(r);
            affected.insert(old);
            affected.insert(new);
            affected.insert(r);
            if old != new {
                if old != r {
                    if let Some(set) = self.aliases.get_mut(&old) {
                        set.remove(&r);
                    }
                }
                if new != r {
                    self.aliases.entry(new).or_default().insert(r);
                }
                self.canon[r as usize] = new;
                ch.chunks.push(r / CHUNK);
            }
        }
        let mut space_changes = BTreeMap::new();
        for &c in &affected {
            if self.canon[c as usize] != c {
                continue; // an alias: its canonical page is handled instead
            }
            let s = self.space_of_canon(c);
            let members: Vec<u32> =
                std::iter::once(c).chain(self.aliases.get(&c).into_iter().flatten().copied()).collect();
            for r in members {
                let old = self.space[r as usize];
                if old != s {
                    space_changes.insert(r, (old, s));
                    self.space[r as usize] = s;
                    ch.chunks.push(r / CHUNK);
                }
            }
        }
        for (r, (old, new)) in space_changes {
            match (old, new) {
                (0, n) => ch.placed.push((r, n)),
                (o, n) => ch.moved.push((r, o, n)),
            }
        }
        ch.chunks.sort_unstable();
        ch.chunks.dedup();
        ch
    }

    /// The derived pairs of one chunk, for storing.
    pub fn chunk(&self, chunk: u32) -> Vec<u8> {
        let lo = (chunk * CHUNK) as usize;
        let hi = (lo + CHUNK as usize).min(self.canon.len());
        encode_chunk(&self.canon[lo..hi], &self.space[lo..hi])
    }

    /// Every reference currently in `space`.
    pub fn refs_in_space(&self, space: u32) -> Vec<u32> {
        (1..self.space.len() as u32).filter(|&r| self.space[r as usize] == space).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // refs: 1 = Id(42), 2 = Titled(ENG, Run book), 3 = Id(7); spaces: 10 = ENG, 11 = OPS
    #[test]
    fn link_then_catalog_equals_catalog_then_link() {
        let mut a = PageModel::new();
        a.note_url_space(2, 10, 100);
        a.note_url_space(1, 10, 50);
        a.note_link(2, 1, 60);
        a.resolve();
        a.set_catalog(901, 1, 2, 11, "Run book");
        let ca = a.resolve();
        assert_eq!(a.canon[2], 1);
        assert_eq!((a.space[1], a.space[2]), (11, 11));
        assert_eq!(ca.moved, vec![(1, 10, 11), (2, 10, 11)]);

        let mut b = PageModel::new();
        b.set_catalog(901, 1, 2, 11, "Run book");
        b.resolve();
        b.note_url_space(2, 10, 100);
        b.note_link(2, 1, 60);
        b.note_url_space(1, 10, 50);
        b.resolve();
        assert_eq!((b.canon.clone(), b.space.clone()), (a.canon.clone(), a.space.clone()));
    }

    #[test]
    fn latest_url_space_wins_regardless_of_arrival() {
        let mut a = PageModel::new();
        a.note_url_space(3, 11, 200);
        a.note_url_space(3, 10, 100);
        let ch = a.resolve();
        assert_eq!(a.space[3], 11);
        assert_eq!(ch.placed, vec![(3, 11)]);
        let mut b = PageModel::new();
        b.note_url_space(3, 10, 100);
        b.resolve();
        b.note_url_space(3, 11, 200);
        let ch = b.resolve();
        assert_eq!(b.space[3], 11);
        assert_eq!(ch.moved, vec![(3, 10, 11)]);
    }

    #[test]
    fn unlinked_titled_page_stands_alone_and_round_trips() {
        let mut m = PageModel::new();
        m.note_url_space(2, 10, 5);
        m.resolve();
        assert_eq!((m.canon[2], m.space[2]), (2, 10));
        let again = PageModel::from_metas(m.metas.iter().cloned().enumerate().skip(1).map(|(i, x)| (i as u32, x)));
        assert_eq!((again.canon, again.space), (m.canon.clone(), m.space.clone()));
        for meta in &m.metas {
            assert_eq!(PageMeta::decode(&meta.encode()).unwrap(), *meta);
        }
        let full = PageMeta {
            catalog: Some((3, "T é".into())),
            url_space: Some((4, -9)),
            link: Some((5, 77, true)),
            page_id: Some(u64::MAX),
        };
        assert_eq!(PageMeta::decode(&full.encode()).unwrap(), full);
        // A meta of before `page_id` (flags 1, 2, 4 only) reads without one.
        let old = PageMeta { page_id: None, ..full.clone() };
        assert_eq!(PageMeta::decode(&old.encode()).unwrap(), old);
        assert_eq!(old.encode()[1], 7);
        let (mut c, mut s) = (Vec::new(), Vec::new());
        decode_chunk(&m.chunk(0), &mut c, &mut s).unwrap();
        assert_eq!((c, s), (m.canon.clone(), m.space.clone()));
    }

    #[test]
    fn a_catalog_loaded_again_gives_old_metas_their_page_id() {
        // A meta of before `page_id`: the same catalog row must still rewrite it, once.
        let old = PageMeta { catalog: Some((11, "Run book".into())), ..PageMeta::default() };
        let linked = PageMeta { link: Some((1, 0, true)), ..PageMeta::default() };
        let mut m = PageModel::from_metas([(1, old), (2, linked)]);
        m.set_catalog(901, 1, 2, 11, "Run book");
        assert_eq!(m.resolve().metas, vec![1]);
        assert_eq!(m.metas[1].page_id, Some(901));
        m.set_catalog(901, 1, 2, 11, "Run book");
        assert!(m.resolve().metas.is_empty(), "nothing new to write");
    }

    #[test]
    fn a_link_to_a_reference_without_meta_loads() {
        // Found by the fuzz target `page_meta`: this indexed past the model's vectors.
        let linked = PageMeta { link: Some((3, 10, false)), ..PageMeta::default() };
        let m = PageModel::from_metas([(1, PageMeta::default()), (2, linked)]);
        assert_eq!(m.canon, vec![0, 1, 3, 3]);
    }
}
