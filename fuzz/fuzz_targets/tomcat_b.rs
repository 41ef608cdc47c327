//! cargo-fuzz entry for `pagetrail_fuzz::tomcat_b`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::tomcat_b(data));
