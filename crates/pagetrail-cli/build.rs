//! Link step of the `pagetrail` binary.

fn main() {
    // Our crates keep line tables so that a panic's backtrace names file and line; compressing
    // the debug sections (std's backtrace reads zlib-compressed ones) keeps the binary small.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--compress-debug-sections=zlib");
    }
}
