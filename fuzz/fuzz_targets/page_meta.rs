//! cargo-fuzz entry for `pagetrail_fuzz::page_meta`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::page_meta(data));
