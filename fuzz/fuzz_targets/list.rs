#![no_main]
//! Plain-list and CSV readers (compression detected from magic bytes): never
//! panic; every name they yield is a normalised domain.
use libfuzzer_sys::fuzz_target;

#[path = "input_common.rs"]
mod input_common;

fuzz_target!(|data: &[u8]| {
    input_common::run(data, authcensus_input::Format::Plain);
    input_common::run(data, authcensus_input::Format::Tranco);
});
