//! The simulated wiki: users, spaces and pages, plus the per-page strings the renderer reuses.

use std::collections::HashSet;
use std::io::{self, Write};

use crate::rng::Rng;
use crate::tables::{BLOG_TEMPLATES, BROWSER_UAS, FILES, FIRST, LAST, MOBILE_UAS, SPACE_BASE, SUBJECTS, TOPICS};
use crate::time;
use crate::GenConfig;

/// The site model: who exists, which spaces, which pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// Usernames, lower case. `users[0]` is `admin`, the last one is the REST account `svc-integration`.
    pub users: Vec<String>,
    /// Space keys.
    pub spaces: Vec<String>,
    pub pages: Vec<Page>,
}

/// One page (or blog post) of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub id: u64,
    pub space: String,
    pub title: String,
}

/// Builds the site model for a configuration (the same one [`crate::generate`] uses).
pub fn site(cfg: &GenConfig) -> Site {
    Model::build(cfg).site
}

/// Writes the catalog CSV `page_id,space_key,title` with RFC 4180 quoting, one row per page.
pub fn write_catalog(site: &Site, out: &mut dyn Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    buf.extend_from_slice(b"page_id,space_key,title\n");
    for p in &site.pages {
        buf.extend_from_slice(p.id.to_string().as_bytes());
        buf.push(b',');
        csv_field(&p.space, &mut buf);
        buf.push(b',');
        csv_field(&p.title, &mut buf);
        buf.push(b'\n');
        if buf.len() > 60 * 1024 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)
}

fn csv_field(s: &str, buf: &mut Vec<u8>) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        buf.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Percent-encodes UTF-8; `plus` selects form encoding (space as `+`) over path encoding (`%20`).
pub(crate) fn encode(s: &str, plus: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' if plus => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Regular,
    Admin,
    Service,
}

/// How a user's client address looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    V4([u8; 4]),
    /// `2001:db8:0:0:0:0:0:X`.
    V6(u16),
    /// `0:0:0:0:0:0:0:1`, an admin on the server itself.
    Loopback,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub role: Role,
    pub home: u32,
    pub others: Vec<u32>,
    pub p_work: f64,
    pub p_weekend: f64,
    /// Reading-rate multiplier, mean 1 (log-normal): a few heavy readers.
    pub mult: f64,
    pub editor: bool,
    pub addr: Addr,
    pub hostname: Option<String>,
    pub ua: u16,
    pub mobile_ua: u16,
    /// Behind a second proxy: variant B's X-Forwarded-For is `client, proxy`.
    pub chain: bool,
}

/// Site plus everything derived from it once, so rendering a line only copies bytes.
pub(crate) struct Model {
    pub site: Site,
    pub users: Vec<User>,
    pub svc: u32,
    pub page_space: Vec<u32>,
    /// Title form-encoded (`+` for space).
    pub page_enc: Vec<Box<str>>,
    /// Days since epoch of a blog post's date, 0 for pages.
    pub page_blog: Vec<u32>,
    pub page_size: Vec<u32>,
    /// (attachment count, first index into FILES).
    pub page_files: Vec<(u8, u8)>,
    pub page_mod_ms: Vec<u64>,
    /// Title has characters that make Confluence prefer `?pageId=` links.
    pub page_special: Vec<bool>,
    pub space_pages: Vec<Vec<u32>>,
    space_cum: Vec<f64>,
    /// Attachment names path-encoded (`%20`).
    pub files_enc: Vec<String>,
    pub blog_page: Option<u32>,
}

impl Model {
    pub(crate) fn build(cfg: &GenConfig) -> Model {
        let mut rng = Rng::new(cfg.seed, 1);
        let n_users = cfg.users.max(4) as usize;
        let n_spaces = cfg.spaces_or_default().max(1) as usize;
        let n_pages = (cfg.pages_or_default() as usize).max(n_spaces);
        let start_days = time::days_from_civil(cfg.start.0, cfg.start.1, cfg.start.2);

        // Usernames: jsmith, anna.mueller, schmidtk, peter7; digits on collision.
        let mut names = Vec::with_capacity(n_users);
        let mut seen = HashSet::with_capacity(n_users);
        names.push("admin".to_string());
        seen.insert("admin".to_string());
        for _ in 1..n_users - 1 {
            let first = *rng.pick(FIRST);
            let last = *rng.pick(LAST);
            let roll = rng.below(100);
            let base = match roll {
                0..=54 => format!("{}{}", &first[..1], last),
                55..=84 => format!("{first}.{last}"),
                85..=94 => format!("{}{}", last, &first[..1]),
                _ => format!("{}{}", first, rng.range(1, 99)),
            };
            let mut name = base.clone();
            let mut n = 2;
            while seen.contains(&name) {
                name = format!("{base}{n}");
                n += 1;
            }
            seen.insert(name.clone());
            names.push(name);
        }
        names.push("svc-integration".to_string());
        let svc = (n_users - 1) as u32;

        // Space keys: a shuffled base list, then base + number.
        let mut base: Vec<&str> = SPACE_BASE.to_vec();
        for i in (1..base.len()).rev() {
            base.swap(i, rng.below(i as u32 + 1) as usize);
        }
        let spaces: Vec<String> = (0..n_spaces)
            .map(|i| {
                let b = base[i % base.len()];
                if i < base.len() {
                    b.to_string()
                } else {
                    format!("{}{}", b, i / base.len() + 1)
                }
            })
            .collect();
        let mut space_cum = Vec::with_capacity(n_spaces);
        let mut acc = 0.0;
        for i in 0..n_spaces {
            acc += 1.0 / ((i + 1) as f64).powf(0.8);
            space_cum.push(acc);
        }

        // Page ids: increasing with random gaps, 6 digits at first, staying below 9e8.
        let gap_max = (899_000_000 / n_pages as u64).clamp(1, 20_000) as u32;
        let mut id: u64 = 100_000 + rng.below(400_000) as u64;
        let mut pages = Vec::with_capacity(n_pages);
        let mut page_space = Vec::with_capacity(n_pages);
        let mut page_enc = Vec::with_capacity(n_pages);
        let mut page_blog = Vec::with_capacity(n_pages);
        let mut page_size = Vec::with_capacity(n_pages);
        let mut page_files = Vec::with_capacity(n_pages);
        let mut page_mod_ms = Vec::with_capacity(n_pages);
        let mut page_special = Vec::with_capacity(n_pages);
        let mut space_pages: Vec<Vec<u32>> = vec![Vec::new(); n_spaces];
        // Titles seen per space, kept as 64-bit hashes: a collision only costs a needless suffix.
        let mut titles: HashSet<u64> = HashSet::with_capacity(n_pages);
        let mut blog_page = None;
        let seed_spaces = if n_pages >= 2 * n_spaces { 2 * n_spaces } else { n_spaces };
        for i in 0..n_pages {
            let s = if i < seed_spaces {
                (i % n_spaces) as u32
            } else {
                let x = rng.f64() * acc;
                space_cum.partition_point(|&c| c < x).min(n_spaces - 1) as u32
            };
            let home = i < n_spaces;
            // Guarantee at least one blog post so every URL shape can appear.
            let blog = !home && (rng.chance(0.06) || (blog_page.is_none() && i == n_spaces));
            let mut title = if home {
                format!("{} Home", spaces[s as usize])
            } else if blog {
                {
                    let (tpl, topic) = (*rng.pick(BLOG_TEMPLATES), *rng.pick(TOPICS));
                    tpl.replace("{}", topic)
                }
            } else {
                make_title(&mut rng, start_days)
            };
            if !titles.insert(title_key(s, &title)) {
                let stem = std::mem::take(&mut title);
                for n in 2.. {
                    title = format!("{stem} ({n})");
                    if titles.insert(title_key(s, &title)) {
                        break;
                    }
                }
            }
            if blog && blog_page.is_none() {
                blog_page = Some(i as u32);
            }
            page_special.push(title.bytes().any(|b| matches!(b, b'/' | b'?' | b'&' | b'+' | b'%' | b'#')));
            page_enc.push(encode(&title, true).into_boxed_str());
            page_blog.push(if blog { (start_days - 1 - rng.below(300) as i64) as u32 } else { 0 });
            page_size.push((20_000.0 * 10f64.powf(rng.f64())) as u32);
            let nf = match rng.below(10) {
                0..=3 => 0,
                4..=6 => 1,
                7..=8 => 2,
                _ => 3,
            };
            page_files.push((nf, rng.below(FILES.len() as u32) as u8));
            let modified = (start_days - 1 - rng.below(700) as i64) * 86_400 + rng.below(86_400) as i64;
            page_mod_ms.push(modified as u64 * 1000 + rng.below(1000) as u64);
            space_pages[s as usize].push(i as u32);
            page_space.push(s);
            pages.push(Page { id, space: spaces[s as usize].clone(), title });
            id += 1 + rng.below(gap_max) as u64;
        }

        let mut users = Vec::with_capacity(n_users);
        let n_browsers = BROWSER_UAS.len() as u32;
        for u in 0..n_users {
            let role = if u == 0 || u == 1 {
                Role::Admin
            } else if u == n_users - 1 {
                Role::Service
            } else {
                Role::Regular
            };
            let pick_space = |rng: &mut Rng| {
                let x = rng.f64() * acc;
                space_cum.partition_point(|&c| c < x).min(n_spaces - 1) as u32
            };
            let home = pick_space(&mut rng);
            let others = (0..rng.range(1, 4)).map(|_| pick_space(&mut rng)).collect();
            let z = rng.normal();
            let mult = (0.7 * z - 0.245).exp().min(8.0);
            // Fixed slots make sure IPv6, loopback and hostname clients exist in every run.
            let addr = if u == 0 {
                Addr::Loopback
            } else if u == 3 || (u > 4 && rng.chance(0.01)) {
                Addr::V6(rng.range(0x10, 0xfff) as u16)
            } else {
                Addr::V4([10, 10 + rng.below(20) as u8, rng.below(256) as u8, rng.range(2, 254) as u8])
            };
            let hostname = if u == 4 || (u > 4 && rng.chance(0.01)) {
                Some(format!("ws-{:04}.corp.example.com", rng.below(10_000)))
            } else {
                None
            };
            // Common browsers dominate; the odd ones (escaped quotes, \u) are rare.
            let ua = if rng.chance(0.9) { rng.below(9) } else { rng.range(9, n_browsers - 1) } as u16;
            users.push(User {
                role,
                home,
                others,
                p_work: 0.7 + 0.28 * rng.f64(),
                p_weekend: 0.02 + 0.1 * rng.f64(),
                mult,
                editor: rng.chance(0.3),
                addr,
                hostname,
                ua,
                mobile_ua: rng.below(MOBILE_UAS.len() as u32) as u16,
                chain: rng.chance(0.3),
            });
        }

        Model {
            site: Site { users: names, spaces, pages },
            users,
            svc,
            page_space,
            page_enc,
            page_blog,
            page_size,
            page_files,
            page_mod_ms,
            page_special,
            space_pages,
            space_cum,
            files_enc: FILES.iter().map(|f| encode(f, false)).collect(),
            blog_page,
        }
    }

    /// A space picked by size (bigger spaces get more traffic).
    pub(crate) fn random_space(&self, rng: &mut Rng) -> u32 {
        let total = *self.space_cum.last().unwrap_or(&1.0);
        let x = rng.f64() * total;
        self.space_cum.partition_point(|&c| c < x).min(self.space_cum.len() - 1) as u32
    }
}

/// FNV-1a over the space index and the title.
fn title_key(space: u32, title: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in space.to_le_bytes().iter().chain(title.as_bytes()) {
        h = (h ^ *b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

fn make_title(rng: &mut Rng, start_days: i64) -> String {
    let subject = *rng.pick(SUBJECTS);
    let topic = *rng.pick(TOPICS);
    match rng.below(100) {
        0..=34 => format!("{subject}: {topic}"),
        35..=69 => format!("{topic} {subject}"),
        70..=79 => format!("{subject} – {topic}"),
        80..=89 => {
            let (y, m, d) = time::civil_from_days(start_days - rng.below(400) as i64);
            format!("Meeting notes {y:04}-{m:02}-{d:02}")
        }
        _ => topic.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_titles() {
        assert_eq!(encode("Q&A / Café+ 日", true), "Q%26A+%2F+Caf%C3%A9%2B+%E6%97%A5");
        assert_eq!(encode("file name.pdf", false), "file%20name.pdf");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut b = Vec::new();
        csv_field("plain title", &mut b);
        b.push(b'|');
        csv_field("Project \"Nova\", Phase 2", &mut b);
        assert_eq!(String::from_utf8(b).unwrap(), "plain title|\"Project \"\"Nova\"\", Phase 2\"");
    }
}
