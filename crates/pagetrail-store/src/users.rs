//! The user directory's aliases: user keys and account ids that are one person's username.
//!
//! Meta keys `ua ‖ alias:u32 -> canonical:u32` (User dictionary ids). Events keep the name they
//! were logged under; readers map aliases to the canonical user, so loading the directory after
//! the logs re-attributes everything already stored, and before gives the same answers.

use std::collections::HashMap;

use crate::{Batch, Cf, Result, Store};

fn key(alias: u32) -> [u8; 6] {
    let mut k = [b'u', b'a', 0, 0, 0, 0];
    k[2..].copy_from_slice(&alias.to_be_bytes());
    k
}

pub fn put_alias(batch: &mut Batch<'_>, alias: u32, canonical: u32) {
    batch.put(Cf::Meta, &key(alias), &canonical.to_be_bytes());
}

pub fn delete_alias(batch: &mut Batch<'_>, alias: u32) {
    batch.delete(Cf::Meta, &key(alias));
}

/// Alias id -> canonical id.
#[derive(Debug, Default, Clone)]
pub struct UserMap {
    canon: HashMap<u32, u32>,
}

impl UserMap {
    pub fn load(store: &Store) -> Result<UserMap> {
        let pairs = store.decode_prefix(Cf::Meta, b"ua", "user alias", |k, v| {
            Some((u32::from_be_bytes(k.get(2..)?.try_into().ok()?), u32::from_be_bytes(v.try_into().ok()?)))
        })?;
        Ok(UserMap { canon: pairs.into_iter().collect() })
    }

    /// The user an id stands for.
    pub fn canon(&self, u: u32) -> u32 {
        self.canon.get(&u).copied().unwrap_or(u)
    }

    /// Every id of the canonical user `c`, itself first.
    pub fn ids_of(&self, c: u32) -> Vec<u32> {
        let mut v = vec![c];
        let mut more: Vec<u32> = self.canon.iter().filter(|(_, &t)| t == c).map(|(&a, _)| a).collect();
        more.sort_unstable();
        v.extend(more);
        v
    }

    pub fn is_alias(&self, u: u32) -> bool {
        self.canon.get(&u).is_some_and(|&c| c != u)
    }

    pub fn aliases(&self) -> usize {
        self.canon.iter().filter(|(a, c)| a != c).count()
    }
}
