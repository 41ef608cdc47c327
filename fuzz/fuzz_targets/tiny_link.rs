//! cargo-fuzz entry for `pagetrail_fuzz::tiny_link`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::tiny_link(data));
