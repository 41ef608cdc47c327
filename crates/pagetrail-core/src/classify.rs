//! Contract §2: the action class, page and space of a request path.

use crate::url::{decode, param, parse_id};
use crate::{Action, PageRef};

/// The site's context path (`/confluence`, `/wiki`, ...). A leading `/wiki` or `/confluence`
/// is recognised without being configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextPath(String);

impl ContextPath {
    /// Normalises `confluence/`, `/confluence/` and `/confluence` to `/confluence`; `` and `/` to none.
    pub fn new(p: &str) -> Self {
        let t = p.trim_matches('/');
        if t.is_empty() {
            ContextPath(String::new())
        } else {
            ContextPath(format!("/{t}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path with the context path removed (for classification only: the stored path is as logged).
    pub fn strip<'a>(&self, path: &'a str) -> &'a str {
        let configured = (!self.0.is_empty()).then_some(self.0.as_str());
        for prefix in configured.into_iter().chain(["/wiki", "/confluence"]) {
            if let Some(rest) = path.strip_prefix(prefix) {
                if rest.is_empty() {
                    return "/";
                }
                if rest.starts_with('/') {
                    return rest;
                }
            }
        }
        path
    }
}

/// What a request is: its class, and the page and space it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub action: Action,
    pub page_id: Option<u64>,
    pub space: Option<String>,
    /// Decoded title when the URL names one.
    pub title: Option<String>,
}

impl Classified {
    fn of(action: Action) -> Self {
        Classified { action, page_id: None, space: None, title: None }
    }

    fn page(action: Action, id: Option<u64>) -> Self {
        Classified { action, page_id: id, space: None, title: None }
    }

    /// The page identity the URL gives: the id when it has one, else (space, title).
    pub fn page_ref(&self) -> Option<PageRef> {
        if let Some(id) = self.page_id {
            return Some(PageRef::Id(id));
        }
        match (&self.space, &self.title) {
            (Some(s), Some(t)) => Some(PageRef::Titled { space: s.clone(), title: t.clone() }),
            _ => None,
        }
    }

    /// A URL naming id, space and title together teaches which titled page an id is (contract §3).
    pub fn link(&self) -> Option<(u64, &str, &str)> {
        match (self.page_id, &self.space, &self.title) {
            (Some(id), Some(s), Some(t)) => Some((id, s.as_str(), t.as_str())),
            _ => None,
        }
    }
}

const NOISE_PREFIXES: [&str; 13] = [
    "/s/",
    "/download/resources/",
    "/download/batch/",
    "/download/contextbatch/",
    "/download/thumbnails/",
    "/images/",
    "/rest/wrm/",
    "/rest/analytics/",
    "/rest/mywork/",
    "/rest/quickreload/",
    "/synchrony/",
    "/rest/troubleshooting/",
    "/favicon.ico",
];

const PAGE_ID_ACTIONS: [&str; 5] = [
    "/pages/viewinfo.action",
    "/pages/viewpreviousversions.action",
    "/pages/diffpages.action",
    "/pages/diffpagesbyversion.action",
    "/plugins/viewsource/viewpagesrc.action",
];

const SEARCHES: [&str; 4] =
    ["/dosearchsite.action", "/rest/api/search", "/rest/api/content/search", "/rest/quicknav/1/search"];

fn page_id_param(query: &str) -> Option<u64> {
    param(query, "pageId").and_then(parse_id)
}

fn space_param(query: &str, name: &str) -> Option<String> {
    param(query, name).filter(|k| !k.is_empty()).map(|k| decode(k, true))
}

/// Classifies one request. `path` is as logged; the context path is stripped here.
pub fn classify(ctx: &ContextPath, method: &str, path: &str, query: &str) -> Classified {
    let p = ctx.strip(path);
    if NOISE_PREFIXES.iter().any(|n| p.starts_with(n) || p == n.trim_end_matches('/')) {
        return Classified::of(Action::Noise);
    }
    if p == "/pages/viewpage.action" {
        if let Some(id) = page_id_param(query) {
            return Classified::page(Action::View, Some(id));
        }
        let space = space_param(query, "spaceKey");
        let title = param(query, "title").filter(|t| !t.is_empty()).map(|t| decode(t, true));
        return Classified { action: Action::View, page_id: None, space, title };
    }
    if let Some(rest) = p.strip_prefix("/display/") {
        return display(rest);
    }
    if let Some(rest) = p.strip_prefix("/spaces/") {
        if let Some(c) = spaces(rest, query) {
            return c;
        }
    }
    if PAGE_ID_ACTIONS.contains(&p) {
        return Classified::page(Action::View, page_id_param(query));
    }
    if SEARCHES.contains(&p) {
        return Classified::of(Action::Search);
    }
    if let Some(rest) = p.strip_prefix("/rest/api/content") {
        return rest_content(method, rest, query);
    }
    if p == "/rest/api/space" || p.starts_with("/rest/api/space/") || p.starts_with("/rest/api/space?") {
        let from_path = p
            .strip_prefix("/rest/api/space/")
            .and_then(|r| r.split('/').next())
            .filter(|k| !k.is_empty())
            .map(|k| decode(k, false));
        let space = from_path.or_else(|| space_param(query, "spaceKey"));
        return Classified { action: Action::ApiList, page_id: None, space, title: None };
    }
    if let Some(rest) = p.strip_prefix("/download/attachments/") {
        let id = rest.split('/').next().and_then(parse_id);
        return Classified::page(Action::Download, id);
    }
    if p == "/pages/downloadallattachments.action" {
        return Classified::page(Action::Download, page_id_param(query));
    }
    if p == "/exportword" {
        return Classified::page(Action::Export, page_id_param(query));
    }
    if matches!(p, "/login.action" | "/dologin.action" | "/logout.action") {
        return Classified::of(Action::Auth);
    }
    if p == "/admin" || p.starts_with("/admin/") {
        return Classified::of(Action::Admin);
    }
    if let Some(code) = p.strip_prefix("/x/") {
        // A tiny link only redirects to the page (not a read by itself), but names it.
        let id = crate::sources::tiny_link_page_id(code.trim_end_matches('/'));
        return Classified::page(Action::Other, id);
    }
    Classified::of(Action::Other)
}

/// `/display/K`, `/display/K/T`, `/display/K/yyyy/mm/dd/T`.
fn display(rest: &str) -> Classified {
    let mut segs: Vec<&str> = rest.split('/').collect();
    while segs.len() > 1 && segs.last() == Some(&"") {
        segs.pop();
    }
    let space = decode(segs[0], true);
    if space.is_empty() {
        return Classified::of(Action::Other);
    }
    let title_segs: &[&str] = match segs.len() {
        1 => &[],
        5 if segs[1..4].iter().all(|s| s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty()) => &segs[4..],
        _ => &segs[1..],
    };
    let title = (!title_segs.is_empty()).then(|| decode(&title_segs.join("/"), true)).filter(|t| !t.is_empty());
    Classified { action: Action::View, page_id: None, space: Some(space), title }
}

/// `/spaces/K/pages/N[/T]` and the export actions under `/spaces/`.
fn spaces(rest: &str, query: &str) -> Option<Classified> {
    match rest {
        "flyingpdf/pdfpageexport.action" => return Some(Classified::page(Action::Export, page_id_param(query))),
        "exportspacewelcome.action" | "doexportspace.action" | "flyingpdf/flyingpdf.action" => {
            let space = space_param(query, "key");
            return Some(Classified { action: Action::SpaceExport, page_id: None, space, title: None });
        }
        _ => {}
    }
    let mut it = rest.splitn(4, '/');
    let (key, pages, id) = (it.next()?, it.next()?, it.next()?);
    if pages != "pages" || key.is_empty() {
        return None;
    }
    let id = parse_id(id)?;
    let title = it.next().map(|t| decode(t.trim_end_matches('/'), true)).filter(|t| !t.is_empty());
    Some(Classified { action: Action::View, page_id: Some(id), space: Some(decode(key, true)), title })
}

/// `/rest/api/content...` after the prefix.
fn rest_content(method: &str, rest: &str, query: &str) -> Classified {
    if rest.is_empty() || rest == "/" {
        let space = space_param(query, "spaceKey");
        return Classified { action: Action::ApiList, page_id: None, space, title: None };
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Classified::of(Action::Other);
    };
    let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(id) = parse_id(id) else {
        return Classified::of(Action::Other);
    };
    if tail.is_empty() {
        return if method.eq_ignore_ascii_case("GET") {
            Classified::page(Action::ApiRead, Some(id))
        } else {
            Classified::of(Action::Other)
        };
    }
    if tail == "child" || tail.starts_with("child/") {
        let space = space_param(query, "spaceKey");
        return Classified { action: Action::ApiList, page_id: None, space, title: None };
    }
    Classified::of(Action::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(method: &str, url: &str) -> Classified {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        classify(&ContextPath::new(""), method, path, query)
    }

    fn row(url: &str, action: Action, page: Option<u64>, space: Option<&str>, title: Option<&str>) {
        let got = c("GET", url);
        assert_eq!(got.action, action, "{url}");
        assert_eq!(got.page_id, page, "{url}");
        assert_eq!(got.space.as_deref(), space, "{url}");
        assert_eq!(got.title.as_deref(), title, "{url}");
    }

    #[test]
    fn every_contract_row() {
        use Action::*;
        row("/pages/viewpage.action?pageId=123", View, Some(123), None, None);
        row("/pages/viewpage.action?spaceKey=ENG&title=Run+Book", View, None, Some("ENG"), Some("Run Book"));
        row("/display/ENG/Run+Book", View, None, Some("ENG"), Some("Run Book"));
        row("/display/ENG/Run%20Book", View, None, Some("ENG"), Some("Run Book"));
        row("/display/ENG/2024/03/05/Release+Notes", View, None, Some("ENG"), Some("Release Notes"));
        row("/display/ENG", View, None, Some("ENG"), None);
        row("/display/ENG/", View, None, Some("ENG"), None);
        row("/display/~jsmith/Notes", View, None, Some("~jsmith"), Some("Notes"));
        row("/spaces/ENG/pages/42", View, Some(42), Some("ENG"), None);
        row("/spaces/ENG/pages/42/Run+Book", View, Some(42), Some("ENG"), Some("Run Book"));
        for p in PAGE_ID_ACTIONS {
            row(&format!("{p}?pageId=7"), View, Some(7), None, None);
        }
        row("/rest/api/content/99?expand=body.storage", ApiRead, Some(99), None, None);
        row("/rest/api/content/99", ApiRead, Some(99), None, None);
        row("/rest/api/content/99/child/page?limit=25", ApiList, None, None, None);
        row("/rest/api/content?spaceKey=ENG&limit=100", ApiList, None, Some("ENG"), None);
        row("/rest/api/content", ApiList, None, None, None);
        row("/rest/api/space?limit=25", ApiList, None, None, None);
        row("/rest/api/space/ENG?expand=homepage", ApiList, None, Some("ENG"), None);
        row("/download/attachments/55/file%20a.pdf?version=1&api=v2", Download, Some(55), None, None);
        row("/pages/downloadallattachments.action?pageId=55", Download, Some(55), None, None);
        row("/spaces/flyingpdf/pdfpageexport.action?pageId=8", Export, Some(8), None, None);
        row("/exportword?pageId=8", Export, Some(8), None, None);
        row("/spaces/exportspacewelcome.action?key=ENG", SpaceExport, None, Some("ENG"), None);
        row("/spaces/doexportspace.action?key=ENG", SpaceExport, None, Some("ENG"), None);
        row("/spaces/flyingpdf/flyingpdf.action?key=ENG", SpaceExport, None, Some("ENG"), None);
        row("/dosearchsite.action?queryString=password", Search, None, None, None);
        row("/rest/api/search?cql=text~%22aws%22", Search, None, None, None);
        row("/rest/api/content/search?cql=x", Search, None, None, None);
        row("/rest/quicknav/1/search?query=x", Search, None, None, None);
        row("/login.action", Auth, None, None, None);
        row("/dologin.action", Auth, None, None, None);
        row("/logout.action", Auth, None, None, None);
        row("/admin/users/browseusers.action", Admin, None, None, None);
        for n in NOISE_PREFIXES {
            row(&format!("{n}x"), Noise, None, None, None);
        }
        row("/favicon.ico", Noise, None, None, None);
        row("/index.action", Other, None, None, None);
        row("/template/aui/text-inline.vm", Other, None, None, None);
        row("/rest/api/content/abc", Other, None, None, None);
        row("/rest/api/content/99/history", Other, None, None, None);
        let code = crate::sources::tiny_link_code(1234567);
        row(&format!("/x/{code}"), Other, Some(1234567), None, None);
    }

    #[test]
    fn rest_content_depends_on_method() {
        assert_eq!(c("GET", "/rest/api/content/5").action, Action::ApiRead);
        for m in ["PUT", "POST", "DELETE"] {
            assert_eq!(c(m, "/rest/api/content/5").action, Action::Other, "{m}");
        }
        // Other rows match whatever the method.
        assert_eq!(c("POST", "/pages/viewpage.action?pageId=5").action, Action::View);
    }

    #[test]
    fn context_paths_are_stripped() {
        let ctx = ContextPath::new("/kb/");
        assert_eq!(classify(&ctx, "GET", "/kb/display/A/B", "").action, Action::View);
        let none = ContextPath::new("");
        assert_eq!(classify(&none, "GET", "/wiki/spaces/A/pages/3", "").page_id, Some(3));
        assert_eq!(classify(&none, "GET", "/confluence/s/x.js", "").action, Action::Noise);
        assert_eq!(classify(&none, "GET", "/wikipedia/display/A/B", "").action, Action::Other);
    }

    #[test]
    fn page_refs_and_links() {
        let v = c("GET", "/spaces/ENG/pages/42/Run+Book");
        assert_eq!(v.page_ref(), Some(PageRef::Id(42)));
        assert_eq!(v.link(), Some((42, "ENG", "Run Book")));
        let t = c("GET", "/display/ENG/Run+Book");
        assert_eq!(t.page_ref(), Some(PageRef::Titled { space: "ENG".into(), title: "Run Book".into() }));
        assert_eq!(c("GET", "/display/ENG").page_ref(), None);
        assert_eq!(c("GET", "/pages/viewpage.action?pageId=x").page_ref(), None);
    }
}
