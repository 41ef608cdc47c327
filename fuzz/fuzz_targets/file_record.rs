//! cargo-fuzz entry for `pagetrail_fuzz::file_record`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::file_record(data));
