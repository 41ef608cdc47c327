//! Audit downloads at query time: each counts as a read unless the access log holds the same
//! download (same person, same page, within a few seconds), which is then the one read.

use std::collections::HashSet;

use pagetrail_core::Action;
use pagetrail_store::audit::{range, AuditDownload};
use pagetrail_store::users::UserMap;
use pagetrail_store::{events, Store};

use crate::{PageMap, Result};

/// How far apart an audit record and its access-log line may be.
pub const TWIN_MS: i64 = 5_000;

/// The audit downloads of a window, split into those that count and those that do not.
#[derive(Default)]
pub(crate) struct AuditReads {
    /// Downloads in the window with no access-log twin: reads to add.
    pub counted: Vec<AuditDownload>,
    /// (file, line) of every audit download near the window, counted or not: raw-event
    /// recounts skip these rows and add `counted` instead.
    pub rows: HashSet<(u32, u64)>,
    counted_rows: HashSet<(u32, u64)>,
}

impl AuditReads {
    pub fn is_audit(&self, file: u32, line: u64) -> bool {
        self.rows.contains(&(file, line))
    }

    pub fn counts(&self, file: u32, line: u64) -> bool {
        self.counted_rows.contains(&(file, line))
    }
}

pub(crate) fn audit_reads(store: &Store, from_ms: i64, to_ms: i64, pm: &PageMap, um: &UserMap) -> Result<AuditReads> {
    let near = range(store, from_ms.saturating_sub(TWIN_MS), to_ms.saturating_add(TWIN_MS))?;
    let rows: HashSet<(u32, u64)> = near.iter().map(|d| (d.file, d.line)).collect();
    let mut counted = Vec::new();
    for d in near.iter().filter(|d| d.ts_ms >= from_ms && d.ts_ms < to_ms) {
        let page = pm.canon(d.page);
        let (lo, hi) = (d.ts_ms - TWIN_MS, d.ts_ms + TWIN_MS + 1);
        let mut twin = false;
        for id in um.ids_of(um.canon(d.user)) {
            events::scan_user(store, id, lo, hi, |group| {
                twin |= group.iter().any(|r| {
                    r.ts_ms >= lo
                        && r.ts_ms < hi
                        && r.action == Action::Download
                        && r.page != 0
                        && pm.canon(r.page) == page
                        && !rows.contains(&(r.file, r.line))
                });
            })?;
        }
        if !twin {
            counted.push(*d);
        }
    }
    let counted_rows = counted.iter().map(|d| (d.file, d.line)).collect();
    Ok(AuditReads { counted, rows, counted_rows })
}
