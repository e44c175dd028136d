#![no_main]
//! TLS-RPT record parser: never panics.
use authcensus_records::tlsrpt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tlsrpt::parse(data);
});
