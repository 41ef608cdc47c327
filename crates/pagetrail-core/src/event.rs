//! One parsed log line, and what makes it a read (contract §1 and §3).

use crate::Action;

/// A log line after parsing, borrowing from the line. Fields are as logged except where noted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// When the response finished, UTC milliseconds.
    pub ts_ms: i64,
    /// Username as logged (`-` for none); fold case with [`fold_user`] before storing.
    pub user: &'a str,
    /// Client address: `%h`, or the first `X-Forwarded-For` entry in variant B.
    pub ip: &'a str,
    /// Empty for a lone `-` request line.
    pub method: &'a str,
    /// Path as logged, context path included; empty for a lone `-` request line.
    pub path: &'a str,
    /// Query string without the `?`; empty when there was none.
    pub query: &'a str,
    /// 0 when the source records no status.
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: u32,
    /// Empty for `-`.
    pub referer: &'a str,
    /// Tomcat's escapes (`\"`, `\\`, `\uXXXX`) are undone; empty for `-`.
    pub user_agent: std::borrow::Cow<'a, str>,
}

/// How a log line names a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageRef {
    Id(u64),
    Titled { space: String, title: String },
}

/// Usernames are compared case-insensitively (contract §1): lower case, borrowing when already so.
pub fn fold_user(user: &str) -> std::borrow::Cow<'_, str> {
    if user.bytes().any(|b| b.is_ascii_uppercase()) || !user.is_ascii() {
        std::borrow::Cow::Owned(user.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(user)
    }
}

/// Contract §3: a content action, a successful status (or none recorded), and a known page.
pub fn is_read(action: Action, status: u16, page_known: bool) -> bool {
    action.is_content() && page_known && (status == 0 || (200..300).contains(&status) || status == 304)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_content_success_and_page() {
        assert!(is_read(Action::View, 200, true));
        assert!(is_read(Action::Download, 304, true));
        assert!(is_read(Action::Export, 0, true));
        assert!(!is_read(Action::View, 403, true));
        assert!(!is_read(Action::View, 302, true));
        assert!(!is_read(Action::View, 200, false));
        assert!(!is_read(Action::Search, 200, true));
        assert!(!is_read(Action::SpaceExport, 200, true));
        assert!(!is_read(Action::ApiList, 200, true));
    }

    #[test]
    fn folds_case() {
        assert_eq!(fold_user("JSmith"), "jsmith");
        assert!(matches!(fold_user("jsmith"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(fold_user("ÄNNE"), "änne");
    }
}
