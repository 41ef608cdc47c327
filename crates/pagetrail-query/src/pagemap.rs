//! The readers' view of page identity: canonical page and space of every page reference.

use pagetrail_index::pages::{decode_chunk, CHUNK};
use pagetrail_store::{dict, DictKind, Store};
use roaring::RoaringBitmap;

use crate::Result;

/// The references that are not their own page (`canon[r] != r`). A bit per reference, then
/// containers made whole from the bytes: inserting the aliases one by one took about 1 M
/// instructions on the peers site (36,864 references), pushing them in order 0.7 M.
fn aliases_of(canon: &[u32]) -> RoaringBitmap {
    let mut bits = vec![0u8; canon.len().div_ceil(8)];
    for (i, _) in canon.iter().enumerate().filter(|(i, &c)| c as usize != *i) {
        bits[i / 8] |= 1 << (i % 8);
    }
    RoaringBitmap::from_lsb0_bytes(0, &bits)
}

/// Up to this many references, [`PageMap::distinct`] sorts their pages rather than build bitmaps.
const SMALL: usize = 32;

#[derive(Debug, Default)]
pub struct PageMap {
    canon: Vec<u32>,
    space: Vec<u32>,
    /// References that are aliases of another (canon != self): the rare ones to map.
    aliased: RoaringBitmap,
    /// The largest space id of any reference.
    max_space: u32,
    /// (page, alias) of every alias, sorted: made at the first [`PageMap::refs_of`], which
    /// scanned every alias per call before (a store without a catalog took 80 M of a 3-day
    /// lookback's 129 M instructions so, 96 pages each passing over thousands of aliases).
    by_page: std::sync::OnceLock<Vec<(u32, u32)>>,
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
        Ok(PageMap::of(canon, space))
    }

    /// The map of references `canon` and `space` describe, by index.
    fn of(canon: Vec<u32>, space: Vec<u32>) -> PageMap {
        let max_space = space.iter().copied().max().unwrap_or(0);
        PageMap { aliased: aliases_of(&canon), canon, space, max_space, by_page: Default::default() }
    }

    pub fn canon(&self, r: u32) -> u32 {
        self.canon.get(r as usize).copied().unwrap_or(r)
    }

    pub fn space(&self, r: u32) -> u32 {
        self.space.get(r as usize).copied().unwrap_or(0)
    }

    /// Every reference that is the canonical page `c` (itself and its aliases).
    pub fn refs_of(&self, c: u32) -> Vec<u32> {
        let by_page = self.by_page.get_or_init(|| {
            let mut v: Vec<(u32, u32)> = self.aliased.iter().map(|r| (self.canon(r), r)).collect();
            v.sort_unstable();
            v
        });
        let from = by_page.partition_point(|&(p, _)| p < c);
        let mut v = vec![c];
        v.extend(by_page[from..].iter().take_while(|&&(p, _)| p == c).map(|&(_, r)| r));
        v
    }

    pub fn refs_in_space(&self, s: u32) -> RoaringBitmap {
        (1..self.space.len() as u32).filter(|&r| self.space[r as usize] == s).collect()
    }

    /// Distinct pages among references (aliases counted as their page): the references that
    /// are no alias, and the pages of the aliases that are not among those.
    pub fn distinct(&self, refs: &RoaringBitmap) -> u64 {
        let n_aliases = refs.intersection_len(&self.aliased);
        if n_aliases == 0 {
            return refs.len();
        }
        if refs.len() <= SMALL as u64 {
            // A few: their pages sorted on the stack.
            let mut pages = [0u32; SMALL];
            let n = refs.len() as usize;
            for (slot, r) in pages.iter_mut().zip(refs) {
                *slot = self.canon(r);
            }
            let pages = &mut pages[..n];
            pages.sort_unstable();
            return 1 + pages.windows(2).filter(|w| w[0] != w[1]).count() as u64;
        }
        // Counted with bitmap operations, not one insert per alias: on a 4,000-user store,
        // top-readers over 120 days maps 1.7 M references, and inserting took 30 ms.
        let mut pages: Vec<u32> = (refs & &self.aliased).iter().map(|r| self.canon(r)).collect();
        pages.sort_unstable();
        pages.dedup();
        let pages = RoaringBitmap::from_sorted_iter(pages).unwrap_or_default();
        // A page among `refs` that is itself an alias (not one of the plain references) still
        // counts once among the pages.
        let plain_too = match pages.intersection_len(&self.aliased) {
            0 => pages.intersection_len(refs),
            _ => (&pages - &self.aliased).intersection_len(refs),
        };
        refs.len() - n_aliases + pages.len() - plain_too
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The straightforward count: every reference mapped to its page, in one set.
    fn distinct_by_insert(pm: &PageMap, refs: &RoaringBitmap) -> u64 {
        refs.iter().map(|r| pm.canon(r)).collect::<RoaringBitmap>().len()
    }

    /// Page maps of up to `n` references with aliases of aliases too: reference `i` is an alias
    /// of `targets[i]` (cut to the map) for about `alias_share` in 4 of them.
    fn arb_canon(n: usize) -> impl Strategy<Value = Vec<u32>> {
        (proptest::collection::vec(0u32..n as u32, 1..n), 0u32..4).prop_map(|(targets, alias_share)| {
            let n = targets.len() as u32;
            targets.iter().enumerate().map(|(i, &t)| if t % 4 < alias_share { t % n } else { i as u32 }).collect()
        })
    }

    fn map_of(canon: Vec<u32>) -> PageMap {
        PageMap::of(canon.clone(), vec![0; canon.len()])
    }

    proptest! {
        /// Any page map (aliases of aliases too) and any references, some beyond the map, a few
        /// (sorted on the stack) or many (bitmaps).
        #[test]
        fn distinct_counts_each_page_once(canon in arb_canon(500), refs in proptest::collection::vec(0u32..520, 0..400)) {
            let pm = map_of(canon);
            let refs: RoaringBitmap = refs.into_iter().collect();
            prop_assert_eq!(pm.distinct(&refs), distinct_by_insert(&pm, &refs));
        }

        /// A page's references are itself and the aliases whose page it is, in order.
        #[test]
        fn refs_of_a_page_are_it_and_its_aliases(canon in arb_canon(300), asked in proptest::collection::vec(0u32..320, 1..40)) {
            let pm = map_of(canon.clone());
            for c in asked {
                let mut want = vec![c];
                want.extend((0..canon.len() as u32).filter(|&r| canon[r as usize] == c && r != c));
                prop_assert_eq!(pm.refs_of(c), want);
            }
        }

        /// The alias set equals the references whose page is another, one by one.
        #[test]
        fn aliases_are_the_references_of_another_page(
            len in 0usize..70_000,
            changes in proptest::collection::vec((any::<usize>(), 0u32..70_000), 0..3_000),
        ) {
            // Most references their own page, as in a store; some (or, for short maps, all) not.
            let mut canon: Vec<u32> = (0..len as u32).collect();
            for (i, c) in changes {
                if len > 0 {
                    canon[i % len] = c;
                }
            }
            let one_by_one: RoaringBitmap =
                canon.iter().enumerate().filter(|(i, &c)| c as usize != *i).map(|(i, _)| i as u32).collect();
            prop_assert_eq!(aliases_of(&canon), one_by_one);
        }
    }

    #[test]
    fn an_alias_and_its_page_are_one_page() {
        // 3 and 4 are aliases of 1; 5 an alias of 4 (itself an alias).
        let pm = map_of(vec![0, 1, 2, 1, 1, 4]);
        let count = |v: &[u32]| pm.distinct(&v.iter().copied().collect());
        assert_eq!(count(&[1, 3, 4]), 1);
        assert_eq!(count(&[3, 4]), 1);
        assert_eq!(count(&[2, 3]), 2);
        assert_eq!(count(&[5]), 1);
        assert_eq!(count(&[4, 5]), 2);
        assert_eq!(count(&[]), 0);
    }
}
