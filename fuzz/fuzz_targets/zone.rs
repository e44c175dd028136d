#![no_main]
//! RFC 1035 zone-file reader: never panics; every name it yields is a
//! normalised domain.
use libfuzzer_sys::fuzz_target;

#[path = "input_common.rs"]
mod input_common;

fuzz_target!(|data: &[u8]| {
    input_common::run(data, authcensus_input::Format::Zone);
});
