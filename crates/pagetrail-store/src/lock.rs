//! Whether a writer holds a store: RocksDB's lock on `LOCK`, and the writers of this process.
//!
//! A reader with no writer to follow opens the store read-only, which skips the secondary
//! instance's temporary folder and catch-up. RocksDB takes a POSIX record lock (`fcntl`) on
//! `LOCK`; `F_GETLK` reports another process's lock without taking one. Such locks belong to
//! the process and are all released when it closes *any* descriptor of the file, so a process
//! that holds the writer never opens `LOCK` itself: it knows from its own list.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static WRITERS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Notes that this process opened `path` as its writer.
pub(crate) fn opened_writer(path: &Path) {
    WRITERS.lock().unwrap_or_else(|e| e.into_inner()).push(key(path));
}

/// Notes that this process's writer of `path` closed.
pub(crate) fn closed_writer(path: &Path) {
    let k = key(path);
    let mut w = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = w.iter().position(|p| *p == k) {
        w.swap_remove(i);
    }
}

/// Whether a writer may be running on the store at `path`: this process's own, or another
/// process's lock on `LOCK`. When it cannot tell, it says yes (the reader then follows it).
pub(crate) fn writer_may_run(path: &Path) -> bool {
    if WRITERS.lock().unwrap_or_else(|e| e.into_inner()).contains(&key(path)) {
        return true;
    }
    other_process_locks(&path.join("LOCK"))
}

#[cfg(unix)]
fn other_process_locks(lock: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = std::fs::File::open(lock) else { return true };
    // SAFETY: a zeroed flock is a valid argument; F_GETLK only fills it in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    // SAFETY: the descriptor is open for the duration of the call and `fl` outlives it.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
    r != 0 || i32::from(fl.l_type) != libc::F_UNLCK
}

#[cfg(not(unix))]
fn other_process_locks(_lock: &Path) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_writer_is_known_without_touching_lock() {
        let d = tempfile::tempdir().unwrap();
        // No LOCK file: another process cannot be told apart, so a writer may run.
        assert!(writer_may_run(d.path()));
        std::fs::write(d.path().join("LOCK"), b"").unwrap();
        assert!(!writer_may_run(d.path()));
        opened_writer(d.path());
        assert!(writer_may_run(d.path()));
        closed_writer(d.path());
        assert!(!writer_may_run(d.path()));
    }
}
