//! Chain of custody: does a file still hold the bytes that were ingested from it?

use std::io::Read;
use std::path::Path;

use pagetrail_store::{FileRecord, Store};
use sha2::{Digest, Sha256};

use crate::input::read_full;
use crate::writer::find_record;
use crate::{IngestError, Result, Source};

/// What `verify` found for one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The file's first `offset` content bytes hash to the recorded SHA-256 (a file that grew
    /// since matches on the ingested prefix).
    Matches,
    /// Its content differs from what was ingested.
    Differs,
    /// It is shorter than what was ingested from it.
    Shorter { have: u64 },
    /// No ingested content starts like this file.
    NotIngested,
    /// Ingested by a release that recorded no SHA-256; the next ingest of it records one.
    NoHash,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Matches => "matches",
            Verdict::Differs => "differs",
            Verdict::Shorter { .. } => "shorter",
            Verdict::NotIngested => "not ingested",
            Verdict::NoHash => "no hash recorded",
        }
    }
}

/// Checks one file (gzip is read decompressed, as at ingest) against the store's records.
pub fn verify(registry: &[FileRecord], path: &Path) -> Result<(Verdict, Option<FileRecord>)> {
    let io_err = |source| IngestError::Io { path: path.to_owned(), source };
    let mut reader = Source::File(path.to_owned()).open()?.reader;
    let mut head = vec![0u8; pagetrail_store::files::HEAD_LEN];
    let n = read_full(&mut *reader, &mut head).map_err(io_err)?;
    head.truncate(n);
    let Some(rec) = find_record(registry, &head).map(|i| registry[i].clone()) else {
        return Ok((Verdict::NotIngested, None));
    };
    let Some(want) = rec.sha256 else {
        return Ok((Verdict::NoHash, Some(rec)));
    };
    let mut sha = Sha256::new();
    let take = rec.offset.min(head.len() as u64) as usize;
    sha.update(&head[..take]);
    let rest = rec.offset - take as u64;
    let copied = std::io::copy(&mut (&mut *reader).take(rest), &mut sha).map_err(io_err)?;
    if copied < rest {
        return Ok((Verdict::Shorter { have: head.len() as u64 + copied }, Some(rec)));
    }
    let got: [u8; 32] = sha.finalize().into();
    Ok((if got == want { Verdict::Matches } else { Verdict::Differs }, Some(rec)))
}

/// Lowercase hex of a hash.
pub fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file record of the store, in name order.
pub fn sources(store: &Store) -> Result<Vec<FileRecord>> {
    let mut v = pagetrail_store::files::load_all(store)?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

/// The names each record's lines are stored under (what events cite as their source file),
/// by record key. A record from before names were recorded has its latest name, else its first.
pub fn stored_names(store: &Store, recs: &[FileRecord]) -> Result<std::collections::HashMap<Vec<u8>, Vec<String>>> {
    use pagetrail_store::{dict, DictKind};
    let mut out: std::collections::HashMap<Vec<u8>, Vec<String>> = std::collections::HashMap::new();
    let name = |id: u32| -> Result<Option<String>> {
        Ok(dict::name(store, DictKind::File, id)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    for (id, key) in pagetrail_store::files::names(store)? {
        if let Some(n) = name(id)? {
            out.entry(key).or_default().push(n);
        }
    }
    for r in recs {
        if let std::collections::hash_map::Entry::Vacant(e) = out.entry(r.key()) {
            let n = if r.last_file != 0 { name(r.last_file)? } else { None };
            e.insert(vec![n.unwrap_or_else(|| r.name.clone())]);
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}
