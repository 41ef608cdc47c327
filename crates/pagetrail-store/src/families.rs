//! The column families: their names, which are on disk. Private to the store; each family's
//! keys and values belong to its module (`events`, `index`, `digests`, `meta`, ...).

use crate::Part;

/// The families that hold a part.
pub fn of(part: Part) -> &'static [Cf] {
    match part {
        Part::Names => &[Cf::Dict],
        Part::Files => &[Cf::Files],
        Part::Events => &[Cf::Events],
        Part::Rejects => &[Cf::Rejects],
        Part::Pages => &[Cf::Pages],
        Part::UserRollups => &[Cf::UserDays, Cf::UserPages],
        Part::PageReaders => &[Cf::PageUsers],
        Part::SpaceReaders => &[Cf::SpaceUsers, Cf::SpaceUserPages],
        Part::Digests => &[Cf::UserDigest],
    }
}

/// Column families. Their names are on disk: never rename.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cf {
    Meta,
    Dict,
    Files,
    Events,
    Rejects,
    Pages,
    UserDays,
    UserPages,
    PageUsers,
    SpaceUsers,
    SpaceUserPages,
    UserDigest,
}

impl Cf {
    pub const ALL: [Cf; 12] = [
        Cf::Meta,
        Cf::Dict,
        Cf::Files,
        Cf::Events,
        Cf::Rejects,
        Cf::Pages,
        Cf::UserDays,
        Cf::UserPages,
        Cf::PageUsers,
        Cf::SpaceUsers,
        Cf::SpaceUserPages,
        Cf::UserDigest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Dict => "dict",
            Cf::Files => "files",
            Cf::Events => "events",
            Cf::Rejects => "rejects",
            Cf::Pages => "pages",
            Cf::UserDays => "user_days",
            Cf::UserPages => "user_pages",
            Cf::PageUsers => "page_users",
            Cf::SpaceUsers => "space_users",
            Cf::SpaceUserPages => "space_user_pages",
            Cf::UserDigest => "user_digest",
        }
    }
}
