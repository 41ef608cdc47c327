//! cargo-fuzz entry for `pagetrail_fuzz::org_action_map`; see fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pagetrail_fuzz::org_action_map(data));
