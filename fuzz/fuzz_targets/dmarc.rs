#![no_main]
//! DMARC parser in both modes and the side-by-side comparison: never panics.
use authcensus_records::dmarc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dmarc::parse(data, dmarc::Mode::Rfc9989);
    let _ = dmarc::parse(data, dmarc::Mode::Rfc7489);
    let _ = dmarc::parse_both(data);
});
