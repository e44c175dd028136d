#![no_main]
//! The DNS reply decoder (`authcensus-dns/src/decode.rs`): never panics or
//! hangs on any datagram, along every path the client takes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = authcensus_dns::fuzz_reply(data);
});
