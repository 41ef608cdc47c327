//! Raw access to every column family, for tests that inspect or tamper with a store below its
//! API, as someone holding its files could. Behind the `raw` feature, which only `tests/`
//! enables: nothing in `crates/` may spell a key of the store's families.

pub use crate::families::Cf;
use crate::{Batch, Result, Store};

/// Every entry of a family, in key order.
pub fn entries(store: &Store, cf: Cf) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    store.prefix(cf, &[]).collect()
}

pub fn put(batch: &mut Batch<'_>, cf: Cf, key: &[u8], value: &[u8]) {
    batch.put(cf, key, value);
}

pub fn delete(batch: &mut Batch<'_>, cf: Cf, key: &[u8]) {
    batch.delete(cf, key);
}
