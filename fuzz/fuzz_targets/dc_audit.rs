//! cargo-fuzz entry for `pagetrail_fuzz::dc_audit`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::dc_audit(data));
