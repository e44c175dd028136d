#![no_main]
//! SPF record parser and renderer: never panics; a parsed record renders to
//! text that parses to the same record.
use authcensus_records::spf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = spf::parse_record(data) {
        let rendered = record.to_string();
        let again = spf::parse_record(rendered.as_bytes()).expect("rendered record parses");
        assert_eq!(again.to_string(), rendered);
    }
});
