//! The readers' view of page identity: canonical page and space of every page reference.

use pagetrail_index::pages::{decode_chunk, CHUNK};
use pagetrail_store::{dict, DictKind, Store};
use roaring::RoaringBitmap;

use crate::Result;

#[derive(Debug, Default)]
pub struct PageMap {
    canon: Vec<u32>,
    space: Vec<u32>,
    /// References that are aliases of another (canon != self): the rare ones to map.
    aliased: RoaringBitmap,
    /// The largest space id of any reference.
    max_space: u32,
}

impl PageMap {
    pub fn load(store: &Store) -> Result<PageMap> {
        let n = dict::count(store, DictKind::Page)? as usize + 1;
        let mut canon: Vec<u32> = (0..n as u32).collect();
        let mut space = vec![0u32; n];
        let (mut c, mut s) = (Vec::new(), Vec::new());
        let mut bad = false;
        pagetrail_store::pages::visit_chunks(store, |idx, v| {
            let Some(idx) = idx else {
                bad = true;
                return false;
            };
            // A corrupt key must not overflow into someone else's slots.
            let Some(base) = idx.checked_mul(CHUNK).map(|b| b as usize) else {
                bad = true;
                return false;
            };
            c.clear();
            s.clear();
            if decode_chunk(v, &mut c, &mut s).is_err() {
                bad = true;
                return false;
            }
            for (i, (&ci, &si)) in c.iter().zip(&s).enumerate() {
                if let Some(slot) = canon.get_mut(base + i) {
                    *slot = ci;
                    space[base + i] = si;
                }
            }
            true
        })?;
        if bad {
            return Err(store.corrupt("page map chunk").into());
        }
        let aliased = canon.iter().enumerate().filter(|(i, &c)| c as usize != *i).map(|(i, _)| i as u32).collect();
        let max_space = space.iter().copied().max().unwrap_or(0);
        Ok(PageMap { canon, space, aliased, max_space })
    }

    pub fn canon(&self, r: u32) -> u32 {
        self.canon.get(r as usize).copied().unwrap_or(r)
    }

    pub fn space(&self, r: u32) -> u32 {
        self.space.get(r as usize).copied().unwrap_or(0)
    }

    /// Every reference that is the canonical page `c` (itself and its aliases).
    pub fn refs_of(&self, c: u32) -> Vec<u32> {
        let mut v = vec![c];
        v.extend(self.aliased.iter().filter(|&r| self.canon(r) == c));
        v
    }

    pub fn refs_in_space(&self, s: u32) -> RoaringBitmap {
        (1..self.space.len() as u32).filter(|&r| self.space[r as usize] == s).collect()
    }

    /// Distinct pages among references (aliases counted as their page).
    pub fn distinct(&self, refs: &RoaringBitmap) -> u64 {
        if self.aliased.is_disjoint(refs) {
            return refs.len();
        }
        let mut out: RoaringBitmap = refs - &self.aliased;
        for r in refs & &self.aliased {
            out.insert(self.canon(r));
        }
        out.len()
    }

    /// Distinct known spaces of the references.
    pub fn distinct_spaces(&self, refs: &RoaringBitmap) -> u64 {
        // Space ids are dense dictionary ids: a bit per space, not a bitmap insert per page.
        let mut seen = vec![0u64; self.max_space as usize / 64 + 1];
        let mut n = 0;
        for r in refs {
            let s = self.space(r) as usize;
            let (w, bit) = (s / 64, 1u64 << (s % 64));
            if s != 0 && seen[w] & bit == 0 {
                seen[w] |= bit;
                n += 1;
            }
        }
        n
    }
}
