//! cargo-fuzz entry for `pagetrail_fuzz::detect_source`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::detect_source(data));
