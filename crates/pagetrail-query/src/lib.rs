//! Queries: top readers, who read a page or space, one user's reading, raw events, stats.
//!
//! Every answer is exact. Whole days inside the window come from the indexes (monthly rollups
//! in the middle, daily rows at the ends); partial days at the window's edges are recounted
//! from the raw events, so `--last 90d` is as exact as a day-aligned window.

mod audit;
mod detect;
mod pagemap;
mod readers;
mod rows;
mod user;
mod window;

pub use detect::{detect, DetectParams};
pub use pagemap::PageMap;
pub use readers::{top_readers, who_read, By, Target};
pub use rows::{events, stats, EventFilter, EventOut, Stats};
pub use user::{user_summary, DayRow, SourceRow, SpaceRow, UserSummary};
pub use window::Window;

use pagetrail_store::StoreError;

/// The parts of the store each query reads, to open a reader with
/// ([`pagetrail_store::Store::open_reader_of`]). Kept beside the queries that read them; a
/// part left out is an error naming its family, and the CLI tests run every query this way.
pub mod reads {
    use pagetrail_store::Part::{self, Events, Names, PageReaders, Pages, SpaceReaders, UserRollups};

    use crate::Target;

    /// [`crate::events`] and [`crate::user_summary`]: the raw events and their names.
    pub const EVENTS: &[Part] = &[Names, Pages, Events];
    pub const USER: &[Part] = EVENTS;

    /// [`crate::top_readers`], in one space or not.
    pub fn top_readers(in_space: bool) -> &'static [Part] {
        if in_space {
            &[Names, Pages, Events, UserRollups, SpaceReaders]
        } else {
            &[Names, Pages, Events, UserRollups]
        }
    }

    /// [`crate::who_read`]; the partial days of a space's window find their readers in the rollups.
    pub fn who_read(target: &Target) -> &'static [Part] {
        match target {
            Target::Page(_) | Target::Title(..) => &[Names, Pages, Events, PageReaders],
            Target::Space(_) => &[Names, Pages, Events, UserRollups, SpaceReaders],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, QueryError>;

/// One reader row, the shape shared by `top-readers` and `who-read`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderRow {
    pub user: String,
    pub events: u64,
    pub distinct_pages: u64,
    pub bytes: u64,
    /// Distinct known spaces of those pages, for `top-readers`; `who-read` does not show it
    /// and leaves it `None` (counting it was 3% of a profiled `who-read --space`).
    pub distinct_spaces: Option<u64>,
    /// First and last read (ms), for `who-read`.
    pub first_ms: i64,
    pub last_ms: i64,
}

impl ReaderRow {
    /// The distinct spaces as a top-readers row shows them (0 where not counted).
    pub fn spaces_shown(&self) -> u64 {
        self.distinct_spaces.unwrap_or(0)
    }
}
