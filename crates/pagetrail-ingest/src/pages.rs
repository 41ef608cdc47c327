//! Keeping the space index true when a page's space becomes known or changes.
//!
//! `space_users` rows are written with the space a page has when its reads are committed. When
//! a page is placed later (unknown -> S), its committed `page_users` rows are added to S in the
//! same batch. When a page moves (S1 -> S2), S2 gets them the same way, and S1, which cannot
//! subtract, is marked dirty and rebuilt from its pages after the commit. The dirty list is
//! stored, so a crash between the two is finished by the next writer.

use pagetrail_index::pages::PageModel;
use pagetrail_store::{index, meta, Store};

use crate::Result;

/// Loads page metas and rebuilds the writer's model.
pub(crate) fn load_model(store: &Store) -> Result<PageModel> {
    Ok(PageModel::from_metas(pagetrail_store::pages::metas(store)?))
}

/// Rebuilds each dirty space from the pages now in it, one atomic batch per space.
pub(crate) fn rebuild_dirty(store: &Store, model: &PageModel, mut dirty: Vec<u32>) -> Result<()> {
    while let Some(&space) = dirty.last() {
        let mut batch = store.batch();
        index::clear_space(&mut batch, space);
        for r in model.refs_in_space(space) {
            index::add_page_to_space(store, r, space, &mut batch)?;
        }
        dirty.pop();
        meta::save_dirty_spaces(&mut batch, &dirty);
        store.commit(batch)?;
    }
    Ok(())
}
