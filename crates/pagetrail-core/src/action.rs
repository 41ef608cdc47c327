//! Action classes of contract §2: what kind of request a log line is.

use std::fmt;
use std::str::FromStr;

/// The class of a request. The numeric value is stored on disk: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Action {
    View = 0,
    ApiRead = 1,
    ApiList = 2,
    Download = 3,
    Export = 4,
    SpaceExport = 5,
    Search = 6,
    Auth = 7,
    Admin = 8,
    Noise = 9,
    Other = 10,
}

impl Action {
    pub const ALL: [Action; 11] = [
        Action::View,
        Action::ApiRead,
        Action::ApiList,
        Action::Download,
        Action::Export,
        Action::SpaceExport,
        Action::Search,
        Action::Auth,
        Action::Admin,
        Action::Noise,
        Action::Other,
    ];

    /// The contract's name for the class.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::ApiRead => "api_read",
            Action::ApiList => "api_list",
            Action::Download => "download",
            Action::Export => "export",
            Action::SpaceExport => "space_export",
            Action::Search => "search",
            Action::Auth => "auth",
            Action::Admin => "admin",
            Action::Noise => "noise",
            Action::Other => "other",
        }
    }

    /// Decodes the stored byte; `None` for a byte no version ever wrote.
    pub fn from_u8(b: u8) -> Option<Action> {
        Action::ALL.get(b as usize).copied()
    }

    /// Content actions: the ones that can be a read (contract §3).
    pub fn is_content(self) -> bool {
        matches!(self, Action::View | Action::ApiRead | Action::Download | Action::Export)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL.iter().copied().find(|a| a.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown action '{s}' (one of {})", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names_and_bytes() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
            assert_eq!(Action::from_u8(a as u8), Some(a));
        }
        assert_eq!(Action::from_u8(11), None);
        assert!("read".parse::<Action>().is_err());
    }
}
