//! Where lines come from: files, gzip files, directories and stdin.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::{IngestError, Result};

/// One input to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Stdin,
    /// A file named on the command line: it must be in a known format.
    File(PathBuf),
    /// A file found in a folder walk: one in no known format is passed over with a note.
    Walked(PathBuf),
}

/// An opened source.
pub struct Opened {
    pub reader: Box<dyn Read + Send>,
    /// Bytes read from the file itself so far (compressed bytes for gzip): the progress over
    /// the input's size on disk.
    pub raw_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Nothing will be appended: gzip and stdin (a file's quiet time is judged by the writer).
    pub final_content: bool,
    /// Gzip: a decoding error is a truncated copy, not an unreadable file.
    pub gzip: bool,
}

impl Source {
    /// The name events cite as their source file.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::File(p) | Source::Walked(p) => p.display().to_string(),
        }
    }

    pub fn path(&self) -> PathBuf {
        match self {
            Source::Stdin => PathBuf::from("-"),
            Source::File(p) | Source::Walked(p) => p.clone(),
        }
    }

    /// The size on disk, when known (not for stdin): what a progress bar counts towards.
    pub fn size(&self) -> Option<u64> {
        match self {
            Source::Stdin => None,
            Source::File(p) | Source::Walked(p) => std::fs::metadata(p).ok().map(|m| m.len()),
        }
    }

    /// Whether the file has not been modified for `quiet` (so nothing is writing it any more).
    pub fn quiet_for(&self, quiet: std::time::Duration) -> bool {
        match self {
            Source::Stdin => true,
            Source::File(p) | Source::Walked(p) => std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= quiet),
        }
    }

    /// Opens the source's content, decompressing gzip (recognised by its magic bytes).
    pub fn open(&self) -> Result<Opened> {
        let io_err = |source| IngestError::Io { path: self.path(), source };
        match self {
            Source::Stdin => {
                let raw_read = Default::default();
                let reader = Box::new(Counting { inner: io::stdin(), n: std::sync::Arc::clone(&raw_read) });
                Ok(Opened { reader, raw_read, final_content: true, gzip: false })
            }
            Source::File(p) | Source::Walked(p) => {
                let mut f = File::open(p).map_err(io_err)?;
                if f.metadata().map_err(io_err)?.is_dir() {
                    return Err(io_err(io::Error::other("is a directory")));
                }
                let mut magic = [0u8; 2];
                let n = read_full(&mut f, &mut magic).map_err(io_err)?;
                let raw_read: std::sync::Arc<std::sync::atomic::AtomicU64> = Default::default();
                let f = Counting { inner: File::open(p).map_err(io_err)?, n: std::sync::Arc::clone(&raw_read) };
                if n == 2 && magic == [0x1f, 0x8b] {
                    let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f));
                    Ok(Opened { reader: Box::new(gz), raw_read, final_content: true, gzip: true })
                } else {
                    Ok(Opened { reader: Box::new(f), raw_read, final_content: false, gzip: false })
                }
            }
        }
    }
}

/// A reader that counts the bytes it hands out.
struct Counting<R> {
    inner: R,
    n: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(k)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Turns command-line paths into sources: `-` is stdin, directories are walked recursively
/// (hidden entries skipped, files in name order, as [`Source::Walked`]), files are taken as given.
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|source| IngestError::Io { path: p.clone(), source })?;
        if meta.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                return Err(IngestError::EmptyDir(p.clone()));
            }
        } else {
            out.push(Source::File(p.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| IngestError::Io { path: dir.to_owned(), source })?;
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            // Gone since the listing (a rotation deleted it) or unreadable (a dangling link):
            // the file's own error is reported when it is opened, and the walk goes on.
            Err(_) if looks_like_log(&p) => {
                out.push(Source::Walked(p));
                continue;
            }
            Err(_) => continue,
        };
        if meta.is_dir() {
            walk(&p, out)?;
        } else if meta.is_file() && looks_like_log(&p) {
            out.push(Source::Walked(p));
        }
    }
    Ok(())
}

/// Directory walks take log-like names only, so a folder with notes or configs beside the logs works.
fn looks_like_log(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    let base = name.trim_end_matches(".gz");
    base.ends_with(".log")
        || base.contains(".log.")
        || base.ends_with(".out")
        || base.ends_with(".txt")
        || base.ends_with(".jsonl")
        || base.contains("access")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_directories_for_log_names_only() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub")).unwrap();
        for n in [
            "b.log",
            "a.log.gz",
            "sub/conf_access_log.2026-01-01.log",
            "README.md",
            ".hidden.log",
            "conf_access_log.2026-01-02",
        ] {
            std::fs::write(d.path().join(n), "x\n").unwrap();
        }
        let got: Vec<String> = expand_paths(&[d.path().to_owned()])
            .unwrap()
            .iter()
            .map(|s| s.path().strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(got, ["a.log.gz", "b.log", "conf_access_log.2026-01-02", "sub/conf_access_log.2026-01-01.log"]);
        let empty = tempfile::tempdir().unwrap();
        std::fs::write(empty.path().join("notes.md"), "x").unwrap();
        assert!(matches!(expand_paths(&[empty.path().to_owned()]), Err(IngestError::EmptyDir(_))));
        assert!(matches!(expand_paths(&[d.path().join("missing")]), Err(IngestError::Io { .. })));
        assert_eq!(expand_paths(&["-".into()]).unwrap(), vec![Source::Stdin]);
    }
}
