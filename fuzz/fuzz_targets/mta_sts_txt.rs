#![no_main]
//! `_mta-sts` TXT parser: never panics.
use authcensus_records::mta_sts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mta_sts::parse_txt(data);
});
