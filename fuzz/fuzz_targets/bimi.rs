#![no_main]
//! BIMI record parser: never panics.
use authcensus_records::bimi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bimi::parse(data);
});
