//! What `watch --detect-every` has already handed to the SIEM, so each case and alert goes out once, across restarts.
//!
//! Meta keys `em ‖ kind:u8 ‖ user ‖ 0 ‖ what ‖ 0 ‖ start_ms:u64` (what: the detector of an
//! alert, empty for a case); value `version:u8 ‖ end_ms ‖ severity:u8 ‖ emitted_ms` (varints).

use pagetrail_core::varint::{put_i64, Reader};

#[cfg(feature = "db")]
use crate::{Batch, Cf, Result, Store};

const PREFIX: &[u8] = b"em";
const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Case = 1,
    Alert = 2,
}

/// One emitted case or alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted {
    pub kind: Kind,
    pub user: String,
    /// The detector's name for an alert; empty for a case.
    pub what: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Severity rank (low 1, medium 2, high 3): a later, stronger finding goes out again.
    pub severity: u8,
    pub emitted_ms: i64,
}

impl Emitted {
    pub fn key(&self) -> Vec<u8> {
        let mut k = PREFIX.to_vec();
        k.push(self.kind as u8);
        k.extend_from_slice(self.user.as_bytes());
        k.push(0);
        k.extend_from_slice(self.what.as_bytes());
        k.push(0);
        k.extend_from_slice(&(self.start_ms.max(0) as u64).to_be_bytes());
        k
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = vec![VERSION];
        put_i64(&mut v, self.end_ms);
        v.push(self.severity);
        put_i64(&mut v, self.emitted_ms);
        v
    }

    pub fn decode(k: &[u8], v: &[u8]) -> Option<Emitted> {
        let rest = k.strip_prefix(PREFIX)?;
        let (&kind, rest) = rest.split_first()?;
        let kind = match kind {
            1 => Kind::Case,
            2 => Kind::Alert,
            _ => return None,
        };
        if rest.len() < 10 {
            return None;
        }
        let (names, ts) = rest.split_at(rest.len() - 8);
        let mut parts = names.split(|&b| b == 0);
        let user = String::from_utf8(parts.next()?.to_vec()).ok()?;
        let what = String::from_utf8(parts.next()?.to_vec()).ok()?;
        if parts.next() != Some(&[][..]) || parts.next().is_some() {
            return None;
        }
        let (&ver, body) = v.split_first()?;
        if ver != VERSION {
            return None;
        }
        let mut r = Reader::new(body);
        let end_ms = r.i64().ok()?;
        let severity = r.u8().ok()?;
        let emitted_ms = r.i64().ok()?;
        r.rest().is_empty().then_some(Emitted {
            kind,
            user,
            what,
            start_ms: u64::from_be_bytes(ts.try_into().ok()?) as i64,
            end_ms,
            severity,
            emitted_ms,
        })
    }
}

#[cfg(feature = "db")]
pub fn load_all(store: &Store) -> Result<Vec<Emitted>> {
    store.decode_prefix(Cf::Meta, PREFIX, "emitted finding", Emitted::decode)
}

#[cfg(feature = "db")]
pub fn put(batch: &mut Batch<'_>, e: &Emitted) {
    batch.put(Cf::Meta, &e.key(), &e.encode());
}

#[cfg(feature = "db")]
pub fn delete(batch: &mut Batch<'_>, e: &Emitted) {
    batch.delete(Cf::Meta, &e.key());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = Emitted {
            kind: Kind::Alert,
            user: "jdoe".into(),
            what: "burst".into(),
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_100_000,
            severity: 3,
            emitted_ms: 1_700_000_200_000,
        };
        assert_eq!(Emitted::decode(&e.key(), &e.encode()), Some(e.clone()));
        let c = Emitted { kind: Kind::Case, what: String::new(), ..e };
        assert_eq!(Emitted::decode(&c.key(), &c.encode()), Some(c.clone()));
        assert_eq!(Emitted::decode(&c.key()[..5], &c.encode()), None);
        assert_eq!(Emitted::decode(&c.key(), &[1]), None);
    }
}
