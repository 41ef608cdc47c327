//! Keeping the space index true when a page's space becomes known or changes.
//!
//! `space_users` rows are written with the space a page has when its reads are committed. When
//! a page is placed later (unknown -> S), its committed `page_users` rows are added to S in the
//! same batch. When a page moves (S1 -> S2), S2 gets them the same way, and S1, which cannot
//! subtract, is marked dirty and rebuilt from its pages after the commit. The dirty list is
//! stored, so a crash between the two is finished by the next writer.

use pagetrail_core::time::{month_of_day, month_start_day, DAY_MS};
use pagetrail_core::varint::{put_u64, Reader};
use pagetrail_index::bitmap;
use pagetrail_index::keys::{entity_key, entity_prefix, entity_user_key, parse, Grain};
use pagetrail_index::pages::PageModel;
use pagetrail_index::readers::{self, Readers};
use pagetrail_index::Counters;
use pagetrail_store::{Batch, Cf, Store};

use crate::Result;

const DIRTY_KEY: &[u8] = b"dirty_spaces";

/// Loads page metas and rebuilds the writer's model.
pub(crate) fn load_model(store: &Store) -> Result<PageModel> {
    Ok(PageModel::from_metas(pagetrail_store::pages::metas(store)?))
}

pub(crate) fn load_dirty(store: &Store) -> Result<Vec<u32>> {
    let Some(v) = store.get(Cf::Meta, DIRTY_KEY)? else { return Ok(Vec::new()) };
    let mut r = Reader::new(&v);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.u32().map_err(|_| store.corrupt("dirty space list"))?);
    }
    Ok(out)
}

pub(crate) fn save_dirty(batch: &mut Batch<'_>, dirty: &[u32]) {
    if dirty.is_empty() {
        batch.delete(Cf::Meta, DIRTY_KEY);
    } else {
        let mut v = Vec::new();
        for &s in dirty {
            put_u64(&mut v, u64::from(s));
        }
        batch.put(Cf::Meta, DIRTY_KEY, &v);
    }
}

/// Adds every committed `page_users` row of page reference `r` to space `space`: each daily row
/// as a daily and a monthly space row (page rows are daily only).
pub(crate) fn backfill(store: &Store, r: u32, space: u32, batch: &mut Batch<'_>) -> Result<()> {
    let mut bad = false;
    let mut buf = Vec::new();
    store.prefix(Cf::PageUsers, &entity_prefix(Grain::Day, r)).visit(|k, v| {
        let Some((_, Grain::Day, day)) = parse(k) else {
            bad = true;
            return false;
        };
        batch.merge(Cf::SpaceUsers, &entity_key(space, Grain::Day, day), v);
        let month = month_of_day(i64::from(day));
        let shift = ((i64::from(day) - month_start_day(month)) * DAY_MS) as u64;
        let mut shifted = Readers::new();
        let one = bitmap::to_bytes(&std::iter::once(r).collect());
        bad |= readers::for_each(v, |u, c| {
            // Saturating: a corrupt value must not wrap (the merge operator rejects it later).
            shifted
                .insert(u, Counters { first: c.first.saturating_add(shift), last: c.last.saturating_add(shift), ..c });
            batch.merge(Cf::SpaceUserPages, &entity_user_key(space, Grain::Day, day, u), &one);
            batch.merge(Cf::SpaceUserPages, &entity_user_key(space, Grain::Month, month as u32, u), &one);
        })
        .is_err();
        readers::encode(&shifted, &mut buf);
        batch.merge(Cf::SpaceUsers, &entity_key(space, Grain::Month, month as u32), &buf);
        !bad
    })?;
    if bad {
        return Err(store.corrupt("page_users row").into());
    }
    Ok(())
}

/// Rebuilds each dirty space from the pages now in it, one atomic batch per space.
pub(crate) fn rebuild_dirty(store: &Store, model: &PageModel, mut dirty: Vec<u32>) -> Result<()> {
    while let Some(&space) = dirty.last() {
        let mut batch = store.batch();
        for grain in [Grain::Day, Grain::Month] {
            let lo = entity_prefix(grain, space);
            batch.delete_range(Cf::SpaceUsers, &lo, &pagetrail_store::prefix_end(&lo));
            batch.delete_range(Cf::SpaceUserPages, &lo, &pagetrail_store::prefix_end(&lo));
        }
        for r in model.refs_in_space(space) {
            backfill(store, r, space, &mut batch)?;
        }
        dirty.pop();
        save_dirty(&mut batch, &dirty);
        store.commit(batch)?;
    }
    Ok(())
}
