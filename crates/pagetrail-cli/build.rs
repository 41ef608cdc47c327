//! Link step of the `pagetrail` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CXX");
    // Our crates keep line tables so that a panic's backtrace names file and line; compressing
    // the debug sections (std's backtrace reads zlib-compressed ones) keeps the binary small.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
        // A position-dependent executable: a PIE's 65,700 relative relocations (RocksDB's
        // vtables and option tables, our static strings) are written at every start, which
        // copies each of their 350 pages (782 page faults against 401 for `--version`). That
        // cost about 1.1 ms of every query here (51 alternating runs: `--version` 4.05 -> 2.94
        // ms, `rejects` 6.58 -> 5.44, a 3-day `events` 12.17 -> 11.30). The price: the
        // binary's own code sits at a fixed address (libraries, heap and stack still move).
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu") {
        static_libstdcxx();
    }
}

/// Links RocksDB's C++ runtime into the binary. Every query is a new process, and loading
/// libstdc++.so (mapping it, binding its symbols, running its initialisers) cost about 1.2 ms
/// of each one on the peers site. librocksdb-sys asks for `-lstdc++`; a search folder that holds
/// only `libstdc++.a` comes before the compiler's own, so the linker takes the archive.
fn static_libstdcxx() {
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".to_owned());
    let found = Command::new(&cxx)
        .arg("-print-file-name=libstdc++.a")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    // A compiler without the archive prints the bare name back.
    let Some(archive) = found.filter(|p| p.is_absolute() && p.exists()) else {
        println!("cargo:warning=no libstdc++.a from `{cxx} -print-file-name`: libstdc++ stays dynamic");
        return;
    };
    // A compiler upgrade moves or replaces the archive: link again then.
    println!("cargo:rerun-if-changed={}", archive.display());
    let dir = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("static-libstdcxx");
    let link = dir.join("libstdc++.a");
    // The link of an earlier run, if any, goes first (a failure to remove it shows as the
    // symlink's "file exists").
    let _ = std::fs::remove_file(&link);
    match std::fs::create_dir_all(&dir).and_then(|()| std::os::unix::fs::symlink(&archive, &link)) {
        Ok(()) => println!("cargo:rustc-link-search=native={}", dir.display()),
        Err(e) => println!("cargo:warning=cannot link {}: {e}; libstdc++ stays dynamic", link.display()),
    }
}
